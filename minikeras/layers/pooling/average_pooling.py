"""AveragePooling1D/2D/3D: average over windows of 1, 2 or 3 spatial axes."""
from .base_pooling import Pooling


class AveragePooling1D(Pooling):
    """Average pooling over 1-D windows. Example: `AveragePooling1D(2)`."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last",
                 **kwargs):
        super().__init__(1, "avg", pool_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)


class AveragePooling2D(Pooling):
    """Average pooling over 2-D windows. Example: `AveragePooling2D((2, 2))`."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(2, "avg", pool_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)


class AveragePooling3D(Pooling):
    """Average pooling over 3-D windows. Example: `AveragePooling3D((2, 2, 2))`."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(3, "avg", pool_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)

AvgPool1D = AveragePooling1D
AvgPool2D = AveragePooling2D
AvgPool3D = AveragePooling3D
