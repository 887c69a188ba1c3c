"""LocallyConnected1D: a 1D convolution with unshared weights."""
from .base_locally_connected import LocallyConnected


class LocallyConnected1D(LocallyConnected):
    """Like Conv1D, but every output step has its own filters (tf.keras 2.x).

    `implementation` picks the weight layout (1: `(output_length, kernel_size * input_dim,
    filters)`, 2: a dense masked kernel, 3: the connected entries only); `padding="same"`
    needs implementation 2 or 3.

    Example:
    >>> layer = LocallyConnected1D(4, 3)
    >>> layer(np.ones((2, 10, 2), "float32")).shape
    (2, 8, 4)
    >>> [tuple(w.shape) for w in layer.weights]
    [(8, 6, 4), (8, 4)]
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 implementation=1, **kwargs):
        super().__init__(1, filters, kernel_size, strides=strides, padding=padding,
                         data_format=data_format, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         implementation=implementation, **kwargs)
