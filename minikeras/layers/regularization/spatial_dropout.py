"""SpatialDropout1D/2D/3D: Dropout that drops whole feature maps (channels) at once."""
from ...core import config
from ...engine.input_spec import InputSpec
from .dropout import Dropout


def _check_data_format(data_format):
    if data_format is None:
        data_format = config.image_data_format()
    if data_format not in {"channels_last", "channels_first"}:
        raise ValueError('`data_format` must be "channels_last" or "channels_first". '
                         f"Received: data_format={data_format}.")
    return data_format


class SpatialDropout1D(Dropout):
    """Drops entire channels of a `(batch, timesteps, channels)` input in training: one
    keep/drop decision per sample and channel, shared by every timestep.

    Example:
    >>> layer = SpatialDropout1D(0.5)
    >>> layer(np.ones((2, 5, 3), "float32"), training=True).shape
    (2, 5, 3)
    """

    def __init__(self, rate, **kwargs):
        super().__init__(rate, **kwargs)
        self.input_spec = InputSpec(ndim=3)

    def _noise_shape(self, inputs):
        return (inputs.shape[0], 1, inputs.shape[2])


class SpatialDropout2D(Dropout):
    """Drops entire 2D feature maps in training (one decision per sample and channel).

    Note: like tf.keras, `get_config()` does not list `data_format`.

    Example:
    >>> layer = SpatialDropout2D(0.5)
    >>> layer(np.ones((2, 4, 4, 3), "float32"), training=True).shape
    (2, 4, 4, 3)
    """

    def __init__(self, rate, data_format=None, **kwargs):
        super().__init__(rate, **kwargs)
        self.data_format = _check_data_format(data_format)
        self.input_spec = InputSpec(ndim=4)

    def _noise_shape(self, inputs):
        shape = inputs.shape
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1)
        return (shape[0], 1, 1, shape[3])


class SpatialDropout3D(Dropout):
    """Drops entire 3D feature maps in training (one decision per sample and channel).

    Note: like tf.keras, `get_config()` does not list `data_format`.

    Example:
    >>> layer = SpatialDropout3D(0.5)
    >>> layer(np.ones((2, 3, 3, 3, 4), "float32"), training=True).shape
    (2, 3, 3, 3, 4)
    """

    def __init__(self, rate, data_format=None, **kwargs):
        super().__init__(rate, **kwargs)
        self.data_format = _check_data_format(data_format)
        self.input_spec = InputSpec(ndim=5)

    def _noise_shape(self, inputs):
        shape = inputs.shape
        if self.data_format == "channels_first":
            return (shape[0], shape[1], 1, 1, 1)
        return (shape[0], 1, 1, 1, shape[4])
