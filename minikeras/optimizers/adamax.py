"""Adamax: Adam with the infinity norm in place of the second moment."""
import numpy as np

from .base import Optimizer


class Adamax(Optimizer):
    """As tf.keras >= 2.11 computes it:

        m += (g - m) * (1 - beta_1)
        u = max(beta_2 * u, |g|)
        w -= learning_rate * m / ((1 - beta_1^t) * (u + epsilon))

    Example:

        model.compile(optimizer=keras.optimizers.Adamax(learning_rate=2e-3), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 name="Adamax", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._m, self._u = [], []
        for var in var_list:
            self._m.append(self.add_variable_from_reference(var, "m"))
            self._u.append(self.add_variable_from_reference(var, "u"))

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        m, u = self._m[index].data, self._u[index].data
        exact, cast = self._constant_types()
        beta_1_power = cast(self.beta_1) ** exact(self._step_count() + 1)
        scratch, step = self._scratch_for(variable, 2)
        np.subtract(gradient, m, out=scratch)
        scratch *= self._first_moment_decay()
        m += scratch
        u *= self._hyperparameter_type()(self.beta_2)
        np.abs(gradient, out=scratch)
        np.maximum(u, scratch, out=u)
        np.add(u, exact(self.epsilon), out=scratch)
        scratch *= exact(1) - beta_1_power
        np.multiply(m, self._step_lr, out=step)
        step /= scratch
        variable.data -= step

    def _first_moment_decay(self):
        """`1 - beta_1` as tf.keras >= 2.11 computes it (in float64, then rounded to float32
        unless the step is float64)."""
        return self._constant_types()[0](1 - self.beta_1)

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
