"""Adam (with AMSGrad) as tf.keras >= 2.11 implements it."""
import numpy as np

from .base import Optimizer


class Adam(Optimizer):
    """`m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2);
    w -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + epsilon)`."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 name="Adam", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._set_initial_lr(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        for var in var_list:
            self.add_variable_from_reference(var, "m")
        for var in var_list:
            self.add_variable_from_reference(var, "v")
        if self.amsgrad:
            for var in var_list:
                self.add_variable_from_reference(var, "vhat")

    @property
    def variables(self):
        # tf.keras order: iterations, then all m's, then all v's (then vhat's).
        out = [self.iterations]
        for name in ("m", "v", "vhat"):
            out.extend(self._slots[id(v)][name] for v in self._variables if name in self._slots.get(id(v), {}))
        return out

    def update_step(self, gradient, variable):
        step = int(self.iterations.data)
        b1, b2 = np.float32(self.beta_1), np.float32(self.beta_2)
        alpha = self._lr_now * np.sqrt(np.float32(1) - b2 ** np.float32(step)) / \
            (np.float32(1) - b1 ** np.float32(step))
        m, v = self.slot(variable, "m"), self.slot(variable, "v")
        scratch = gradient - m
        scratch *= np.float32(1) - b1
        m += scratch
        np.square(gradient, out=scratch)
        scratch -= v
        scratch *= np.float32(1) - b2
        v += scratch
        if self.amsgrad:
            vhat = self.slot(variable, "vhat")
            np.maximum(vhat, v, out=vhat)
            v = vhat
        np.sqrt(v, out=scratch)
        scratch += np.float32(self.epsilon)
        np.divide(m, scratch, out=scratch)
        scratch *= np.float32(alpha)
        variable.data -= scratch

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config
