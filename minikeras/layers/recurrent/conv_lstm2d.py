"""ConvLSTM2D: a convolutional LSTM over 2 spatial axes."""
from .base_conv_lstm import ConvLSTM


class ConvLSTM2D(ConvLSTM):
    """An LSTM whose input and recurrent products are 2-D convolutions; inputs
    `(batch, time, rows, cols, channels)` (channels_last).

    Example:
    >>> ConvLSTM2D(4, 3, padding="same")(np.zeros((2, 5) + (6,) * 2 + (3,), "float32")).shape
    (2, 6, 6, 4)
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate, **kwargs)
