"""Stochastic gradient descent with optional (Nesterov) momentum."""
import numpy as np

from .base import Optimizer, f32


class SGD(Optimizer):
    """Gradient descent (with momentum), as tf.keras >= 2.11 computes it:

        m = momentum * m - learning_rate * g
        w = w + m                                   (nesterov=False)
        w = w + momentum * m - learning_rate * g    (nesterov=True)

    Example:

        opt = keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)
        model.compile(optimizer=opt, loss="mse")
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True, name="SGD",
                 **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.momentum = momentum
        self.nesterov = nesterov
        if isinstance(momentum, (int, float)) and (momentum < 0 or momentum > 1):
            raise ValueError("`momentum` must be between [0, 1].")

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        # tf.keras keeps a momentum slot `m` for every variable, even with momentum=0.
        self.momentums = [self.add_variable_from_reference(var, "m") for var in var_list]

    def _prepare_step(self):
        self._momentum32 = f32(self.momentum)

    def update_step(self, gradient, variable):
        if not self.momentum and not self.momentums:    # legacy SGD: no slot
            self._update_in_halves(self._plain_update, gradient, variable)
            return
        m = self.momentums[self._var_index(variable)].data
        if not self.momentum:
            self._update_in_halves(self._plain_update_kept, gradient, variable, m)
            return
        self._update_in_halves(self._momentum_update, gradient, variable, m)

    def _plain_update(self, step, gradient, weights):
        np.multiply(gradient, -self._step_lr, out=step)
        weights += step

    def _plain_update_kept(self, step, gradient, weights, m):
        # tf.keras stores m = -g * lr even with momentum=0 (optimizer.variables(), saved
        # files show it): m is the step's buffer, so this costs no extra pass
        np.multiply(gradient, -self._step_lr, out=m)
        weights += m

    def _momentum_update(self, step, gradient, weights, m):
        np.multiply(gradient, -self._step_lr, out=step)
        momentum = self._momentum32
        m *= momentum
        m += step
        if self.nesterov:
            step += m * momentum
            weights += step
        else:
            weights += m

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "momentum": self.momentum, "nesterov": self.nesterov})
        return config
