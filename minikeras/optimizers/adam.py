"""Adam (with AMSGrad) and AdamW, as tf.keras >= 2.11 implements them."""
import numpy as np

from .base import Optimizer


class Adam(Optimizer):
    """Adaptive moment estimation:

        m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
        vhat = max(vhat, v)                                            (amsgrad only)
        alpha = learning_rate * sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w -= m * alpha / (sqrt(v or vhat) + epsilon)

    Example:

        model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 name="Adam", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._momentums, self._velocities = [], []
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(var, "m"))
            self._velocities.append(self.add_variable_from_reference(var, "v"))
        if self.amsgrad:
            self._velocity_hats = [self.add_variable_from_reference(var, "vhat")
                                   for var in var_list]

    def _prepare_step(self):
        """float32 constants of this step; alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t).
        With a float64 learning rate (floatx float64) they are float64 as tf.keras makes them:
        the betas `tf.cast` from Python floats (rounded to float32 first), `1 - beta` and
        epsilon multiplied in as Python floats (exact)."""
        fixed = self._fixed_constants()
        exact, beta_1, beta_2, one = fixed[3:]
        step = exact(self._step_count() + 1)
        alpha = self._step_lr * np.sqrt(one - beta_2 ** step) / (one - beta_1 ** step)
        self._constants = fixed[:3] + (alpha,)

    def _fixed_constants(self):
        """(1 - beta_1, 1 - beta_2, epsilon, exact, beta_1, beta_2, one) as `_prepare_step`
        uses them, kept while the hyperparameters and the learning rate's dtype stay the
        same (made afresh they cost a few microseconds a step)."""
        key = (self.beta_1, self.beta_2, self.epsilon, self._step_lr.dtype)
        plain = all(type(value) in (float, int) for value in key[:3])
        kept = self.__dict__.get("_fixed_constants_kept")
        if plain and kept is not None and kept[0] == key:
            return kept[1]
        exact, cast = self._constant_types()
        fixed = (exact(1 - self.beta_1), exact(1 - self.beta_2), exact(self.epsilon), exact,
                 cast(self.beta_1), cast(self.beta_2), exact(1))
        self._fixed_constants_kept = (key, fixed) if plain else None
        return fixed

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        slots = (self._momentums[index].data, self._velocities[index].data)
        if self.amsgrad:
            slots += (self._velocity_hats[index].data,)
        self._update_in_halves(self._update_arrays, gradient, variable, *slots, scratches=2)

    def _update_arrays(self, scratch, step, gradient, weights, m, v, vhat=None):
        keep_1, keep_2, epsilon, alpha = self._constants
        np.subtract(gradient, m, out=scratch)
        scratch *= keep_1
        m += scratch
        np.square(gradient, out=scratch)
        scratch -= v
        scratch *= keep_2
        v += scratch
        if vhat is not None:
            np.maximum(vhat, v, out=vhat)
            v = vhat
        np.sqrt(v, out=scratch)
        scratch += epsilon
        # tf.keras' rounding: (m * alpha) / denominator, each product rounded to float32
        np.multiply(m, alpha, out=step)
        step /= scratch
        weights -= step

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "amsgrad": self.amsgrad})
        return config


class AdamW(Adam):
    """Adam with decoupled weight decay: before each Adam step,
    `w -= w * weight_decay * learning_rate` (Loshchilov & Hutter).

    Example:

        opt = keras.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.004)
    """

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 name="AdamW", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, name=name, **kwargs)
        self.weight_decay = weight_decay
        if self.weight_decay is None:
            raise ValueError("Missing value of `weight_decay` which is required and must be a "
                             "float value.")
