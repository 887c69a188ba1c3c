"""Shared argument checks and random generators of the noise layers."""
import numbers

import numpy as np

from ...core.random import make_rng


def check_rate(rate):
    """A drop rate must be a real number in [0, 1] (Keras' wording)."""
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
        raise ValueError("Invalid value received for argument `rate`. Expected a float value "
                         f"between 0 and 1. Received: rate={rate}")
    return rate


def layer_rng(layer):
    """The layer's own generator when it has a seed (same seed, same noise), else the global."""
    return layer._rng if layer._rng is not None else make_rng(None)


def noise_dtype(inputs):
    return inputs.dtype if inputs.dtype.kind == "f" else np.dtype("float32")


def normal_noise(rng, shape, dtype):
    """Standard normal draws of `dtype`; float16 ones (under 'mixed_float16') are drawn in
    float32 and rounded, NumPy drawing no float16."""
    if dtype == np.float16:
        return rng.standard_normal(shape, dtype=np.float32).astype(np.float16)
    return rng.standard_normal(shape, dtype=dtype)
