"""The optimizer base class (the tf.keras >= 2.11 optimizer semantics)."""
import numpy as np

from ..backend.tensor import Variable, Tensor
from ..ops.math import as_array

# Optimizer slots decaying below this are flushed to zero: NumPy slows down badly on
# denormal floats, which TensorFlow flushes in hardware.
_DENORMAL_FLOOR = np.float32(1e-30)
_FLUSH_EVERY = 64


class Optimizer:
    """Base class. Subclasses implement `build(var_list)` (create slots) and
    `update_step(gradient, variable)` (one in-place update with NumPy)."""

    def __init__(self, name, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, jit_compile=True, **kwargs):
        learning_rate = kwargs.pop("lr", None)
        for key in ("decay",):
            if kwargs.pop(key, None):
                raise ValueError(f"`{key}` is deprecated in the new Keras optimizer, please check "
                                 "the docstring for valid arguments, or use the legacy optimizer, "
                                 "e.g., tf.keras.optimizers.legacy.SGD.")
        if kwargs:
            raise TypeError(f"{kwargs.keys()} are not valid arguments for optimizer {name}")
        if use_ema:
            raise NotImplementedError("use_ema=True is not supported by minikeras optimizers.")
        if sum(x is not None for x in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.jit_compile = False  # no XLA here; tf.keras on CPU reports False as well
        self.iterations = Variable(np.zeros((), np.int64), trainable=False, name="iteration")
        self._variables = []
        self._slots = {}            # id(variable) -> dict of slot arrays
        self._built = False
        self._pending_lr = learning_rate

    def _set_initial_lr(self, learning_rate):
        if self._pending_lr is not None:
            learning_rate = self._pending_lr
        self._pending_lr = None
        self._learning_rate = self._build_lr(learning_rate)

    def _build_lr(self, learning_rate):
        from .schedules import LearningRateSchedule
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            return learning_rate
        return Variable(np.asarray(learning_rate, np.float32), trainable=False, name="learning_rate")

    # --- learning rate --------------------------------------------------------------------
    @property
    def learning_rate(self):
        if isinstance(self._learning_rate, Variable):
            return self._learning_rate
        return self._learning_rate(int(self.iterations.data))

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(self._learning_rate, Variable) and not callable(value):
            self._learning_rate.assign(np.float32(as_array(value)))
        else:
            self._learning_rate = self._build_lr(value)

    lr = learning_rate

    def _current_lr(self):
        """The learning rate for this step as a float32 scalar."""
        if isinstance(self._learning_rate, Variable):
            return np.float32(self._learning_rate.data)
        return np.float32(as_array(self._learning_rate(int(self.iterations.data))))

    # --- slots ----------------------------------------------------------------------------
    def build(self, var_list):
        self._built = True

    def add_variable_from_reference(self, variable, name, initial_value=None):
        slots = self._slots.setdefault(id(variable), {})
        value = np.zeros_like(variable.data) if initial_value is None else \
            np.array(initial_value, dtype=variable.dtype)
        slot = Variable(value, trainable=False, name=f"{name}/{variable._handle_name}")
        slots[name] = slot
        return slot

    def slot(self, variable, name):
        return self._slots[id(variable)][name].data

    @property
    def variables(self):
        """`[iterations, slot, slot, ...]` in variable order (tf.keras' save order)."""
        out = [self.iterations]
        for var in self._variables:
            out.extend(self._slots.get(id(var), {}).values())
        return out

    def get_weights(self):
        return [np.array(v.data) for v in self.variables]

    def set_weights(self, weights):
        params = self.variables
        if len(params) != len(weights):
            raise ValueError(f"Optimizer weights mismatch: expected {len(params)} arrays, got "
                             f"{len(weights)}.")
        for param, value in zip(params, weights):
            param.assign(value)

    # --- applying gradients -------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False, **kwargs):
        pairs = [(g, v) for g, v in grads_and_vars if g is not None]
        if not pairs:
            raise ValueError("No gradients provided for any variable.")
        grads = [np.asarray(as_array(g)) for g, _ in pairs]
        variables = [v for _, v in pairs]
        if not self._built:
            self._variables = list(variables)
            self.build(self._variables)
            self._built = True
        else:
            known = {id(v) for v in self._variables}
            new = [v for v in variables if id(v) not in known]
            if new:
                self._variables.extend(new)
                self.build(new)
        grads = self._clip(grads)
        lr = self._current_lr()
        self.iterations.data += 1
        if self.weight_decay:
            decay = np.float32(self.weight_decay) * lr
            for var in variables:
                if not getattr(self, "_exclude_from_decay", lambda v: False)(var):
                    var.data -= var.data * decay
        self._lr_now = lr
        for grad, var in zip(grads, variables):
            if grad.dtype != var.dtype:
                grad = grad.astype(var.dtype)
            self.update_step(grad, var)
            if var.constraint is not None:
                var.assign(var.constraint(var))
        if int(self.iterations.data) % _FLUSH_EVERY == 0:
            self._flush_denormals()
        return self.iterations

    def minimize(self, loss, var_list, tape=None):
        from ..backend.tensor import GradientTape
        if tape is None:
            if not callable(loss):
                raise ValueError("`tape` is required when a `Tensor` loss is passed.")
            with GradientTape() as tape:
                value = loss()
        else:
            value = loss
        var_list = var_list() if callable(var_list) else var_list
        grads = tape.gradient(value, var_list)
        return self.apply_gradients(zip(grads, var_list))

    def _clip(self, grads):
        if self.clipvalue is not None:
            limit = np.float32(self.clipvalue)
            grads = [np.clip(g, -limit, limit) for g in grads]
        if self.clipnorm is not None:
            limit = np.float32(self.clipnorm)
            clipped = []
            for g in grads:
                norm = np.sqrt(np.sum(np.square(g, dtype=np.float32)))
                clipped.append(g * (limit / np.maximum(norm, limit)) if norm > limit else g)
            grads = clipped
        if self.global_clipnorm is not None:
            norm = np.sqrt(sum(np.sum(np.square(g, dtype=np.float32)) for g in grads))
            limit = np.float32(self.global_clipnorm)
            if norm > limit:
                grads = [g * (limit / norm) for g in grads]
        return grads

    def _flush_denormals(self):
        for slots in self._slots.values():
            for slot in slots.values():
                if slot.data.dtype.kind == "f":
                    tiny = np.abs(slot.data) < _DENORMAL_FLOOR
                    slot.data[tiny] = 0

    def update_step(self, gradient, variable):
        raise NotImplementedError

    # --- config ----------------------------------------------------------------------------
    def _serialize_hyperparameter(self, value):
        from .schedules import LearningRateSchedule, serialize
        if isinstance(value, LearningRateSchedule):
            return serialize(value)
        if isinstance(value, Variable):
            return float(value.data)
        if isinstance(value, Tensor):
            return float(value.data)
        return value

    def get_config(self):
        return {"name": self.name, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "jit_compile": self.jit_compile, "is_legacy_optimizer": False,
                "learning_rate": self._serialize_hyperparameter(self._learning_rate)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config.pop("is_legacy_optimizer", None)
        lr = config.get("learning_rate")
        if isinstance(lr, dict):
            from .schedules import deserialize
            config["learning_rate"] = deserialize(lr, custom_objects=custom_objects)
        return cls(**config)
