"""Adagrad: per-parameter learning rates from the sum of squared gradients."""
import numpy as np

from .base import Optimizer


class Adagrad(Optimizer):
    """`accumulator += g^2; w -= learning_rate * g / sqrt(accumulator + epsilon)`, the
    accumulator starting at `initial_accumulator_value`.

    Example:

        model.compile(optimizer=keras.optimizers.Adagrad(learning_rate=0.01), loss="mse")
    """

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 name="Adagrad", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._accumulators = [
            self.add_variable_from_reference(
                var, "accumulator",
                initial_value=np.full(var.shape, self.initial_accumulator_value, var.dtype))
            for var in var_list]

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        accumulator = self._accumulators[index].data
        step, denominator = self._scratch_for(variable, 2)
        np.square(gradient, out=step)
        accumulator += step
        np.add(accumulator, self._constant_types()[0](self.epsilon), out=denominator)
        np.sqrt(denominator, out=denominator)
        np.multiply(gradient, self._step_lr, out=step)
        step /= denominator
        variable.data -= step

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "initial_accumulator_value": self.initial_accumulator_value,
                       "epsilon": self.epsilon})
        return config
