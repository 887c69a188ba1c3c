"""ConvLSTM3D: a convolutional LSTM over 3 spatial axes."""
from .base_conv_lstm import ConvLSTM


class ConvLSTM3D(ConvLSTM):
    """An LSTM whose input and recurrent products are 3-D convolutions; inputs
    `(batch, time, dim1, dim2, dim3, channels)` (channels_last).

    Example:
    >>> ConvLSTM3D(4, 3, padding="same")(np.zeros((2, 5) + (6,) * 3 + (3,), "float32")).shape
    (2, 6, 6, 6, 4)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), **kwargs):
        super().__init__(3, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
