"""The Keras 3 `keras.random` names on NumPy generators.

`seed` is None (the global generator of `core.random`, reseeded by
`keras.utils.set_random_seed`), an int (a fresh generator from that seed: the same numbers at
every call, as Keras 3's integer seeds) or a `SeedGenerator` (its own stream, advancing at
every call). The numbers are NumPy's, not TensorFlow's; distributions, shapes and dtypes are
Keras'.
"""
import numpy as np

from ..core import config
from ..core import random as _core_random
from ..core.tensor import Tensor
from . import nn as _nn
from .numpy_ops import as_float, data_of


class SeedGenerator:
    """A seeded random stream: each op given this generator draws the next numbers."""

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments: {sorted(kwargs)}")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise ValueError("Argument `seed` must be an integer. "
                             f"Received: seed={seed}")
        self.name = name or "seed_generator"
        self._initial_seed = seed
        # No seed: a stream of its own, seeded from the global generator (so
        # `set_random_seed` makes it reproducible).
        start = seed if seed is not None else int(_core_random.global_rng().integers(2 ** 31))
        self.rng = np.random.default_rng(start)

    def next(self, ordered=True):
        """A fresh integer seed drawn from this stream."""
        return int(self.rng.integers(0, 2 ** 31 - 1))

    def get_config(self):
        return {"seed": self._initial_seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def rng_for(seed):
    if seed is None:
        return _core_random.global_rng()
    if isinstance(seed, SeedGenerator):
        return seed.rng
    if isinstance(seed, (int, np.integer)):
        return np.random.default_rng(int(seed))
    raise ValueError("Argument `seed` must be either an integer or an instance of "
                     f"`SeedGenerator`. Received: seed={seed} (of type {type(seed)})")


def _float_dtype(dtype):
    dtype = np.dtype(config.floatx() if dtype is None else dtype)
    if dtype.kind != "f":
        raise ValueError(f"`dtype` must be a floating point type. Received: dtype={dtype}")
    return dtype


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else \
        tuple(int(data_of(n)) for n in shape)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    dtype = _float_dtype(dtype)
    values = rng_for(seed).normal(data_of(mean), data_of(stddev), _shape(shape))
    return Tensor(np.asarray(values).astype(dtype))


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    dtype = _float_dtype(dtype)
    values = rng_for(seed).uniform(data_of(minval), data_of(maxval), _shape(shape))
    return Tensor(np.asarray(values).astype(dtype))


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal draws within two standard deviations (the others redrawn)."""
    dtype = _float_dtype(dtype)
    rng = rng_for(seed)
    shape = _shape(shape)
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return Tensor((values * data_of(stddev) + data_of(mean)).astype(dtype))


def randint(shape, minval, maxval, dtype="int32", seed=None):
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        raise ValueError(f"`dtype` must be an integer type. Received: dtype={dtype}")
    values = rng_for(seed).integers(data_of(minval), data_of(maxval), _shape(shape))
    return Tensor(values.astype(dtype))


def categorical(logits, num_samples, dtype="int32", seed=None):
    """`num_samples` class indices per row of 2-D `logits` (Gumbel-max sampling)."""
    scores = np.asarray(data_of(logits), np.float64)
    if scores.ndim != 2:
        raise ValueError("`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
                         f"Received: logits={scores.shape}")
    gumbel = -np.log(-np.log(rng_for(seed).uniform(
        np.finfo(np.float64).tiny, 1.0, (scores.shape[0], int(num_samples), scores.shape[1]))))
    return Tensor(np.argmax(scores[:, None, :] + gumbel, axis=-1).astype(dtype))


def dropout(inputs, rate, noise_shape=None, seed=None):
    if not 0 <= rate < 1:
        raise ValueError(f"Invalid value received for argument `rate`. Expected a float value "
                         f"between 0 and 1. Received: rate={rate}")
    t = as_float(inputs)
    if noise_shape is not None:
        noise_shape = tuple(n if n is not None else t.shape[i] for i, n in enumerate(noise_shape))
    return _nn.dropout(t, rate, rng_for(seed), noise_shape)


def shuffle(x, axis=0, seed=None):
    d = data_of(x)
    order = rng_for(seed).permutation(d.shape[axis])
    return Tensor(np.take(d, order, axis=axis))


def gamma(shape, alpha, dtype=None, seed=None):
    dtype = _float_dtype(dtype)
    return Tensor(rng_for(seed).gamma(data_of(alpha), 1.0, _shape(shape)).astype(dtype))


def beta(shape, alpha, beta, dtype=None, seed=None):
    dtype = _float_dtype(dtype)
    return Tensor(rng_for(seed).beta(data_of(alpha), data_of(beta), _shape(shape)).astype(dtype))


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    dtype = _float_dtype(dtype)
    draws = rng_for(seed).binomial(np.asarray(data_of(counts)).astype(np.int64),
                                   data_of(probabilities), _shape(shape))
    return Tensor(draws.astype(dtype))
