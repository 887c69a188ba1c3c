"""LocallyConnected2D: a 2D convolution with unshared weights."""
from .base_locally_connected import LocallyConnected


class LocallyConnected2D(LocallyConnected):
    """Like Conv2D, but every output pixel has its own filters (tf.keras 2.x).

    `implementation` picks the weight layout (1: `(rows * cols, kh * kw * channels, filters)`,
    2: a dense masked kernel, 3: the connected entries only); `padding="same"` needs
    implementation 2 or 3.

    Example:
    >>> layer = LocallyConnected2D(8, (3, 3))
    >>> layer(np.ones((1, 6, 6, 3), "float32")).shape
    (1, 4, 4, 8)
    >>> layer.count_params()   # (4*4) * (3*3*3*8) + (4*4)*8
    3584
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 implementation=1, **kwargs):
        super().__init__(2, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         implementation=implementation, **kwargs)
