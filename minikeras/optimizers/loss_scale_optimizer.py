"""`keras.mixed_precision.LossScaleOptimizer`: loss scaling for float16 training, as
tf_keras 2.21's LossScaleOptimizerV3 does it.

The loss is multiplied by the loss scale before the gradients are taken (so small float16
gradients do not underflow) and the gradients divided by it after. A dynamic scale starts at
2**15, doubles after `dynamic_growth_steps` (2000) steps in a row with finite gradients, and
halves (not below 1) on a step with an inf or NaN gradient, whose update is skipped (the
inner optimizer's `iterations` still counts it).

Example:

    opt = keras.mixed_precision.LossScaleOptimizer(keras.optimizers.SGD(0.1))
    with tf.GradientTape() as tape:
        loss = loss_fn(y, model(x))
        scaled = opt.get_scaled_loss(loss)
    grads = opt.get_unscaled_gradients(tape.gradient(scaled, model.trainable_variables))
    opt.apply_gradients(zip(grads, model.trainable_variables))
"""
import numpy as np

from ..core.tensor import GradientTape, Tensor, Variable, as_array, unwrap
from .base import Optimizer
from .legacy import LegacyOptimizer

_DEFAULT_INITIAL_SCALE = 2 ** 15
_DEFAULT_GROWTH_STEPS = 2000
_MULTIPLIER = 2.0
# `keras.optimizers.serialize` / `deserialize`, set by that package (which imports this module)
INNER_CODEC = {}


class LossScaleOptimizer(Optimizer):
    """Wraps `inner_optimizer` with loss scaling (dynamic by default). As in tf_keras, an
    optimizer of the current API gets the subclass LossScaleOptimizerV3 (the class name its
    `.h5` training configs write), a legacy one this class."""

    def __new__(cls, inner_optimizer=None, *args, **kwargs):
        if cls is LossScaleOptimizer and not isinstance(inner_optimizer, LegacyOptimizer):
            cls = LossScaleOptimizerV3
        return object.__new__(cls)

    def __init__(self, inner_optimizer, dynamic=True, initial_scale=None,
                 dynamic_growth_steps=None):
        if not isinstance(inner_optimizer, Optimizer) and \
                not hasattr(inner_optimizer, "apply_gradients"):
            raise TypeError('"inner_optimizer" must be an instance of Optimizer, but got: '
                            f"{inner_optimizer}.")
        if not isinstance(dynamic, bool):
            raise TypeError('"dynamic" argument to LossScaleOptimizer.__init__ must be a bool, '
                            f"but got: {dynamic!r}")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise TypeError("LossScaleOptimizer cannot wrap another LossScaleOptimizer, but "
                            f"got: {inner_optimizer}")
        if getattr(inner_optimizer, "_is_wrapped_by_loss_scale_optimizer", False):
            raise ValueError('"inner_optimizer" is already wrapped by a LossScaleOptimizer. An '
                             "optimizer can only be wrapped by a single LossScaleOptimizer")
        own = self.__dict__
        own["_optimizer"] = inner_optimizer
        inner_optimizer._is_wrapped_by_loss_scale_optimizer = True
        if dynamic:
            own["_initial_scale"] = float(_DEFAULT_INITIAL_SCALE if initial_scale is None
                                          else initial_scale)
            own["_growth_steps"] = int(_DEFAULT_GROWTH_STEPS if dynamic_growth_steps is None
                                       else dynamic_growth_steps)
            # tf's names (its checkpoints keep them under `loss_scale/`)
            own["_current_scale"] = Variable(np.float32(own["_initial_scale"]),
                                             trainable=False, name="current_loss_scale")
            own["_good_steps"] = Variable(np.int64(0), trainable=False, name="good_steps")
        else:
            if initial_scale is None:
                raise ValueError('"initial_scale" must be specified if "dynamic" is False')
            if dynamic_growth_steps is not None:
                raise ValueError('"dynamic_growth_steps" must be None if "dynamic" is False, '
                                 f"but got: {dynamic_growth_steps}")
            own["_initial_scale"] = float(initial_scale)
            own["_growth_steps"] = None
            own["_current_scale"] = None
            own["_good_steps"] = None
        own["_dynamic"] = dynamic
        own["name"] = inner_optimizer.name

    # --- the wrapped optimizer answers what this one does not ------------------------------
    def __getattr__(self, name):
        if name.startswith("__") or "_optimizer" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_optimizer"], name)

    def __setattr__(self, name, value):
        if name in self.__dict__ or name in _OWN_SETTABLE:
            object.__setattr__(self, name, value)
        else:
            setattr(self._optimizer, name, value)

    @property
    def inner_optimizer(self):
        return self._optimizer

    @property
    def iterations(self):
        return self._optimizer.iterations

    @iterations.setter
    def iterations(self, variable):
        self._optimizer.iterations = variable

    @property
    def learning_rate(self):
        return self._optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._optimizer.learning_rate = value

    lr = learning_rate                    # tf.keras' older name, the same property

    @property
    def variables(self):
        """The inner optimizer's variables (tf_keras' too: the loss scale is not among them)."""
        return self._optimizer.variables

    def get_weights(self):
        return self._optimizer.get_weights()

    def set_weights(self, weights):
        return self._optimizer.set_weights(weights)

    def build(self, var_list):
        return self._optimizer.build(var_list)

    def finalize_variable_values(self, var_list):
        return self._optimizer.finalize_variable_values(var_list)

    # --- the loss scale ---------------------------------------------------------------------
    @property
    def dynamic(self):
        return self._dynamic

    @property
    def loss_scale(self):
        """The current loss scale, a float32 scalar Tensor."""
        if self._dynamic:
            return Tensor(np.array(self._current_scale.data, np.float32))
        return Tensor(np.float32(self._initial_scale))

    @property
    def dynamic_counter(self):
        """The steps with finite gradients since the scale last changed (None if fixed)."""
        return self._good_steps

    @property
    def initial_scale(self):
        return self._initial_scale

    @property
    def dynamic_growth_steps(self):
        return self._growth_steps

    def get_scaled_loss(self, loss):
        """`loss * loss_scale` (in the loss' dtype); a callable loss gives a callable."""
        if callable(loss) and not isinstance(loss, Tensor):
            return lambda: self._scaled(loss())
        return self._scaled(loss)

    def _scaled(self, loss):
        loss = loss if isinstance(loss, Tensor) else Tensor(np.asarray(loss))
        with np.errstate(over="ignore"):   # a float16 loss may overflow: that step is skipped
            return loss * np.asarray(self.loss_scale.data, loss.dtype)

    def get_unscaled_gradients(self, grads):
        """Each gradient times `1 / loss_scale` (None stays None)."""
        reciprocal = np.float32(1.0) / np.asarray(self.loss_scale.data, np.float32)
        return [None if g is None else _times(g, reciprocal) for g in grads]

    def compute_gradients(self, loss, var_list, tape=None):
        """The unscaled gradients of the scaled loss, as `(gradient, variable)` pairs."""
        tape = GradientTape() if tape is None else tape
        if callable(loss) and not isinstance(loss, Tensor):
            loss = self.get_scaled_loss(loss)
        else:
            with tape:
                loss = self.get_scaled_loss(loss)
        pairs = self._optimizer.compute_gradients(loss, var_list, tape=tape)
        grads = self.get_unscaled_gradients([g for g, _ in pairs])
        return list(zip(grads, [v for _, v in pairs]))

    def minimize(self, loss, var_list, tape=None):
        self.apply_gradients(self.compute_gradients(loss, var_list, tape))

    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                        **kwargs):
        """Update the loss scale from the gradients, then apply them unless one is inf/NaN
        (a skipped step still counts in `iterations`)."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        self._optimizer.build([v for _, v in pairs])    # slots exist even if steps are skipped
        finite = all(np.isfinite(as_array(g)).all() for g, _ in pairs if g is not None)
        if self._dynamic:
            self._update_scale(finite)
        if finite:
            return self._optimizer.apply_gradients(pairs, **kwargs)
        self._optimizer.iterations.assign_add(1)
        return self.iterations

    def _update_scale(self, finite):
        if not finite:
            self._good_steps.assign(np.int64(0))
            self._current_scale.assign(np.maximum(self._current_scale.data / np.float32(
                _MULTIPLIER), np.float32(1)))
        elif self._good_steps.data + 1 >= self._growth_steps:
            grown = self._current_scale.data * np.float32(_MULTIPLIER)
            if np.isfinite(grown):
                self._current_scale.assign(grown)
            self._good_steps.assign(np.int64(0))
        else:
            self._good_steps.assign_add(1)

    # --- config -----------------------------------------------------------------------------
    def get_config(self):
        return {"inner_optimizer": INNER_CODEC["serialize"](self._optimizer),
                "dynamic": self._dynamic, "initial_scale": self._initial_scale,
                "dynamic_growth_steps": self._growth_steps}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        inner = config.pop("inner_optimizer")
        if not isinstance(inner, Optimizer):
            inner = INNER_CODEC["deserialize"](inner, custom_objects=custom_objects)
        return LossScaleOptimizer(inner, **config)

    def __repr__(self):
        return f"<LossScaleOptimizer wrapping {self._optimizer!r}>"


class LossScaleOptimizerV3(LossScaleOptimizer):
    """The LossScaleOptimizer of an optimizer of the current (tf.keras >= 2.11) API."""

# attributes a LossScaleOptimizer keeps itself when assigned (others go to the inner one)
_OWN_SETTABLE = {"iterations", "learning_rate", "lr"}


def _times(gradient, factor):
    """`gradient * factor` in the gradient's dtype, keeping a Tensor a Tensor."""
    array = unwrap(gradient)
    scaled = array * np.asarray(factor, array.dtype)
    return Tensor(scaled) if isinstance(gradient, Tensor) else scaled
