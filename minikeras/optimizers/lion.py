"""Lion: the sign of an interpolated momentum (Chen et al., 2023)."""
import numpy as np

from .base import Optimizer


class Lion(Optimizer):
    """As tf.keras computes it:

        w -= learning_rate * sign(beta_1 * m + (1 - beta_1) * g)
        m = beta_2 * m + (1 - beta_2) * g

    Example:

        model.compile(optimizer=keras.optimizers.Lion(learning_rate=1e-4), loss="mse")
    """

    def __init__(self, learning_rate=0.0001, beta_1=0.9, beta_2=0.99, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True, name="Lion",
                 **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        if beta_1 <= 0 or beta_1 > 1:
            raise ValueError(f"`beta_1`={beta_1} must be between ]0, 1]. Otherwise, the "
                             "optimizer degenerates to SignSGD.")

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self.momentums = [self.add_variable_from_reference(var, "m") for var in var_list]

    def update_step(self, gradient, variable):
        m = self.momentums[self._var_index(variable)].data
        exact, cast = self._constant_types()
        beta_1, beta_2, one = cast(self.beta_1), cast(self.beta_2), exact(1)
        direction = m * beta_1 + gradient * (one - beta_1)
        variable.data -= self._step_lr * np.sign(direction)
        m *= beta_2
        m += gradient * (one - beta_2)

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
