"""Stochastic gradient descent with optional (Nesterov) momentum."""
import numpy as np

from .base import Optimizer


class SGD(Optimizer):
    """`velocity = momentum * velocity - lr * g; w += velocity` (Nesterov:
    `w += momentum * velocity - lr * g`); plain `w -= lr * g` without momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True, name="SGD",
                 **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._set_initial_lr(learning_rate)
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError("`momentum` must be between [0, 1].")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, var_list):
        if self.momentum:
            for var in var_list:
                self.add_variable_from_reference(var, "m")

    def update_step(self, gradient, variable):
        lr = self._lr_now
        w = variable.data
        if not self.momentum:
            w -= lr * gradient
            return
        m = self.slot(variable, "m")
        momentum = np.float32(self.momentum)
        m *= momentum
        m -= lr * gradient
        if self.nesterov:
            w += momentum * m - lr * gradient
        else:
            w += m

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
