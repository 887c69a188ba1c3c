"""Weight initializers with Keras' formulas and defaults (`keras.initializers`)."""
import copy
import functools
import math
import warnings

import numpy as np

from .core import config, philox
from .core.random import draw_initializer_seed, global_rng, make_rng, seed_generator_set
from .core.serialization import deserialize_by_name, serialize_keras_object
from .core.registry import custom_object_instance, register_builtins
from .core.tensor import Tensor
from .ops.blas_threads import one_blas_thread

register_builtins("initializers", globals())   # names looked up by `deserialize_keras_object`


def _fans(shape):
    """Keras' fan-in/fan-out: conv kernels multiply by the receptive field size."""
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def _returns_tensor(call):
    """tf.keras' built-in initializers return an eager tensor (`.numpy()`, tensor arithmetic,
    `dtype=` honoured); ours compute a NumPy array and wrap it. A user's own initializer returns
    whatever it returns (`add_weight` takes arrays and tensors alike)."""
    @functools.wraps(call)
    def tensor_call(self, shape, dtype=None, **kwargs):
        return Tensor(call(self, shape, dtype=dtype, **kwargs))
    return tensor_call


class Initializer:
    """Base class: `initializer(shape, dtype)` returns a tensor of that shape and dtype."""

    def __call__(self, shape, dtype=None, **kwargs):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config_):
        config_ = dict(config_)
        config_.pop("dtype", None)
        return cls(**config_)

    def _dtype(self, dtype):
        return np.dtype(dtype or config.floatx())

    def _float_dtype(self, dtype):
        """The dtype of a draw, which tf's random ops (and Identity) take only in floating point."""
        dtype = self._dtype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"Expected floating point type, got <dtype: '{dtype.name}'>.")
        return dtype


class Zeros(Initializer):
    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        return np.zeros(shape, dtype=self._dtype(dtype))


class Ones(Initializer):
    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        return np.ones(shape, dtype=self._dtype(dtype))


class Constant(Initializer):
    def __init__(self, value=0):
        self.value = value

    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        """As `tf.constant(value, shape=shape)`: one value fills the shape, as many values as
        the shape holds are reshaped to it; beyond tf.keras, a value that broadcasts to the
        shape (a row) is broadcast. Anything else is an error."""
        dtype = self._dtype(dtype)
        if dtype.kind in "biu" and _holds_python_floats(self.value):
            # tf.constant refuses to convert Python floats to an integer or bool tensor
            raise TypeError(f"Cannot convert {self.value!r} to EagerTensor of dtype {dtype.name}")
        try:
            value = np.asarray(self.value, dtype=dtype)
        except (TypeError, ValueError):
            raise TypeError(f"Cannot convert {self.value!r} to an array of dtype {dtype}: the "
                            "`Constant` initializer's value must be a number or an array of "
                            "numbers.") from None
        shape = tuple(shape)
        size = int(np.prod(shape, dtype=np.int64))
        if value.size == 1:
            return np.full(shape, value.reshape(()), dtype=dtype)
        if value.size != size:
            try:
                return np.broadcast_to(value, shape).copy()
            except ValueError:
                pass
            raise TypeError(f"The `Constant` initializer's value has {value.size} elements, but "
                            f"the requested shape {shape} has {size} elements.")
        return value.reshape(shape).copy()

    def get_config(self):
        return {"value": self.value}

    @classmethod
    def from_config(cls, config_):
        # tf_keras 2.13+ and Keras 3 write an array value as {"class_name": "__numpy__",
        # "config": {"value": [...], "dtype": ...}} (a tensor as "__tensor__"): the keras.io
        # pretrained word embeddings' `Constant(embedding_matrix)` in their `.keras` files
        config_ = dict(config_)
        value = config_.get("value")
        if isinstance(value, dict) and value.get("class_name") in ("__numpy__", "__tensor__"):
            inner = value["config"]
            config_["value"] = np.array(inner["value"], dtype=inner["dtype"])
        return super().from_config.__func__(cls, config_)


def _holds_python_floats(value):
    """Whether a value is a Python float or a (nested) list / tuple holding one."""
    if isinstance(value, (list, tuple)):
        return any(_holds_python_floats(item) for item in value)
    return isinstance(value, float) and not isinstance(value, np.floating)


class _Random(Initializer):
    def __init__(self, seed=None):
        self.seed = seed

    def _tf_draws(self, dtype):
        """Whether to draw tf.keras' own numbers: a stateless tf draw with `seed=[seed, 0]`,
        which `core.philox` replays. A seeded float32 instance does; so does an unseeded one
        once `set_random_seed` has run, as tf.keras then takes the instance's seed from the
        seed generator at its first call (a seeded script starts from tf's weights). Other
        dtypes, and unseeded instances in an unseeded session (tf's values are random then
        too), use NumPy's faster generator. An unseeded instance's first call picks its seed
        here (later calls reuse it and warn), so each `__call__` asks once."""
        if dtype != np.float32:
            return False
        if self.seed is not None:
            return True
        first_state = getattr(self, "_first_state", None)
        if first_state is None and seed_generator_set():
            self._first_state = ("picked seed", draw_initializer_seed())
            return True
        if first_state is not None and first_state[0] == "picked seed":
            self._warn_called_again()
            return True
        return False

    def _tf_seed(self):
        if self.seed is not None:
            return (int(self.seed), 0)
        return (self._first_state[1], 0)

    def _rng(self):
        """A generator for one call. tf.keras 2.21 draws the values of an unseeded instance
        from a seed the instance picks once (a stateless generator): every call of the same
        instance returns the same values (GDL_code's GANs pass one `RandomNormal(0, 0.02)` to
        every layer: layers of one shape start equal), and it warns from the second call on."""
        if self.seed is not None:
            return make_rng(self.seed)
        first_state = getattr(self, "_first_state", None)
        if first_state is None:
            # the first call draws from the global generator (the values of a seeded session
            # are unchanged); the state it started from replays them at later calls
            draw_initializer_seed()   # tf.keras' seed draw from Python's `random`
            generator = global_rng()
            self._first_state = (type(generator.bit_generator),
                                 copy.deepcopy(generator.bit_generator.state))
            return generator
        self._warn_called_again()
        if first_state[0] == "picked seed":   # a first float32 call in a seeded session
            return np.random.default_rng(first_state[1])
        bit_generator_type, state = first_state
        bit_generator = bit_generator_type()
        bit_generator.state = copy.deepcopy(state)
        return np.random.Generator(bit_generator)

    def _warn_called_again(self):
        warnings.warn(f"The initializer {type(self).__name__} is unseeded and being called "
                      "multiple times, which will return identical values each time (even if "
                      "the initializer is unseeded). Please update your code to provide a seed "
                      "to the initializer, or avoid using the same initializer instance more "
                      "than once.", stacklevel=5)


class RandomNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        dtype = self._float_dtype(dtype)
        if self._tf_draws(dtype):
            return _scaled(philox.stateless_normal(shape, self._tf_seed()), self.stddev, self.mean)
        return self._rng().normal(self.mean, self.stddev, size=shape).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(_Random):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = minval, maxval

    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        dtype = self._dtype(dtype)
        if dtype.kind not in "fiu":
            raise ValueError(f"Expected float or integer dtype, got <dtype: '{dtype.name}'>.")
        if dtype.kind in "iu":
            for bound in (self.minval, self.maxval):
                if float(bound) != int(bound):   # tf converts the bounds to the integer dtype
                    raise TypeError(f"Cannot convert {bound} to EagerTensor of dtype {dtype.name}")
            return self._rng().integers(self.minval, self.maxval, size=shape).astype(dtype)
        if self._tf_draws(dtype):
            return _tf_uniform(shape, self._tf_seed(), self.minval, self.maxval)
        # minval + u * (maxval - minval) as tf draws it (numpy's uniform() does the same sum
        # but refuses maxval < minval, which tf accepts)
        unit = self._rng().random(size=shape)
        return (self.minval + unit * (self.maxval - self.minval)).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _scaled(values, scale, shift):
    """`values * scale + shift` in float32, as tf scales its stateless draws."""
    values *= np.float32(scale)
    values += np.float32(shift)
    return values


def _tf_uniform(shape, seed, low, high):
    """`tf.random.stateless_uniform(shape, seed, low, high)`: float32 `u * (high - low) + low`."""
    return _scaled(philox.stateless_uniform(shape, seed), np.float32(high) - np.float32(low), low)


def _sampling_dtype(dtype):
    """Draw float32 weights directly in float32: a large kernel (VGG's 25088 x 4096) then
    needs no float64 copy, which is most of the time and memory of building the model."""
    dtype = np.dtype(dtype) if dtype is not None else np.dtype(np.float64)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _uniform(rng, low, high, shape, dtype=None):
    values = rng.random(size=shape, dtype=_sampling_dtype(dtype))
    values *= high - low
    values += low
    return values


def _truncated_normal(rng, mean, stddev, shape, dtype=None):
    """Normal samples redrawn until within two standard deviations (TF's truncated normal)."""
    sampling = _sampling_dtype(dtype)
    values = rng.standard_normal(size=shape, dtype=sampling)
    flat = values.reshape(-1)
    # Only the redrawn positions can still be outside: check those, not the whole array.
    outside = np.flatnonzero(np.abs(flat) > 2)
    while outside.size:
        flat[outside] = rng.standard_normal(size=outside.size, dtype=sampling)
        outside = outside[np.abs(flat[outside]) > 2]
    values *= stddev
    values += mean
    return values


class TruncatedNormal(_Random):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = mean, stddev

    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        dtype = self._float_dtype(dtype)
        if self._tf_draws(dtype):
            return _scaled(philox.stateless_truncated_normal(shape, self._tf_seed()),
                           self.stddev, self.mean)
        return _truncated_normal(self._rng(), self.mean, self.stddev, shape, dtype).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(_Random):
    """Samples scaled by the fan: `scale / fan` is the variance of the distribution."""

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0.0:
            raise ValueError(f"`scale` must be positive float. Received: scale={scale}.")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError("Invalid `mode` argument: expected one of {'fan_in', 'fan_out', "
                             f"'fan_avg'}}. Received: mode={mode}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError("Invalid `distribution` argument: expected one of {'uniform', "
                             "'truncated_normal', 'untruncated_normal'}. "
                             f"Received: distribution={distribution}")
        self.scale, self.mode, self.distribution = scale, mode, distribution

    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        fan_in, fan_out = _fans(tuple(shape))
        fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, fan)
        dtype = self._float_dtype(dtype)
        if self._tf_draws(dtype):
            return self._tf_values(shape, scale)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            # 0.879... is the stddev of a unit normal truncated to [-2, 2].
            stddev = math.sqrt(scale) / 0.87962566103423978
            values = _truncated_normal(rng, 0.0, stddev, shape, dtype)
        elif self.distribution == "untruncated_normal":
            values = rng.normal(0.0, math.sqrt(scale), size=shape)
        else:
            limit = math.sqrt(3.0 * scale)
            values = _uniform(rng, -limit, limit, shape, dtype)
        return np.asarray(values).astype(dtype, copy=False)

    def _tf_values(self, shape, scale):
        seed = self._tf_seed()
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / 0.87962566103423978
            return _scaled(philox.stateless_truncated_normal(shape, seed), stddev, 0.0)
        if self.distribution == "untruncated_normal":
            return _scaled(philox.stateless_normal(shape, seed), math.sqrt(scale), 0.0)
        limit = math.sqrt(3.0 * scale)
        return _tf_uniform(shape, seed, -limit, limit)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _preset(name, scale, mode, distribution):
    class Preset(VarianceScaling):
        def __init__(self, seed=None):
            super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

        def get_config(self):
            return {"seed": self.seed}
    Preset.__name__ = Preset.__qualname__ = name
    return Preset


GlorotUniform = _preset("GlorotUniform", 1.0, "fan_avg", "uniform")
GlorotNormal = _preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal")
HeUniform = _preset("HeUniform", 2.0, "fan_in", "uniform")
HeNormal = _preset("HeNormal", 2.0, "fan_in", "truncated_normal")
LecunUniform = _preset("LecunUniform", 1.0, "fan_in", "uniform")
LecunNormal = _preset("LecunNormal", 1.0, "fan_in", "truncated_normal")


class Orthogonal(_Random):
    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = gain

    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        dtype = self._float_dtype(dtype)
        rows = int(np.prod(shape[:-1]))
        cols = shape[-1]
        flat_shape = (max(rows, cols), min(rows, cols))
        if self._tf_draws(dtype):
            flat = philox.stateless_normal(flat_shape, self._tf_seed()).astype(np.float64)
        else:
            flat = self._rng().normal(size=flat_shape)
        with one_blas_thread():     # the same bits; BLAS' threads only add waits
            q, r = np.linalg.qr(flat)
        q *= np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        # C order: q is a transpose (F order) when rows < cols
        return np.ascontiguousarray((self.gain * q[:rows, :cols]).reshape(shape), dtype=dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    def __init__(self, gain=1.0):
        self.gain = gain

    @_returns_tensor
    def __call__(self, shape, dtype=None, **kwargs):
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(self._float_dtype(dtype))

    def get_config(self):
        return {"gain": self.gain}


# Lower-case aliases, as Keras exports them.
zeros, ones, constant = Zeros, Ones, Constant
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling, orthogonal, identity = VarianceScaling, Orthogonal, Identity
glorot_uniform, glorot_normal = GlorotUniform, GlorotNormal
he_uniform, he_normal, lecun_uniform, lecun_normal = HeUniform, HeNormal, LecunUniform, LecunNormal

_BY_NAME = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    Orthogonal, Identity, GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform,
    LecunNormal)}
_ALIASES = {"zeros": Zeros, "ones": Ones, "constant": Constant, "random_normal": RandomNormal,
            "random_uniform": RandomUniform, "truncated_normal": TruncatedNormal,
            "variance_scaling": VarianceScaling, "orthogonal": Orthogonal, "identity": Identity,
            "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
            "he_uniform": HeUniform, "he_normal": HeNormal, "lecun_uniform": LecunUniform,
            "lecun_normal": LecunNormal, "uniform": RandomUniform, "normal": RandomNormal,
            "zero": Zeros, "one": Ones}   # Keras 2 aliases tf.keras still resolves


def serialize(initializer):
    return serialize_keras_object(initializer, "keras.initializers")


def deserialize(config_, custom_objects=None):
    return deserialize_by_name(config_, {**_BY_NAME, **_ALIASES}, custom_objects, "initializer")


def get(identifier):
    if identifier is None:
        return None
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        # a custom object shadows a built-in name, as in tf.keras
        custom = custom_object_instance(identifier)
        if custom is not None:
            return custom
        cls = _ALIASES.get(identifier) or _BY_NAME.get(identifier)
        if cls is None:
            return deserialize(identifier)
        return cls()
    if isinstance(identifier, type):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret initializer identifier: {identifier}")

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from .core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ())
