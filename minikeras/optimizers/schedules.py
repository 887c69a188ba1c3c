"""Learning-rate schedules (`keras.optimizers.schedules`), computed as tf.keras does: in the
dtype of `initial_learning_rate` (float32 for a Python number)."""
import math

import numpy as np

from ..core.tensor import as_array
from ..core.serialization import deserialize_object, serialize_keras_object


class LearningRateSchedule:
    """Base class: `schedule(step)` returns the learning rate for that optimizer step.

    Example:

        class Halving(keras.optimizers.schedules.LearningRateSchedule):
            def __init__(self, initial_learning_rate):
                self.initial_learning_rate = initial_learning_rate

            def __call__(self, step):
                return self.initial_learning_rate / (step + 1)
    """

    def __call__(self, step):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`__call__(self, step)`.")

    def get_config(self):
        raise NotImplementedError(f"Learning rate schedule '{type(self).__name__}' must override "
                                  "`get_config()` in order to be serializable.")

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _dtype_of(initial_learning_rate):
    """float32 for Python numbers (as tf.convert_to_tensor), else the array's float dtype."""
    if isinstance(initial_learning_rate, (int, float)):   # whatever floatx is
        return np.dtype(np.float32)
    value = as_array(initial_learning_rate)
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return value.dtype
    return np.dtype(np.float32)


def _cast(value, dtype):
    return np.asarray(as_array(value)).astype(dtype)


class _RateOverSteps(LearningRateSchedule):
    """Shared by the schedules driven by `decay_rate` and the progress
    `step / decay_steps` (floored when `staircase=True`)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name=None):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _progress(self, step, dtype):
        p = _cast(step, dtype) / _cast(self.decay_steps, dtype)
        return np.floor(p) if self.staircase else p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class ExponentialDecay(_RateOverSteps):
    """`initial_learning_rate * decay_rate ^ (step / decay_steps)` (the exponent floored when
    `staircase=True`).

    Example:

        lr = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1000, decay_rate=0.96)
        opt = keras.optimizers.SGD(learning_rate=lr)
    """

    def __call__(self, step):
        dtype = _dtype_of(self.initial_learning_rate)
        p = self._progress(step, dtype)
        return _cast(self.initial_learning_rate, dtype) * np.power(_cast(self.decay_rate, dtype), p)


class PiecewiseConstantDecay(LearningRateSchedule):
    """`values[0]` while `step <= boundaries[0]`, `values[i]` while
    `boundaries[i-1] < step <= boundaries[i]`, `values[-1]` after the last boundary.

    Example:

        lr = keras.optimizers.schedules.PiecewiseConstantDecay([1000, 2000], [1.0, 0.5, 0.1])
    """

    def __init__(self, boundaries, values, name=None):
        super().__init__()
        if len(boundaries) != len(values) - 1:
            raise ValueError("The length of boundaries should be 1 less than the length of "
                             f"values. Received: boundaries={boundaries} of length "
                             f"{len(boundaries)}, and values={values} of length {len(values)}.")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def __call__(self, step):
        step = np.asarray(as_array(step))
        index = int(np.sum(step > np.asarray(self.boundaries)))
        value = np.asarray(as_array(self.values[index]))
        # A Python float becomes a float32 tensor in tf.keras, as does every learning rate here.
        return value.astype(np.float32) if value.dtype == np.float64 and \
            isinstance(self.values[index], float) else value

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """`(initial - end) * (1 - min(step, decay_steps) / decay_steps) ^ power + end`; with
    `cycle=True` decay_steps grows to the first multiple of itself that is >= step.

    Example:

        lr = keras.optimizers.schedules.PolynomialDecay(0.1, 10000, end_learning_rate=0.01)
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0,
                 cycle=False, name=None):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        dtype = _dtype_of(self.initial_learning_rate)
        initial = _cast(self.initial_learning_rate, dtype)
        end = _cast(self.end_learning_rate, dtype)
        step = _cast(step, dtype)
        decay_steps = _cast(self.decay_steps, dtype)
        if self.cycle:
            multiplier = np.ones((), dtype) if step == 0 else np.ceil(step / decay_steps)
            decay_steps = decay_steps * multiplier
        else:
            step = np.minimum(step, decay_steps)
        p = step / decay_steps
        return (initial - end) * np.power(np.asarray(1, dtype) - p, _cast(self.power, dtype)) + end

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "end_learning_rate": self.end_learning_rate,
                "power": self.power, "cycle": self.cycle, "name": self.name}


class InverseTimeDecay(_RateOverSteps):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)` (the ratio floored when
    `staircase=True`).

    Example:

        lr = keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=1.0, decay_rate=0.5)
    """

    def __call__(self, step):
        dtype = _dtype_of(self.initial_learning_rate)
        p = self._progress(step, dtype)
        denominator = np.asarray(1, dtype) + _cast(self.decay_rate, dtype) * p
        return _cast(self.initial_learning_rate, dtype) / denominator


class CosineDecay(LearningRateSchedule):
    """Optional linear warmup from `initial_learning_rate` to `warmup_target` over
    `warmup_steps`, then `lr0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)`
    with `s = min(step - warmup_steps, decay_steps)` and `lr0` the warmup target (or the initial
    rate without warmup).

    Example:

        lr = keras.optimizers.schedules.CosineDecay(0.1, decay_steps=1000)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name=None,
                 warmup_target=None, warmup_steps=0):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _decay(self, step, decay_steps, decay_from, dtype):
        fraction = step / decay_steps
        cosine = np.asarray(0.5, dtype) * (np.asarray(1, dtype)
                                           + np.cos(np.asarray(math.pi, dtype) * fraction))
        decayed = _cast(1 - self.alpha, dtype) * cosine + _cast(self.alpha, dtype)
        return decay_from * decayed

    def __call__(self, step):
        dtype = _dtype_of(self.initial_learning_rate)
        initial = _cast(self.initial_learning_rate, dtype)
        decay_steps = _cast(self.decay_steps, dtype)
        step = _cast(step, dtype)
        if self.warmup_target is None:
            return self._decay(np.minimum(step, decay_steps), decay_steps, initial, dtype)
        target = _cast(self.warmup_target, dtype)
        warmup_steps = _cast(self.warmup_steps, dtype)
        step = np.minimum(step, decay_steps + warmup_steps)
        if step < warmup_steps:
            return (target - initial) * (step / warmup_steps) + initial
        return self._decay(step - warmup_steps, decay_steps, target, dtype)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR): the first period lasts `first_decay_steps`,
    each next one `t_mul` times longer and starting `m_mul` times lower.

    Example:

        lr = keras.optimizers.schedules.CosineDecayRestarts(0.1, first_decay_steps=1000)
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name=None):
        super().__init__()
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        dtype = _dtype_of(self.initial_learning_rate)
        one = np.asarray(1, dtype)
        alpha = _cast(self.alpha, dtype)
        t_mul, m_mul = _cast(self._t_mul, dtype), _cast(self._m_mul, dtype)
        fraction = _cast(step, dtype) / _cast(self.first_decay_steps, dtype)
        if t_mul == 1:
            i_restart = np.floor(fraction)
            fraction = fraction - i_restart
        else:
            i_restart = np.floor(np.log(one - fraction * (one - t_mul)) / np.log(t_mul))
            periods_done = (one - t_mul ** i_restart) / (one - t_mul)
            fraction = (fraction - periods_done) / t_mul ** i_restart
        cosine = np.asarray(0.5, dtype) * m_mul ** i_restart * (
            one + np.cos(np.asarray(math.pi, dtype) * fraction))
        return _cast(self.initial_learning_rate, dtype) * ((one - alpha) * cosine + alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "first_decay_steps": self.first_decay_steps, "t_mul": self._t_mul,
                "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}


_SCHEDULES = {cls.__name__: cls for cls in (
    ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, CosineDecay,
    CosineDecayRestarts)}


def serialize(learning_rate_schedule, use_legacy_format=False):
    """`{'module': 'keras.optimizers.schedules', 'class_name', 'config', 'registered_name'}`."""
    if use_legacy_format:
        return {"class_name": type(learning_rate_schedule).__name__,
                "config": learning_rate_schedule.get_config()}
    return serialize_keras_object(learning_rate_schedule, "keras.optimizers.schedules")


def deserialize(config, custom_objects=None, use_legacy_format=False):
    """A schedule from its serialized form (`{'class_name': ..., 'config': ...}`)."""
    return deserialize_object(config, _SCHEDULES, custom_objects, "decay")
