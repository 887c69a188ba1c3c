"""ActivityRegularization: adds an L1/L2 penalty on its input to the loss."""
from ... import regularizers
from ...engine.base_layer import Layer


class ActivityRegularization(Layer):
    """Passes its input through unchanged and adds `l1 * sum(|x|) + l2 * sum(x**2)`, divided by
    the batch size, to the layer's `losses` (and so to the training loss).

    Example:
    >>> layer = ActivityRegularization(l1=0.01)
    >>> _ = layer(np.ones((2, 3), "float32"))
    >>> round(float(layer.losses[0]), 6)   # 0.01 * 6 / 2
    0.03
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(activity_regularizer=regularizers.L1L2(l1=l1, l2=l2), **kwargs)
        self.supports_masking = True
        self.l1 = l1
        self.l2 = l2

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1, "l2": self.l2})
        return config
