"""MaxPooling1D/2D/3D: max over windows of 1, 2 or 3 spatial axes."""
from .base_pooling import Pooling


class MaxPooling1D(Pooling):
    """Max pooling over 1-D windows. Example: `MaxPooling1D(2)`."""

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last",
                 **kwargs):
        super().__init__(1, "max", pool_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)


class MaxPooling2D(Pooling):
    """Max pooling over 2-D windows. Example: `MaxPooling2D((2, 2))`."""

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(2, "max", pool_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)


class MaxPooling3D(Pooling):
    """Max pooling over 3-D windows. Example: `MaxPooling3D((2, 2, 2))`."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(3, "max", pool_size, strides=strides, padding=padding,
                         data_format=data_format, **kwargs)

MaxPool1D = MaxPooling1D
MaxPool2D = MaxPooling2D
MaxPool3D = MaxPooling3D
