"""The optimizer base class, with the semantics of the tf.keras >= 2.11 optimizers.

One `apply_gradients` call does what tf.keras does, in the same order: evaluate the learning
rate (a schedule is read at the current `iterations`), clip the gradients, apply the
decoupled weight decay `w -= w * weight_decay * lr`, run `update_step` for each variable,
update the moving averages (`use_ema`), count the step, then apply variable constraints.

Subclasses create their slots in `build(var_list)` with `add_variable_from_reference` (slots
are float32 arrays shaped like their variable) and update one variable in place in
`update_step(gradient, variable)` with a handful of NumPy calls writing through `out=`.
"""
import re
import warnings

import numpy as np

from ..core import config as backend_config
from ..core.tensor import Tensor, Variable
from ..core.tensor import as_array
from . import schedules as schedules_module
from .. import initializers
from ..core.tensor import GradientTape
from ..ops.parallel import local_buffer, SPLIT_ELEMENTS as _SPLIT_ELEMENTS
from ..ops.blas_threads import split_flat
from ..ops.embedding import lookup_rows, scatter_rows
from ..core import indexed_rows

# Optimizer slots decaying below this magnitude are flushed to zero every _FLUSH_EVERY steps:
# NumPy runs several times slower on denormal floats, which TensorFlow flushes in hardware.
_DENORMAL_FLOOR = np.float32(1e-30)
_FLUSH_EVERY = 64
_GATHER_UPDATES = True     # A/B switch (benchmarks): False updates variable by variable
# Variables at least this large are updated together at the end of `apply_gradients` (one
# split over two threads for all of them); smaller ones at once, with less Python around them.
_GATHERED_ELEMENTS = 1 << 14


class CallableList(list):
    """A list that can also be called, so both `opt.variables` and `opt.variables()` work."""

    def __call__(self):
        return self


def _through_float32(value):
    """`tf.cast(python_float, float64)`: the float becomes a float32 tensor first."""
    return np.float64(np.float32(value))


def f32(value):
    """A Python number as a float32 scalar, the way TensorFlow casts a constant to the variable
    dtype (`1 - beta_1` is computed in float64 first, then rounded once)."""
    return np.float32(value)


class Optimizer:
    """Base class of the optimizers.

    Example (a custom optimizer):

        class PlainSGD(keras.optimizers.Optimizer):
            def __init__(self, learning_rate=0.01, name="PlainSGD", **kwargs):
                super().__init__(name=name, **kwargs)
                self._learning_rate = self._build_learning_rate(learning_rate)

            def update_step(self, gradient, variable):
                variable.assign_sub(gradient * float(self.learning_rate))
    """

    def __init__(self, name, weight_decay=0, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, jit_compile=True,
                 **kwargs):
        self.name = name
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.global_clipnorm = global_clipnorm
        self.clipvalue = clipvalue
        self.use_ema = use_ema
        # tf.keras turns XLA on only when a GPU is present; here there never is one.
        self.jit_compile = False
        if use_ema:
            _check_ema_arguments(ema_momentum, ema_overwrite_frequency)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        if clipnorm is not None and global_clipnorm is not None:
            raise ValueError("At most one of `clipnorm` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, global_clipnorm={global_clipnorm}.")
        self._variables = []
        self._iterations = Variable(np.zeros((), np.int64), trainable=False, name="iteration")
        self._variables.append(self._iterations)
        self._built = False
        self._index_dict = {}
        self._scratch = {}
        self._scratch_views = {}     # id(variable) -> (shared buffers, shape, views)
        self._pending_updates = None   # elementwise updates gathered during apply_gradients
        self._active_trace = None   # set by Model while its (emulated) traced train step runs
        self._exclude_from_weight_decay = []
        self._exclude_from_weight_decay_names = []
        self._deprecated_lr = self._process_kwargs(kwargs)

    def _process_kwargs(self, kwargs):
        kwargs.pop("is_legacy_optimizer", None)
        lr = kwargs.pop("lr", None)
        if lr is not None:
            warnings.warn("`lr` is deprecated in Keras optimizer, please use `learning_rate` or "
                          "use the legacy optimizer, e.g.,"
                          f"keras.optimizers.legacy.{type(self).__name__}.",
                          DeprecationWarning, stacklevel=3)
        for key in kwargs:
            if key in ("decay", "gradient_aggregator", "gradient_transformers"):
                raise ValueError(
                    f"{key} is deprecated in the new Keras optimizer, please check the docstring "
                    "for valid arguments, or use the legacy optimizer, e.g., "
                    f"keras.optimizers.legacy.{type(self).__name__}.")
            raise TypeError(f"{key} is not a valid argument, kwargs should be empty  for "
                            "`optimizer_experimental.Optimizer`.")
        return lr

    # --- iterations and learning rate -----------------------------------------------------
    @property
    def iterations(self):
        """The number of training steps this optimizer has run (an int64 Variable)."""
        return self._iterations

    @iterations.setter
    def iterations(self, variable):
        if self._built:
            raise RuntimeError("Cannot set `iterations` to a new Variable after the Optimizer "
                               "weights have been created. Here it is attempting to set "
                               f"`iterations` to {variable}.Usually this means you are trying "
                               "to set `iterations` after calling `apply_gradients()`. Please "
                               "set `iterations` before calling `apply_gradients()`.")
        if not isinstance(variable, Variable):
            variable = Variable(np.asarray(as_array(variable), np.int64), trainable=False,
                                name="iteration")
        position = next(i for i, v in enumerate(self._variables) if v is self._iterations)
        self._variables[position] = variable
        self._iterations = variable

    def _build_learning_rate(self, learning_rate):
        """A float becomes a float32 Variable named `learning_rate`; a schedule is kept, with a
        Variable holding its value at the current step. `lr=` given to the constructor wins
        (a deprecated alias of `learning_rate`)."""
        if self._deprecated_lr is not None:
            learning_rate, self._deprecated_lr = self._deprecated_lr, None
        if isinstance(learning_rate, schedules_module.LearningRateSchedule):
            value = np.asarray(as_array(learning_rate(self._step_count())))
            self._current_learning_rate = Variable(value, trainable=False,
                                                   name="current_learning_rate")
            return learning_rate
        if callable(learning_rate):
            learning_rate = learning_rate()     # tf.Variable(callable) calls it, once
        try:
            value = np.asarray(as_array(learning_rate), backend_config.floatx())
        except (TypeError, ValueError):
            value = None
        if value is None or value.ndim:
            raise TypeError("`learning_rate` must be a float or a "
                            "`keras.optimizers.schedules.LearningRateSchedule`. Received: "
                            f"learning_rate={learning_rate!r}")
        return Variable(value, trainable=False, name="learning_rate")

    def _step_count(self):
        return int(self._iterations.data)

    @property
    def learning_rate(self):
        """The learning rate Variable (settable); with a schedule, its value at this step."""
        lr = getattr(self, "_learning_rate", None)
        if lr is None:
            raise ValueError("Missing learning rate, please set self.learning_rate at optimizer "
                             "creation time.")
        if isinstance(lr, schedules_module.LearningRateSchedule):
            return self._current_learning_rate
        return lr

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        if isinstance(learning_rate, schedules_module.LearningRateSchedule):
            self._learning_rate = learning_rate
            self._compute_current_learning_rate()
            return
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            raise TypeError("This optimizer was created with a `LearningRateSchedule` object as "
                            "its `learning_rate` constructor argument, hence its learning rate "
                            "is not settable. If you need the learning rate to be settable, you "
                            "should instantiate the optimizer with a float `learning_rate` "
                            "argument.")
        # the Variable keeps its dtype (float64 when floatx was float64, as tf.keras')
        self._learning_rate.assign(np.asarray(as_array(learning_rate),
                                              self._learning_rate.data.dtype))

    @property
    def lr(self):
        """Alias of `learning_rate` (kept for old scripts)."""
        return self.learning_rate

    @lr.setter
    def lr(self, learning_rate):
        self.learning_rate = learning_rate

    def _compute_current_learning_rate(self):
        if isinstance(self._learning_rate, schedules_module.LearningRateSchedule):
            value = np.asarray(as_array(self._learning_rate(self._step_count())))
            if getattr(self, "_current_learning_rate", None) is None:
                self._current_learning_rate = Variable(value, trainable=False,
                                                       name="current_learning_rate")
            else:
                self._current_learning_rate.assign(value)

    def _compute_type(self):
        """The dtype a step is computed in: the variables' (float64 when floatx was float64 as
        the model was built), whatever the dtype of the learning rate or its schedule."""
        var_list = getattr(self, "_var_list", None)
        return np.float64 if var_list and var_list[0].dtype == np.float64 else np.float32

    def _lr32(self):
        """This step's learning rate as a scalar of the variables' dtype: tf.keras casts the
        learning rate (a floatx Variable, or a schedule's float32 value) to it."""
        return self._compute_type()(self.learning_rate.data)

    def _constant_types(self):
        """(exact, cast): how tf.keras turns this step's Python floats into scalars. In
        float32 both round to float32. In float64 (float64 variables) a float multiplied into
        a tensor stays exact, while `tf.cast(float, float64)` rounds it through float32
        first."""
        if self._step_lr.dtype == np.float64:
            return np.float64, _through_float32
        return f32, f32

    def _hyperparameter_type(self):
        """How a hyperparameter (rho, momentum, ...) becomes a scalar of the step: the current
        optimizers multiply the Python float in (exact in float64); the legacy ones override
        this (they read it from a float32 variable)."""
        return self._constant_types()[0]

    # --- variables --------------------------------------------------------------------------
    def build(self, var_list):
        """Create the optimizer variables for `var_list` (once). Subclasses call
        `super().build(var_list)`, return if `self._built`, then set `self._built = True` and
        create their slots."""
        if self._built:
            return
        self._index_dict = {id(var): i for i, var in enumerate(var_list)}
        self._var_list = list(var_list)
        if self.use_ema:
            self._model_variables_moving_average = [
                self.add_variable_from_reference(var, "average", initial_value=var)
                for var in var_list]

    def add_variable(self, shape, dtype=None, initializer="zeros", name=None):
        """An extra optimizer variable (not tied to a model variable)."""
        init = initializers.get(initializer)
        shape = () if shape is None else tuple(shape)
        value = init(shape, dtype=dtype or backend_config.floatx())
        if name and getattr(self, "_slot_scope", None):
            name = f"{self._slot_scope}/{name}"
        variable = Variable(np.asarray(as_array(value)), trainable=False, name=name)
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, model_variable, variable_name, shape=None,
                                    initial_value=None):
        """A slot named `<variable_name>/<model variable name>`, zeros shaped like the variable
        unless `shape` or `initial_value` say otherwise."""
        dtype = model_variable.dtype
        if initial_value is None:
            value = np.zeros(model_variable.shape if shape is None else shape, dtype)
        else:
            value = np.array(as_array(initial_value), dtype=dtype)
        scope = f"{self._slot_scope}/" if getattr(self, "_slot_scope", None) else ""
        variable = Variable(value, trainable=False,
                            name=f"{scope}{variable_name}/{_shared_name(model_variable)}")
        self._variables.append(variable)
        return variable

    def _var_index(self, variable):
        index = self._index_dict.get(id(variable))
        if index is None:
            # tf.keras' wording, down to the `KeyError: '...'` it nests in its message
            raise KeyError(f"KeyError: 'The optimizer cannot recognize variable {variable.name}. "
                           "This usually means you are trying to call the optimizer to update different parts "
                           "of the model separately. Please call `optimizer.build(variables)` "
                           "with the full list of trainable variables before the training loop "
                           "or use legacy optimizer `tf.keras.optimizers.legacy."
                           f"{type(self).__name__}.'")
        return index

    def _update_in_halves(self, update, gradient, variable, *slots, scratches=1):
        """`update(*scratch_arrays, gradient, weights, *slots)` (`scratches` work buffers) on
        the whole arrays, or on matching halves of the flattened arrays on two threads inside
        a training step that runs BLAS single-threaded, or with one half on OpenBLAS' worker in
        a step that keeps BLAS' threads (`blas_threads.split_flat`). Elementwise, so the
        numbers are the same."""
        weights = variable.data
        written = (weights,) + slots
        if self._pending_updates is not None and weights.size >= _GATHERED_ELEMENTS and \
                _GATHER_UPDATES and np.shape(gradient) == weights.shape and \
                all(array.flags.c_contiguous for array in written):
            self._pending_updates.append((update, scratches, np.reshape(gradient, -1),
                                          [array.reshape(-1) for array in written]))
            return
        scratch = self._scratch_for(variable, scratches)
        if weights.size < _SPLIT_ELEMENTS or \
                not all(array.flags.c_contiguous for array in written):
            update(*scratch, gradient, weights, *slots)
            return
        # flat views of contiguous arrays, so the in-place writes land in the variables
        flat = [array.reshape(-1) for array in scratch] + [np.reshape(gradient, -1)] + \
            [array.reshape(-1) for array in written]
        split_flat(lambda lo, hi: update(*[array[lo:hi] for array in flat]), weights.size)

    def _run_pending_updates(self):
        """Run the updates `_update_in_halves` gathered in this `apply_gradients` in one
        hand-off, each thread with its own work buffers. A part `[lo, hi)` of `[0, total)`
        (the sum of their sizes) updates the same share, `n * lo // total` to
        `n * hi // total`, of each variable of at least `_OWN_SHARE_ELEMENTS` (n elements),
        and of the smaller ones laid end to end. Elementwise, so any split gives the same
        numbers.

        Why each large variable is split at the same fraction: a kernel gradient's first rows
        come from this thread's part of the threaded product (`x.T @ g` splits its output rows
        between the threads, this thread first; so does `parallel.matmul`), so each thread
        updates rows it wrote, and the slots it updated the step before. Where the host places
        the two vCPUs far apart, reading what the other core wrote costs ~3x
        (`benchmarks/bench_cross_core.py`)."""
        pending, self._pending_updates = self._pending_updates, None
        if not pending:
            return
        segments = _update_segments(pending)
        total = sum(size for size, _ in segments)
        count = max(scratches for _, scratches, _, _ in pending)

        def work(lo, hi):
            pieces = [piece for size, members in segments
                      for piece in _pieces(members, size * lo // total, size * hi // total)]
            if not pieces:
                return
            longest = max(last - first for *_, first, last in pieces)
            buffers = {}                # this thread's work buffers, per dtype
            for (update, scratches, gradient, arrays), first, last in pieces:
                scratch = buffers.get(gradient.dtype)
                if scratch is None:
                    scratch = buffers[gradient.dtype] = [
                        local_buffer(("optimizer_scratch", index, gradient.dtype.str),
                                     (longest,), gradient.dtype) for index in range(count)]
                length = last - first
                if length == gradient.size:
                    update(*[buffer[:length] for buffer in scratch[:scratches]], gradient, *arrays)
                else:
                    update(*[buffer[:length] for buffer in scratch[:scratches]],
                           gradient[first:last], *[array[first:last] for array in arrays])
        split_flat(work, total)

    def _scratch_for(self, variable, count=1):
        """`count` float work buffers shaped like `variable` (not optimizer state). They are
        views of buffers shared by all variables: reusing the same memory for every variable
        keeps it in cache, which makes an update measurably faster than per-variable buffers.
        The views are kept per variable while the shared buffers and its shape stay the same
        (made afresh, they cost a few microseconds a variable and step)."""
        data = variable.data
        kept = self._scratch_views.get(id(variable))
        if kept is not None and kept[0] is self._scratch.get(data.dtype) and \
                kept[1] == data.shape and len(kept[2]) == count:
            return kept[2]
        views = self._new_scratch_views(variable, count)
        self._scratch_views[id(variable)] = (self._scratch[data.dtype], data.shape, views)
        return views

    def _new_scratch_views(self, variable, count):
        size = variable.data.size
        dtype = variable.data.dtype
        buffers = self._scratch.get(dtype)
        if buffers is None or len(buffers) < count or buffers[0].size < size:
            length = max(size, buffers[0].size if buffers else 0)
            buffers = [np.empty(length, dtype) for _ in range(max(count, len(buffers or [])))]
            self._scratch[dtype] = buffers
            self._scratch_views.clear()         # views of the old buffers
        return [buffer[:size].reshape(variable.data.shape) for buffer in buffers[:count]]

    @property
    def variables(self):
        """`[iterations, slot, ...]` in creation order (tf.keras' order)."""
        return CallableList(self._variables)

    def get_weights(self):
        return [np.array(v.data) for v in self._variables]

    def set_weights(self, weights):
        if not self._built:
            raise ValueError("You are calling `set_weights()` on an optimizer that has not yet "
                             "been built. Please call `optimizer.build(trainable_variables)` to "
                             "create the optimizer weights before calling `set_weights()`.")
        weights = [np.asarray(as_array(weight)) for weight in weights]
        for variable, weight in zip(self._variables, weights):  # check all before assigning
            if variable.shape != weight.shape:
                raise ValueError(f"Optimizer variable {variable.name} has shape "
                                 f"{tuple(variable.shape)} not compatible with provided weight "
                                 f"shape {weight.shape}.")
        for variable, weight in zip(self._variables, weights):
            variable.assign(weight)

    # --- weight decay -----------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables (or any variable whose name matches one of `var_names`) from
        weight decay. Must be called before the optimizer is built."""
        if self._built:
            raise ValueError("`exclude_from_weight_decay()` can only be configued before the "
                             "optimizer is built.")
        self._exclude_from_weight_decay = [id(v) for v in var_list or []]
        self._exclude_from_weight_decay_names = list(var_names or [])

    def _use_weight_decay(self, variable):
        if id(variable) in self._exclude_from_weight_decay:
            return False
        return not any(re.search(name, variable.name) for name in
                       self._exclude_from_weight_decay_names)

    def _apply_weight_decay(self, variables):
        if not self.weight_decay:
            return  # None or 0: tf.keras' `w -= w * 0 * lr` leaves w unchanged
        lr = self._lr32()
        decay = f32(self.weight_decay)
        for variable in variables:
            if self._use_weight_decay(variable):
                step = variable.data * decay
                step *= lr
                variable.data -= step

    # --- applying gradients -----------------------------------------------------------------
    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                        **kwargs):
        """Apply `(gradient, variable)` pairs; returns the `iterations` Variable."""
        kwargs.pop("experimental_aggregate_gradients", None)
        if kwargs:
            raise TypeError(f"apply_gradients() got unexpected keyword arguments {list(kwargs)}")
        self._compute_current_learning_rate()
        grads_and_vars = list(grads_and_vars)
        if not grads_and_vars:
            return self._iterations
        if not self._built:
            # tf.keras builds lazily inside the optimizer's name scope: slots are then named
            # `Adam/m/dense/kernel:0` (an explicit `build()` gives `m/dense/kernel:0`)
            self._slot_scope = self.name
            try:
                self.build([v for _, v in grads_and_vars])
            finally:
                self._slot_scope = None
        self._built = True
        pairs = _filter_empty_gradients(grads_and_vars)
        variables = [v for _, v in pairs]
        for variable in variables:
            self._var_index(variable)  # unknown variables are an error, as in tf.keras
        lookups = [lookup_rows(g) for g, _ in pairs] if any_lookup_rows() else [None] * len(pairs)
        grads = [g if type(g) is np.ndarray and g.dtype == v.dtype else
                 _as_float_array(g, v.dtype) for g, v in pairs]
        grads = self._clip_gradients(grads, lookups)
        self._apply_weight_decay(variables)
        self._step_lr = self._lr32()
        self._prepare_step()
        self._pending_updates = []
        try:
            for grad, variable, lookup in zip(grads, variables, lookups):
                kept = self._state_kept_on_rows_not_looked_up(variable) if lookup else ()
                if kept:
                    self._update_looked_up_rows(grad, variable, lookup[0], kept)
                else:
                    self.update_step(grad, variable)
            self._run_pending_updates()
        finally:
            self._pending_updates = None
        if self.use_ema:
            self._update_model_variables_moving_average(variables)
            if self.ema_overwrite_frequency and \
                    (self._step_count() + 1) % self.ema_overwrite_frequency == 0:
                self._overwrite_model_variables_with_average_value(variables)
        self._iterations.data += 1
        if self._step_count() % _FLUSH_EVERY == 0:
            self._flush_denormals()
        for variable in variables:
            if variable.constraint is not None:
                variable.assign(variable.constraint(variable))
        return self._iterations

    def _step_without_gradients(self):
        """What tf.keras' train step still runs of `apply_gradients` when it finds the input
        exhausted (operations that wait on no gradient): the schedule's current rate, weight
        decay of the variables the optimizer was built with, the `iterations` count. The
        gradient updates and the EMA (which waits on them) are skipped."""
        if not self._built:
            return
        self._compute_current_learning_rate()
        self._apply_weight_decay(list(self._var_list))
        self._iterations.data += 1

    def compute_gradients(self, loss, var_list, tape=None):
        """`[(gradient, variable), ...]` of `loss` (a callable, or a Tensor with its tape)."""
        if not callable(loss) and tape is None:
            raise ValueError("`tape` is required when a `Tensor` loss is passed. "
                             f"Received: loss={loss}, tape={tape}.")
        if tape is None:
            tape = GradientTape()
        if callable(loss):
            with tape:
                if not callable(var_list):
                    tape.watch(var_list)
                loss = loss()
                if callable(var_list):
                    var_list = var_list()
        grads = tape.gradient(loss, list(var_list))
        return list(zip(grads, var_list))

    def minimize(self, loss, var_list, tape=None):
        """Compute the gradients of `loss` and apply them."""
        self.apply_gradients(self.compute_gradients(loss, var_list, tape))

    def _prepare_step(self):
        """Compute the scalars every `update_step` of this step shares (once per step);
        `self._step_lr` already holds this step's learning rate as float32."""

    def update_step(self, gradient, variable):
        """Update `variable` in place from its float32 `gradient` array."""
        raise NotImplementedError

    def _state_kept_on_rows_not_looked_up(self, variable):
        """The variables (the weight and/or its slots) that tf.keras' sparse update leaves
        alone on the rows an embedding gradient does not touch. The current optimizers'
        sparse updates equal their dense ones: nothing to keep."""
        return ()

    def _update_looked_up_rows(self, gradient, variable, ids, kept):
        """A dense update whose rows not looked up keep their old values in `kept`."""
        untouched = np.ones(variable.shape[0], bool)
        untouched[ids] = False
        saved = [state.data[untouched] for state in kept]
        pending, self._pending_updates = self._pending_updates, None    # update now
        try:
            self.update_step(gradient, variable)
        finally:
            self._pending_updates = pending
        for state, rows in zip(kept, saved):
            state.data[untouched] = rows

    def _clip_gradients(self, grads, lookups=None):
        """tf.keras applies only one clipping: clipnorm, else global_clipnorm, else clipvalue.
        An embedding gradient (`lookups[i]` = (ids, rows), tf.keras' IndexedSlices) is clipped
        row by row before its duplicate ids are summed."""
        lookups = lookups or [None] * len(grads)
        if self.clipnorm and self.clipnorm > 0:
            return [_clip_by_norm(g, self.clipnorm, _squared_sum(g, lookup))
                    for g, lookup in zip(grads, lookups)]
        if self.global_clipnorm and self.global_clipnorm > 0:
            return _clip_by_global_norm(grads, self.global_clipnorm,
                                        [_squared_sum(g, lookup) for g, lookup in zip(grads, lookups)])
        if self.clipvalue and self.clipvalue > 0:
            clipped = []
            for g, lookup in zip(grads, lookups):
                # tf.clip_by_value takes the float in the gradient's dtype (exact in float64)
                limit = g.dtype.type(self.clipvalue)
                clipped.append(np.clip(g, -limit, limit) if lookup is None else scatter_rows(
                    lookup[0], np.clip(lookup[1], -limit, limit).astype(g.dtype),
                    g.shape[0]).reshape(g.shape))
            return clipped
        return grads

    def _flush_denormals(self):
        for variable in self._variables[1:]:
            data = variable.data
            if data.dtype.kind == "f":
                data[np.abs(data) < _DENORMAL_FLOOR] = 0

    # --- exponential moving average of the weights (use_ema=True) -------------------------------
    def _update_model_variables_moving_average(self, var_list):
        for variable in var_list:
            average = self._model_variables_moving_average[self._var_index(variable)].data
            # Python floats multiplied in: exact in float64
            keep, take = average.dtype.type(self.ema_momentum), \
                average.dtype.type(1 - self.ema_momentum)
            average *= keep
            average += variable.data * take

    def _overwrite_model_variables_with_average_value(self, var_list):
        for variable in var_list:
            average = self._model_variables_moving_average[self._var_index(variable)]
            variable.assign(average.data)

    def finalize_variable_values(self, var_list):
        """With `use_ema=True`, overwrite the variables with their moving averages (`fit` does
        this after the last epoch)."""
        if self.use_ema:
            self._overwrite_model_variables_with_average_value(var_list)

    # --- config -------------------------------------------------------------------------------
    def _serialize_hyperparameter(self, hyperparameter):
        if isinstance(hyperparameter, schedules_module.LearningRateSchedule):
            return schedules_module.serialize(hyperparameter)
        if isinstance(hyperparameter, Tensor):   # a NumPy scalar (float32), as tf.keras gives
            return np.asarray(hyperparameter.data)[()]
        if callable(hyperparameter):
            return hyperparameter()
        return hyperparameter

    def get_config(self):
        return {"name": self.name, "weight_decay": self.weight_decay, "clipnorm": self.clipnorm,
                "global_clipnorm": self.global_clipnorm, "clipvalue": self.clipvalue,
                "use_ema": self.use_ema, "ema_momentum": self.ema_momentum,
                "ema_overwrite_frequency": self.ema_overwrite_frequency,
                "jit_compile": self.jit_compile, "is_legacy_optimizer": False}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules_module.deserialize(
                config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)


# Gathered variables of at least this many elements are each split at the same fraction
# between the threads; smaller ones are laid end to end and split as one (fewer NumPy calls).
_OWN_SHARE_ELEMENTS = 1 << 17


def _update_segments(pending):
    """`[(size, members)]`: each large pending update alone, then the small ones together;
    `members` are `(pending update, offset in the segment)`."""
    segments, small, small_size = [], [], 0
    for item in pending:
        size = item[2].size
        if size >= _OWN_SHARE_ELEMENTS:
            segments.append((size, [(item, 0)]))
        else:
            small.append((item, small_size))
            small_size += size
    if small:
        segments.append((small_size, small))
    return segments


def _pieces(members, lo, hi):
    """`(pending update, first, last)` for the elements `[lo, hi)` of a segment."""
    pieces = []
    for item, offset in members:
        first, last = max(lo, offset) - offset, min(hi, offset + item[2].size) - offset
        if first < last:
            pieces.append((item, first, last))
    return pieces


def _check_ema_arguments(ema_momentum, ema_overwrite_frequency):
    if ema_momentum > 1 or ema_momentum < 0:
        raise ValueError("`ema_momentum` must be in the range [0, 1]. "
                         f"Received: ema_momentum={ema_momentum}")
    if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, int)
                                    or ema_overwrite_frequency < 1):
        raise ValueError("`ema_overwrite_frequency` must be an integer > 1 or None. "
                         f"Received: ema_overwrite_frequency={ema_overwrite_frequency}")


def _shared_name(variable):
    """`dense/kernel` for the variable `dense/kernel:0`."""
    name = getattr(variable, "_handle_name", None) or variable.name
    return name[:-2] if name.endswith(":0") else name


def _filter_empty_gradients(grads_and_vars):
    kept = [(g, v) for g, v in grads_and_vars if g is not None]
    if not kept:
        names = [v.name for _, v in grads_and_vars]
        raise ValueError(f"No gradients provided for any variable: ({names},). Provided "
                         f"`grads_and_vars` is {tuple(grads_and_vars)}.")
    missing = [v.name for g, v in grads_and_vars if g is None]
    if missing:
        warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss. "
                      "If you're using `model.compile()`, did you forget to provide a `loss` "
                      "argument?", stacklevel=3)
    return kept


def any_lookup_rows():
    """Whether some array is known as an embedding's looked-up rows (else no gradient is)."""
    return bool(indexed_rows._LOOKUP_ROWS)


def _as_float_array(gradient, dtype):
    array = np.asarray(as_array(gradient))
    return array if array.dtype == dtype else array.astype(dtype)


def _squared_sum(gradient, lookup=None):
    """The sum of squares tf.keras' clipping sees: over an embedding gradient's looked-up rows
    (duplicates apart) when there are some, else over the gradient."""
    return np.sum(np.square(gradient if lookup is None else lookup[1]), dtype=gradient.dtype)


def _clip_by_norm(gradient, clip_norm, l2sum=None):
    """tf.clip_by_norm: `g * clip_norm / max(||g||, clip_norm)` (always computed)."""
    if l2sum is None:
        l2sum = _squared_sum(gradient)
    norm = np.sqrt(l2sum) if l2sum > 0 else l2sum
    limit = gradient.dtype.type(clip_norm)     # exact in float64, as tf converts the float
    return (gradient * limit) / np.maximum(norm, limit)


def _clip_by_global_norm(grads, clip_norm, squared_sums=None):
    """tf.clip_by_global_norm: each gradient times `clip_norm * min(1/norm, 1/clip_norm)`."""
    if squared_sums is None:
        squared_sums = [_squared_sum(g) for g in grads]
    dtype = grads[0].dtype.type if grads else np.float32    # float64 gradients stay exact
    half_squares = np.array([total / 2 for total in squared_sums], dtype)
    global_norm = np.sqrt(np.sum(half_squares) * dtype(2))
    limit = dtype(clip_norm)
    with np.errstate(divide="ignore"):
        scale = limit * np.minimum(dtype(1) / global_norm, dtype(1) / limit)
    if not np.isfinite(global_norm):
        scale = dtype(np.nan)
    return [g * scale for g in grads]
