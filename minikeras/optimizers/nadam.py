"""Nadam: Adam with Nesterov momentum (Dozat's momentum schedule)."""
import numpy as np

from .base import Optimizer


class Nadam(Optimizer):
    """As tf.keras >= 2.11 computes it, with t = iterations + 1:

        u_t = beta_1 * (1 - 0.5 * 0.96^t);  u_{t+1} = beta_1 * (1 - 0.5 * 0.96^(t+1))
        prod_t = u_1 * ... * u_t   (the shared `u_product`; see below)
        m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
        m_hat = u_{t+1} * m / (1 - prod_t * u_{t+1}) + (1 - u_t) * g / (1 - prod_t)
        v_hat = v / (1 - beta_2^t)
        w -= learning_rate * m_hat / (sqrt(v_hat) + epsilon)

    Departure from textbook Nadam, kept on purpose because it is what tf.keras trains with:
    tf.keras multiplies `u_product` by `u_t` unless a Python counter equals
    `iterations + 2`, and advances that counter only when the multiplication runs. Called
    eagerly (`apply_gradients` directly, or `compile(run_eagerly=True)`) that gives the
    textbook product, one factor per step. Inside `fit` / `train_on_batch` the step is traced
    by tf.function: the counter moves only while tracing (by one per variable), so each
    variable's check compares a constant frozen at trace time, and the product is multiplied
    once per *variable* per step. The first trace creates the optimizer's variables, so
    tf.function traces twice; a new input shape (a smaller last batch) traces again. Model
    reproduces this by telling the optimizer which (emulated) trace runs
    (`trace_train_function`).

    Example:

        model.compile(optimizer=keras.optimizers.Nadam(learning_rate=1e-3), loss="mse")
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 name="Nadam", **kwargs):
        super().__init__(name=name, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         jit_compile=jit_compile, **kwargs)
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self._u_product_counter = 1

    def build(self, var_list):
        super().build(var_list)
        if self._built:
            return
        self._built = True
        self._momentums, self._velocities = [], []
        # The running product of the u_t: a float32 scalar, not saved with the slots (as in
        # tf.keras).
        self._u_product = np.float32(1)
        for var in var_list:
            self._momentums.append(self.add_variable_from_reference(var, "m"))
            self._velocities.append(self.add_variable_from_reference(var, "v"))

    def _prepare_step(self):
        step = self._step_count() + 1
        exact, cast = self._constant_types()
        decay, beta_1, half, one = cast(0.96), cast(self.beta_1), exact(0.5), exact(1)
        self._u_t = beta_1 * (one - half * decay ** exact(step))
        self._u_next = beta_1 * (one - half * decay ** exact(step + 1))
        self._beta_2_power = cast(self.beta_2) ** exact(step)
        # tf.keras' `1 - beta` of the cast betas, and its epsilon added as a Python float.
        self._keeps = (one - cast(self.beta_1), one - cast(self.beta_2), exact(self.epsilon))
        self._position = 0

    def trace_train_function(self, variable_count):
        """The counter values frozen into a traced train step, one per variable (in
        `apply_gradients` order); the counter moves by `variable_count` per trace, twice when
        the trace is the one creating the optimizer's variables."""
        if not self._built:
            self._u_product_counter = 1 + variable_count     # the discarded first trace
        constants = [self._u_product_counter + i for i in range(variable_count)]
        self._u_product_counter += variable_count
        return constants

    def _advance_u_product(self):
        """Multiply the shared product by u_t unless tf.keras' cache check says it is done."""
        step_check = self._step_count() + 2
        if self._active_trace is not None:
            cached = self._active_trace[self._position] == step_check
        else:
            cached = self._u_product_counter == step_check
            if not cached:
                self._u_product_counter += 1
        self._position += 1
        if not cached:
            self._u_product = self._u_product * self._u_t
        return self._u_product

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        u_t, u_next, beta_2_power = self._u_t, self._u_next, self._beta_2_power
        product = self._advance_u_product()
        product_next = product * u_next
        one = np.asarray(1, self._u_t.dtype)[()]
        keep_1, keep_2, epsilon = self._keeps
        m, v = self._momentums[index].data, self._velocities[index].data
        scratch, m_hat = self._scratch_for(variable, 2)
        np.subtract(gradient, m, out=scratch)
        scratch *= keep_1
        m += scratch
        np.square(gradient, out=scratch)
        scratch -= v
        scratch *= keep_2
        v += scratch
        np.multiply(m, u_next, out=m_hat)
        m_hat /= one - product_next
        np.multiply(gradient, one - u_t, out=scratch)
        scratch /= one - product
        m_hat += scratch
        m_hat *= self._step_lr
        np.divide(v, one - beta_2_power, out=scratch)
        np.sqrt(scratch, out=scratch)
        scratch += epsilon
        m_hat /= scratch
        variable.data -= m_hat

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
