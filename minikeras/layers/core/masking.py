"""Masking: marks timesteps whose features all equal `mask_value` as masked."""
import numpy as np

from ... import ops
from ...core.tensor import Tensor
from ...engine.base_layer import Layer


class Masking(Layer):
    """Masks (skips) each timestep whose features all equal `mask_value`: the output is the
    input with those timesteps zeroed, and it carries a boolean mask of shape
    `(batch, timesteps)` that layers downstream receive (`compute_mask`).

    Example:
    >>> x = np.ones((1, 3, 2), "float32"); x[0, 1] = 0
    >>> Masking()(x)._keras_mask.numpy()
    array([[ True, False,  True]])
    """

    def __init__(self, mask_value=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        if isinstance(mask_value, (str, bytes)) or not np.isscalar(mask_value) and \
                np.asarray(mask_value).dtype.kind not in "fiub":
            raise TypeError("`mask_value` must be a number. Received: "
                            f"mask_value={mask_value!r}")
        self.mask_value = mask_value

    def call(self, inputs):
        keep = self._keep(inputs)[..., None]
        return ops.multiply(inputs, keep.astype(ops.unwrap(inputs).dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return Tensor(self._keep(inputs))

    def get_config(self):
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config

    def _keep(self, inputs):
        """True for every timestep with at least one feature different from `mask_value`."""
        return np.any(np.not_equal(ops.unwrap(inputs), self.mask_value), axis=-1)
