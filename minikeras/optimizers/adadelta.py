"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from .base import Optimizer


class Adadelta(Optimizer):
    """As tf.keras >= 2.11 computes it:

        Eg = rho * Eg + (1 - rho) * g^2
        delta = -sqrt(Edx + epsilon) * g / sqrt(Eg + epsilon)
        Edx = rho * Edx + (1 - rho) * delta^2
        w += learning_rate * delta

    Example:

        model.compile(optimizer=keras.optimizers.Adadelta(learning_rate=1.0), loss="mse")
    """

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 name="Adadelta", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._accumulated_grads, self._accumulated_delta_vars = [], []
        for var in var_list:
            self._accumulated_grads.append(
                self.add_variable_from_reference(var, "accumulated_grad"))
            self._accumulated_delta_vars.append(
                self.add_variable_from_reference(var, "accumulated_delta_var"))

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        rho, keep, eps = self._adadelta_constants()
        grad_avg = self._accumulated_grads[index].data
        delta_avg = self._accumulated_delta_vars[index].data
        delta, scratch = self._scratch_for(variable, 2)
        np.square(gradient, out=scratch)
        scratch *= keep
        grad_avg *= rho
        grad_avg += scratch
        np.add(delta_avg, eps, out=delta)
        np.sqrt(delta, out=delta)
        np.negative(delta, out=delta)
        delta *= gradient
        np.add(grad_avg, eps, out=scratch)
        np.sqrt(scratch, out=scratch)
        delta /= scratch
        np.square(delta, out=scratch)
        scratch *= keep
        delta_avg *= rho
        delta_avg += scratch
        delta *= self._step_lr
        variable.data += delta

    def _adadelta_constants(self):
        """(rho, 1 - rho, epsilon): Python floats multiplied in (exact in float64)."""
        exact = self._constant_types()[0]
        return exact(self.rho), exact(1 - self.rho), exact(self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "rho": self.rho, "epsilon": self.epsilon})
        return config
