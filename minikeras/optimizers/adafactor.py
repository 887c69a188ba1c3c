"""Adafactor: factored second moments (Shazeer & Stern, 2018), as tf.keras computes it."""
import numpy as np

from .base import Optimizer
from . import schedules as schedules_module


def _rms(x):
    return np.sqrt(np.mean(np.square(x)))


class Adafactor(Optimizer):
    """For a variable of rank >= 2, row and column means `r`, `c` of `g^2 + epsilon_1` stand in
    for the full second moment `v = (r / mean(r)) c`; rank 0-1 variables keep the full `v`.
    With `t` the step (from 1):

        beta_2_t = 1 - t ** beta_2_decay
        lr_t = min(learning_rate, 1 / sqrt(t))      (relative_step, no schedule)
        alpha_t = max(epsilon_2, rms(w)) * min(lr_t, 1 / sqrt(t))
        u = g / sqrt(v);  w -= alpha_t * u / max(1, rms(u) / clip_threshold)

    Example:

        model.compile(optimizer=keras.optimizers.Adafactor(), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
                 clip_threshold=1.0, relative_step=True, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, jit_compile=True, name="Adafactor", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._r, self._c, self._v = [], [], []
        for var in var_list:
            shape = tuple(var.shape)
            if len(shape) < 2:
                # tf.keras keeps unused scalars here, outside the optimizer's variables
                self._r.append(None)
                self._c.append(None)
            else:
                name = var.name.split(":")[0]
                self._r.append(self.add_variable(shape[:-1], var.dtype, name=f"r/{name}"))
                self._c.append(self.add_variable(shape[:-2] + shape[-1:], var.dtype,
                                                 name=f"c/{name}"))
            self._v.append(self.add_variable_from_reference(var, "v"))

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        # float32 throughout, or float64 for float64 variables: epsilon_2 is `tf.cast` (through
        # float32), the other Python floats are multiplied in exactly
        exact, cast = self._constant_types()
        one = exact(1)
        step = exact(self._step_count() + 1)
        lr = self._step_lr
        inverse_sqrt_step = one / np.sqrt(step)
        if self.relative_step and not isinstance(self._learning_rate,
                                                 schedules_module.LearningRateSchedule):
            lr = min(lr, inverse_sqrt_step)
        rho = exact(min(lr, inverse_sqrt_step))
        w = variable.data
        alpha = exact(max(cast(self.epsilon_2), _rms(w))) * rho
        grad_square = np.square(gradient) + exact(self.epsilon_1)
        beta_2_t = one - np.power(step, exact(self.beta_2_decay))
        v = self._v[index].data
        if w.ndim >= 2:
            r, c = self._r[index].data, self._c[index].data
            r[...] = beta_2_t * r + (one - beta_2_t) * grad_square.mean(axis=-1)
            c[...] = beta_2_t * c + (one - beta_2_t) * grad_square.mean(axis=-2)
            v[...] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v[...] = beta_2_t * v + (one - beta_2_t) * grad_square
        update = gradient / np.sqrt(v)
        update /= exact(max(one, _rms(update) / exact(self.clip_threshold)))
        w -= alpha * update

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_2_decay": self.beta_2_decay, "epsilon_1": self.epsilon_1,
                       "epsilon_2": self.epsilon_2, "clip_threshold": self.clip_threshold,
                       "relative_step": self.relative_step})
        return config
