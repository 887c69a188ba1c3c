"""Conv3DTranspose: 3-D transposed convolution."""
from .base_conv_transpose import ConvTranspose


class Conv3DTranspose(ConvTranspose):
    """3-D transposed convolution; output size per axis follows Keras' deconv_output_length.

    Unlike tf.keras 2, whose call ignores `dilation_rate` (an undilated transposed
    convolution), a dilation rate other than 1 dilates the kernel here.

    Example: `Conv3DTranspose(8, 3, strides=2, padding="same")`.
    """

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(3, filters, kernel_size, strides=strides, padding=padding,
                         output_padding=output_padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         **kwargs)

    def get_config(self):
        config = super().get_config()
        # tf.keras' Conv3DTranspose leaves `dilation_rate` out of its config, and its call
        # ignores it (an undilated transposed convolution). Here a dilated layer is dilated,
        # so its config keeps the rate (tf.keras' constructor accepts it) to reload the same.
        if all(rate == 1 for rate in self.dilation_rate):
            config.pop("dilation_rate")
        return config
