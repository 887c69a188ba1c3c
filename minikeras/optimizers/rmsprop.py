"""RMSprop (plain momentum, optionally centered)."""
import numpy as np

from .base import Optimizer


class RMSprop(Optimizer):
    """Divide the gradient by a running root mean square, as tf.keras >= 2.11 computes it:

        v = rho * v + (1 - rho) * g^2
        a = rho * a + (1 - rho) * g                         (centered only)
        increment = learning_rate * g / sqrt(v [- a^2] + epsilon)
        m = momentum * m + increment; w -= m                (momentum > 0)
        w -= increment                                      (otherwise)

    Example:

        model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=0.01), loss="mse")
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=100, jit_compile=True,
                 name="RMSprop", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._velocities = [self.add_variable_from_reference(v, "velocity") for v in var_list]
        self._momentums = [self.add_variable_from_reference(v, "momentum") for v in var_list] \
            if self.momentum > 0 else []
        self._average_gradients = [self.add_variable_from_reference(v, "average_gradient")
                                   for v in var_list] if self.centered else []

    def _prepare_step(self):
        # tf.keras multiplies the Python floats in: exact in float64, rounded in float32.
        exact, _ = self._constant_types()
        self._constants = (exact(self.rho), exact(1 - self.rho), exact(self.epsilon),
                           exact(self.momentum))

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        rho, keep, epsilon, momentum_rate = self._constants
        velocity = self._velocities[index].data
        increment, scratch = self._scratch_for(variable, 2)
        np.square(gradient, out=scratch)
        scratch *= keep
        velocity *= rho
        velocity += scratch
        if self.centered:
            average = self._average_gradients[index].data
            average *= rho
            np.multiply(gradient, keep, out=scratch)
            average += scratch
            np.square(average, out=scratch)
            np.subtract(velocity, scratch, out=scratch)
            scratch += epsilon
        else:
            np.add(velocity, epsilon, out=scratch)
        np.sqrt(scratch, out=scratch)
        np.multiply(gradient, self._step_lr, out=increment)
        increment /= scratch
        if self.momentum > 0:
            momentum = self._momentums[index].data
            momentum *= momentum_rate
            momentum += increment
            variable.data -= momentum
        else:
            variable.data -= increment

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                       "centered": self.centered})
        return config
