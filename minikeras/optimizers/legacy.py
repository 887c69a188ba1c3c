"""`keras.optimizers.legacy`: the optimizers of tf.keras before 2.11 (OptimizerV2).

What differs from the current optimizers, as tf.keras' legacy classes behave:
- `decay=`: the learning rate of step t (counted from 0) is `lr / (1 + decay * t)` (Nadam
  ignores `decay=`, as tf.keras does: its momentum-schedule decay is `schedule_decay`, default
  0.004).
- Variables: `<Name>/iter:0` (as when first made by `fit`), then the slots named
  `<Name>/<variable>/<slot>:0`, created slot kind by slot kind (all `m`, then all `v` for
  Adam), except Ftrl (per variable). `variables()`, `weights` and `get_weights()` are empty
  until the optimizer is built or `iterations` is read (OptimizerV2 creates it then).
- Adagrad divides by `sqrt(accumulator) + epsilon`; RMSprop without momentum by
  `sqrt(rms) + epsilon`; Nadam keeps its momentum schedule product in `momentum_cache`.
- `get_config()` has `decay` and no weight-decay/EMA entries; hyperparameters are read back
  from their float32 variables.
"""
import numpy as np

from ..core import config as backend_config
from ..core.tensor import Variable, as_array
from . import adadelta, adagrad, adam, adamax, ftrl, nadam, rmsprop, schedules, sgd
from .base import CallableList, Optimizer, _shared_name

_ALLOWED_KWARGS = {"clipnorm", "clipvalue", "lr", "decay", "global_clipnorm"}


def _as_float32(value):
    return np.float32(value) if isinstance(value, (int, float)) and \
        not isinstance(value, bool) else value


class LegacyOptimizer:
    """Mixin giving a current optimizer class the OptimizerV2 behaviour listed above."""

    # Hyperparameters tf.keras 2.10 stores in float32 variables (read back rounded).
    _float32_hypers = ()
    # What OptimizerV2's sparse update (an Embedding's IndexedSlices gradient) leaves alone on
    # the rows not looked up: "all" (the weight and its slots: the ResourceSparseApply*
    # kernels), "variable" (slots decay everywhere, only looked-up rows move), or None (the
    # sparse update equals the dense one there).
    _sparse_rows_only = None

    def _init_legacy(self, name, kwargs):
        unknown = set(kwargs) - _ALLOWED_KWARGS
        if unknown:
            raise TypeError(f"Unexpected keyword argument passed to optimizer: "
                            f"{sorted(unknown)[0]}. Allowed kwargs are {sorted(_ALLOWED_KWARGS)}.")
        decay = kwargs.pop("decay", 0.0)
        if decay < 0.0:
            raise ValueError(f"decay cannot be less than 0. Received: decay={decay}.")
        self._initial_decay = decay
        clip = {key: kwargs.pop(key) for key in ("clipnorm", "clipvalue", "global_clipnorm")
                if key in kwargs}
        return clip

    def _finish_legacy_init(self, name):
        if getattr(self, "epsilon", 0.0) is None:   # Keras 2.x scripts pass `epsilon=None`
            self.epsilon = backend_config.epsilon()
        self.iterations = Variable(np.zeros((), np.int64), trainable=False, name=f"{name}/iter")
        self._hypers_read = False

    # OptimizerV2 keeps its hyperparameters as given until it first builds or `learning_rate`
    # (`lr`) is read; from then on they live in float32 variables, and `get_config()` gives
    # them back as NumPy float32 scalars.
    def _build_learning_rate(self, learning_rate):
        self._learning_rate_fn = None
        if callable(learning_rate) and self._deprecated_lr is None and \
                not isinstance(learning_rate, schedules.LearningRateSchedule):
            # OptimizerV2 calls a callable learning rate again at every step
            self._learning_rate_fn = learning_rate
            learning_rate = learning_rate()
        self._given_learning_rate = learning_rate if self._deprecated_lr is None \
            else self._deprecated_lr
        variable = super()._build_learning_rate(learning_rate)
        if isinstance(variable, Variable) and variable.data.dtype != np.float32:
            # OptimizerV2's hyperparameter variables are float32 whatever floatx is
            variable = Variable(np.asarray(variable.data, np.float32), trainable=False,
                                name="learning_rate")
        return variable

    def _compute_current_learning_rate(self):
        if getattr(self, "_learning_rate_fn", None) is not None:
            self._learning_rate.assign(np.asarray(as_array(self._learning_rate_fn()), np.float32))
        super()._compute_current_learning_rate()

    @property
    def _hypers_created(self):
        return self._built or self._hypers_read

    @property
    def learning_rate(self):
        self._hypers_read = True
        return Optimizer.learning_rate.fget(self)

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self._learning_rate_fn = None
        if not self._hypers_created:
            self._given_learning_rate = learning_rate
        Optimizer.learning_rate.fset(self, learning_rate)

    _iterations_read = False

    @property
    def iterations(self):
        self._iterations_read = True
        return self._iterations

    @iterations.setter
    def iterations(self, variable):
        Optimizer.iterations.fset(self, variable)

    @property
    def variables(self):
        listed = self._built or self._iterations_read
        return CallableList(v for v in self._variables if listed or v is not self._iterations)

    @property
    def weights(self):
        return self.variables

    def get_weights(self):
        return [np.array(v.data) for v in self.variables]

    @property
    def decay(self):
        return self._initial_decay

    def _hyperparameter_type(self):
        """OptimizerV2 reads a hyperparameter from its float32 variable and casts it to the
        variables' dtype."""
        return self._constant_types()[1]

    def _lr32(self):
        """`lr / (1 + decay * iterations)` in the variables' dtype, from the float32 learning
        rate and decay (both `tf.cast` through float32)."""
        dtype = self._compute_type()
        lr = dtype(np.float32(self.learning_rate.data))
        if self._initial_decay > 0:
            decay = dtype(np.float32(self._initial_decay))
            lr = lr / (dtype(1) + decay * dtype(self._step_count()))
        return lr

    def _one_minus(self, hyperparameter):
        """`1 - beta` as OptimizerV2 computes it: in the variables' dtype from the rounded
        hyperparameter (not the Python float `1 - beta` rounded once)."""
        exact, cast = self._constant_types()
        return exact(1) - cast(hyperparameter)

    def _slot(self, var, slot_name, initial_value=None):
        value = np.zeros(var.shape, var.dtype) if initial_value is None else \
            np.array(initial_value, var.dtype)
        variable = Variable(value, trainable=False,
                            name=f"{self.name}/{_shared_name(var)}/{slot_name}")
        self._variables.append(variable)
        self.__dict__.setdefault("_slots_of", {}).setdefault(id(var), []).append(variable)
        return variable

    def _state_kept_on_rows_not_looked_up(self, variable):
        if self._sparse_rows_only == "all":
            return [variable] + self.__dict__.get("_slots_of", {}).get(id(variable), [])
        if self._sparse_rows_only == "variable":
            return [variable]
        return ()

    def _add_slots(self, attribute, var_list, slot_name, initial_value=None):
        """Append one `slot_name` slot per variable to the list `self.<attribute>` (created
        empty on the first build); `initial_value(var)` gives a slot's start value."""
        slots = self.__dict__.setdefault(attribute, [])
        for var in var_list:
            start = None if initial_value is None else initial_value(var)
            slots.append(self._slot(var, slot_name, start))

    def _begin_build(self, var_list):
        """The variables of `var_list` that still need their slots: all of them on the first
        build; later only those the optimizer has not seen. OptimizerV2 creates slots lazily
        for any variable it is given, so one legacy optimizer can train several models (the
        Keras 2 GANs compile a discriminator and the combined model with the same instance);
        new variables are indexed after the known ones, their slots appended likewise."""
        if not self._built:
            Optimizer.build(self, var_list)
            self._built = True
            return list(var_list)
        new = [var for var in var_list if id(var) not in self._index_dict]
        for var in new:
            self._index_dict[id(var)] = len(self._var_list)
            self._var_list.append(var)
        return new

    def minimize(self, loss, var_list, grad_loss=None, name=None, tape=None):
        """OptimizerV2's: returns what `apply_gradients` does, the `iterations` variable
        (`opt.minimize(loss, [v]).numpy()` is the step count)."""
        if grad_loss is not None:
            raise NotImplementedError("minimize(grad_loss=...) is not supported by minikeras.")
        return self.apply_gradients(self.compute_gradients(loss, var_list, tape))

    def apply_gradients(self, grads_and_vars, *args, **kwargs):
        grads_and_vars = list(grads_and_vars)
        if self._built:
            self.build([var for grad, var in grads_and_vars if grad is not None])
        return super().apply_gradients(grads_and_vars, *args, **kwargs)

    def get_config(self):
        created = self._hypers_created
        learning_rate = self._learning_rate if created or isinstance(
            self._learning_rate, schedules.LearningRateSchedule) else self._given_learning_rate
        config = {"name": self.name}
        # tf.keras' order: the base class's name and clipping, then the subclass's entries
        for key in ("clipnorm", "clipvalue", "global_clipnorm"):
            if getattr(self, key, None) is not None:
                config[key] = getattr(self, key)
        config.update(learning_rate=self._serialize_hyperparameter(learning_rate),
                      decay=self._initial_decay)
        for key in self._legacy_config_keys:
            value = getattr(self, key)
            config[key] = _as_float32(value) if created and key in self._float32_hypers \
                else value
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config.pop("is_legacy_optimizer", None)
        if "lr" in config:
            config["learning_rate"] = config.pop("lr")
        return super().from_config(config, custom_objects)


class SGD(LegacyOptimizer, sgd.SGD):
    """Gradient descent with momentum and `decay` (tf.keras < 2.11)."""

    _legacy_config_keys = ("momentum", "nesterov")
    _float32_hypers = ("momentum",)

    @property
    def _sparse_rows_only(self):
        return "all" if self.momentum else None   # without momentum: a plain scatter-add

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov,
                         name=name, **clip, **kwargs)
        self._finish_legacy_init(name)

    def build(self, var_list):
        new = self._begin_build(var_list)
        self._add_slots("momentums", new if self.momentum else [], "momentum")


class RMSprop(LegacyOptimizer, rmsprop.RMSprop):
    """RMSprop with `decay` (tf.keras < 2.11): without momentum the step is
    `lr * g / (sqrt(rms) + epsilon)`."""

    _legacy_config_keys = ("rho", "momentum", "epsilon", "centered")
    _float32_hypers = ("rho", "momentum")

    @property
    def _sparse_rows_only(self):
        return "all" if self.momentum > 0 else None   # without momentum: dense-equivalent

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 name="RMSprop", **kwargs):
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=momentum,
                         epsilon=epsilon, centered=centered, name=name, **clip, **kwargs)
        self._finish_legacy_init(name)

    def _prepare_step(self):
        exact, cast = self._constant_types()
        self._constants = (cast(self.rho), self._one_minus(self.rho), exact(self.epsilon),
                           cast(self.momentum))

    def build(self, var_list):
        new = self._begin_build(var_list)
        self._add_slots("_velocities", new, "rms")
        self._add_slots("_momentums", new if self.momentum > 0 else [], "momentum")
        self._add_slots("_average_gradients", new if self.centered else [], "mg")

    def update_step(self, gradient, variable):
        if self.momentum > 0:
            return super().update_step(gradient, variable)
        index = self._var_index(variable)
        rho, keep, epsilon, _ = self._constants
        rms = self._velocities[index].data
        rms *= rho
        rms += np.square(gradient) * keep
        denominator = rms
        if self.centered:
            average = self._average_gradients[index].data
            average *= rho
            average += gradient * keep
            denominator = rms - np.square(average)
        variable.data -= self._step_lr * gradient / (np.sqrt(denominator) + epsilon)
        return None


class Adagrad(LegacyOptimizer, adagrad.Adagrad):
    """Adagrad with `decay` (tf.keras < 2.11): `w -= lr * g / (sqrt(accumulator) + eps)`."""

    _legacy_config_keys = ("initial_accumulator_value", "epsilon")

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 name="Adagrad", **kwargs):
        if initial_accumulator_value < 0.0:
            raise ValueError("initial_accumulator_value must be non-negative: "
                             f"{initial_accumulator_value}")
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate,
                         initial_accumulator_value=initial_accumulator_value, epsilon=epsilon,
                         name=name, **clip, **kwargs)
        self._finish_legacy_init(name)

    def build(self, var_list):
        self._add_slots("_accumulators", self._begin_build(var_list), "accumulator",
                        lambda var: np.full(var.shape, self.initial_accumulator_value))

    def update_step(self, gradient, variable):
        accumulator = self._accumulators[self._var_index(variable)].data
        accumulator += np.square(gradient)
        epsilon = self._constant_types()[0](self.epsilon)
        variable.data -= self._step_lr * gradient / (np.sqrt(accumulator) + epsilon)


class Adadelta(LegacyOptimizer, adadelta.Adadelta):
    """Adadelta with `decay` (tf.keras < 2.11)."""

    _sparse_rows_only = "all"
    _legacy_config_keys = ("rho", "epsilon")
    _float32_hypers = ("rho",)

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, name="Adadelta", **kwargs):
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate, rho=rho, epsilon=epsilon, name=name,
                         **clip, **kwargs)
        self._finish_legacy_init(name)

    def _adadelta_constants(self):
        """The ResourceApplyAdadelta kernel's: rho cast, `1 - rho` in the variables' dtype."""
        return (self._hyperparameter_type()(self.rho), self._one_minus(self.rho),
                self._constant_types()[0](self.epsilon))

    def build(self, var_list):
        new = self._begin_build(var_list)
        self._add_slots("_accumulated_grads", new, "accum_grad")
        self._add_slots("_accumulated_delta_vars", new, "accum_var")


class Adam(LegacyOptimizer, adam.Adam):
    """Adam (with AMSGrad) and `decay` (tf.keras < 2.11); slots all `m`, then all `v`."""

    _legacy_config_keys = ("beta_1", "beta_2", "epsilon", "amsgrad")
    _float32_hypers = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 name="Adam", **kwargs):
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, amsgrad=amsgrad, name=name, **clip, **kwargs)
        self._finish_legacy_init(name)

    def _prepare_step(self):
        """As the current Adam, except that the moment decays are `1 - beta` computed in
        float32 from the float32 betas (OptimizerV2 keeps them in float32 tensors), so that
        they agree with `beta ** t` in the bias correction."""
        super()._prepare_step()
        _, _, epsilon, alpha = self._constants
        self._constants = (self._one_minus(self.beta_1), self._one_minus(self.beta_2), epsilon,
                           alpha)

    def build(self, var_list):
        new = self._begin_build(var_list)
        self._add_slots("_momentums", new, "m")
        self._add_slots("_velocities", new, "v")
        if self.amsgrad:
            self._add_slots("_velocity_hats", new, "vhat")


class Adamax(LegacyOptimizer, adamax.Adamax):
    """Adamax with `decay` (tf.keras < 2.11)."""

    _sparse_rows_only = "all"
    _legacy_config_keys = ("beta_1", "beta_2", "epsilon")
    _float32_hypers = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 name="Adamax", **kwargs):
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, name=name, **clip, **kwargs)
        self._finish_legacy_init(name)

    def _first_moment_decay(self):
        """OptimizerV2 computes `1 - beta_1` from the float32 beta_1."""
        return self._one_minus(self.beta_1)

    def build(self, var_list):
        new = self._begin_build(var_list)
        self._add_slots("_m", new, "m")
        self._add_slots("_u", new, "v")


class Nadam(LegacyOptimizer, nadam.Nadam):
    """Nadam of tf.keras < 2.11: `momentum_cache` holds the product of the momentum schedule
    `mu_t = beta_1 * (1 - 0.5 * 0.96^(decay * t))` (decay defaults to 0.004), multiplied once
    per step; the learning rate is not decayed."""

    _sparse_rows_only = "variable"
    _legacy_config_keys = ("beta_1", "beta_2", "epsilon")
    _float32_hypers = ("beta_1", "beta_2")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, name="Nadam",
                 **kwargs):
        # as tf.keras: `decay=` is overwritten by `schedule_decay` (default 0.004), not used
        kwargs["decay"] = kwargs.pop("schedule_decay", 0.004)
        if isinstance(kwargs.get("lr", learning_rate), schedules.LearningRateSchedule):
            raise ValueError("The Nadam optimizer does not support "
                             "tf.keras.optimizers.LearningRateSchedules as the learning rate.")
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, name=name, **clip, **kwargs)
        self._finish_legacy_init(name)

    def _lr32(self):
        return self._compute_type()(np.float32(self.learning_rate.data))

    def build(self, var_list):
        first = not self._built
        new = self._begin_build(var_list)
        if first:
            self._momentum_cache = Variable(np.ones((), var_list[0].dtype), trainable=False,
                                            name=f"{self.name}/momentum_cache")
            self._variables.append(self._momentum_cache)
        self._add_slots("_momentums", new, "m")
        self._add_slots("_velocities", new, "v")

    def _prepare_step(self):
        # in the variables' dtype: beta_1 and 0.96 cast through float32, the decay and the
        # other Python floats multiplied in
        exact, cast = self._constant_types()
        beta_1, decay, one, half = cast(self.beta_1), exact(self._initial_decay), exact(1), \
            exact(0.5)
        step = exact(self._step_count() + 1)
        base = cast(0.96)
        self._mu_t = beta_1 * (one - half * base ** (decay * step))
        self._mu_next = beta_1 * (one - half * base ** (decay * (step + one)))
        schedule = self._momentum_cache.data * self._mu_t
        self._momentum_cache.assign(schedule)
        self._schedule_new = schedule
        self._schedule_next = schedule * self._mu_next
        self._v_denominator = one - cast(self.beta_2) ** step

    def update_step(self, gradient, variable):
        index = self._var_index(variable)
        exact, cast = self._constant_types()
        one, beta_1, beta_2 = exact(1), cast(self.beta_1), cast(self.beta_2)
        m, v = self._momentums[index].data, self._velocities[index].data
        g_prime = gradient / (one - self._schedule_new)
        m *= beta_1
        m += (one - beta_1) * gradient
        m_prime = m / (one - self._schedule_next)
        v *= beta_2
        v += (one - beta_2) * np.square(gradient)
        v_prime = v / self._v_denominator
        m_bar = (one - self._mu_t) * g_prime + self._mu_next * m_prime
        variable.data -= self._step_lr * m_bar / (np.sqrt(v_prime) + exact(self.epsilon))


class Ftrl(LegacyOptimizer, ftrl.Ftrl):
    """Ftrl with `decay` (tf.keras < 2.11)."""

    _sparse_rows_only = "all"
    _legacy_config_keys = ("initial_accumulator_value", "learning_rate_power",
                           "l1_regularization_strength", "l2_regularization_strength", "beta",
                           "l2_shrinkage_regularization_strength")
    _float32_hypers = ("learning_rate_power", "l1_regularization_strength",
                       "l2_regularization_strength", "beta")

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5,
                 initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                 l2_regularization_strength=0.0, name="Ftrl",
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, **kwargs):
        clip = self._init_legacy(name, kwargs)
        super().__init__(learning_rate=learning_rate, learning_rate_power=learning_rate_power,
                         initial_accumulator_value=initial_accumulator_value,
                         l1_regularization_strength=l1_regularization_strength,
                         l2_regularization_strength=l2_regularization_strength,
                         l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength,
                         beta=beta, name=name, **clip, **kwargs)
        self._finish_legacy_init(name)

    def build(self, var_list):
        for var in self._begin_build(var_list):   # per variable: accumulator, then linear
            self._add_slots("_accumulators", [var], "accumulator",
                            lambda var: np.full(var.shape, self.initial_accumulator_value))
            self._add_slots("_linears", [var], "linear")


__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "Adamax", "Nadam",
           "Ftrl"]
