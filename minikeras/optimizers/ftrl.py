"""FTRL-proximal (McMahan et al., 2013)."""
import numpy as np

from .base import Optimizer


class Ftrl(Optimizer):
    """Follow The Regularized Leader, as tf.keras >= 2.11 computes it (p = learning_rate_power,
    l2 = l2_regularization_strength + beta / (2 * learning_rate)):

        g' = g + 2 * l2_shrinkage_regularization_strength * w
        n' = n + g^2
        z += g' - (n'^-p - n^-p) / learning_rate * w
        w = (clip(z, -l1, l1) - z) / (n'^-p / learning_rate + 2 * l2);  n = n'

    Example:

        model.compile(optimizer=keras.optimizers.Ftrl(learning_rate=0.1), loss="mse")
    """

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True, name="Ftrl",
                 **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        for key, value, sign in (
                ("initial_accumulator_value", initial_accumulator_value, "positive or zero"),
                ("learning_rate_power", -learning_rate_power, "negative or zero"),
                ("l1_regularization_strength", l1_regularization_strength, "positive or zero"),
                ("l2_regularization_strength", l2_regularization_strength, "positive or zero"),
                ("l2_shrinkage_regularization_strength", l2_shrinkage_regularization_strength,
                 "positive or zero")):
            if value < 0.0:
                shown = -value if key == "learning_rate_power" else value
                raise ValueError(f"`{key}` needs to be {sign}. Received: {key}={shown}.")
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._accumulators, self._linears = [], []
        for var in var_list:
            self._accumulators.append(self.add_variable_from_reference(
                var, "accumulator",
                initial_value=np.full(var.shape, self.initial_accumulator_value, var.dtype)))
            self._linears.append(self.add_variable_from_reference(var, "linear"))

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        lr = self._step_lr
        hyper, two = self._hyperparameter_type(), lr.dtype.type(2)
        power = -hyper(self.learning_rate_power)
        l2 = hyper(self.l2_regularization_strength) + hyper(self.beta) / (two * lr)
        l1 = hyper(self.l1_regularization_strength)
        accumulator, linear = self._accumulators[index].data, self._linears[index].data
        w = variable.data
        grad_to_use = gradient + two * hyper(self.l2_shrinkage_regularization_strength) * w
        new_accumulator = accumulator + np.square(gradient)
        new_power = np.power(new_accumulator, power)
        linear += grad_to_use - (new_power - np.power(accumulator, power)) / lr * w
        quadratic = new_power / lr + two * l2
        np.copyto(w, (np.clip(linear, -l1, l1) - linear) / quadratic)
        np.copyto(accumulator, new_accumulator)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate": self._serialize_hyperparameter(self._learning_rate),
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta})
        return config
