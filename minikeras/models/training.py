"""Model: a Layer with compile / fit / evaluate / predict."""
import contextlib
import copy
import logging
import warnings

import numpy as np

from ..ops.parallel import batches_in_flight as parallel_batches_in_flight
from ..ops.parallel import blas_single_threaded
from ..core.tensor import Tensor, compute_gradients, recording_scope, set_backward_scope, unwrap
from ..core.registry import register_builtins
from ..core.durable import atomic_step, steps_interrupted_between
from ..engine.base_layer import Layer, shape_of
from ..engine.flops import model_flops
from ..core.nest import flatten, map_structure, pack_sequence_as
from . import data_adapters as data_utils
from . import compile_utils
from . import predict_pipeline
from . import serialization
from .summary import print_summary
from .. import optimizers
from ..optimizers.loss_scale_optimizer import LossScaleOptimizer
from ..callbacks import Callback, CallbackList
from ..callbacks.backup_and_restore import resume_point
from .distributed import callbacks_for_this_rank


def _overrides_build(model):
    """Whether `build` is a user's override (our own models build by running `call`)."""
    return not (type(model).build.__module__ or "").startswith(__name__.split(".")[0] + ".")


class Model(Layer):
    """Groups layers into an object with training and inference features.

    Two ways to build one: the functional API, `Model(inputs, outputs)`, or subclassing
    `Model` and implementing `call`.
    """

    def __new__(cls, *args, **kwargs):
        if cls is Model and _is_functional_args(args, kwargs):
            from .functional import Functional
            return Functional.__new__(Functional)
        instance = object.__new__(cls)
        # Remembered for the automatic config of subclassed models (see saving.serialization).
        object.__setattr__(instance, "_init_call_args", (args, dict(kwargs)))
        return instance

    def __init__(self, *args, **kwargs):
        if _is_functional_args(args, kwargs):
            # A subclass calling `super().__init__(inputs, outputs)` becomes a Functional
            # subclass, as tf.keras does (it swaps `Model` for `Functional` in the bases).
            from .functional import Functional
            _inject_functional_class(type(self))
            Functional.__init__(self, *args, **kwargs)
            return
        name = kwargs.pop("name", None)
        trainable = kwargs.pop("trainable", True)
        if args:
            raise TypeError(f"Model got unexpected positional arguments: {args}")
        super().__init__(name=name, trainable=trainable, **kwargs)
        self.optimizer = None
        self.compiled_loss = None
        self.compiled_metrics = None
        self.loss = None
        self.history = None
        self.stop_training = False
        self._is_compiled = False
        self._is_graph_network = False
        self._in_fit = False

    _pending_checkpoint = None      # a TF checkpoint loaded before the model was built
    _pending_optimizer_state = None     # its optimizer state, loaded before `compile`

    def __call__(self, *args, **kwargs):
        if self._pending_checkpoint is not None:
            self._restore_pending_checkpoint(args, kwargs)
        # Called directly (a custom training loop, a GAN step, inference in a loop), the model
        # runs under fit's BLAS thread policy too (inside a step this scope is a no-op).
        with blas_single_threaded("call"):
            return super().__call__(*args, **kwargs)

    def _restore_pending_checkpoint(self, args, kwargs):
        """`load_weights(prefix)` came before the variables existed: create them with an
        inference call on this first input, restore, then run the call asked for with the
        restored values (tf assigns each variable as it is created)."""
        pending, self._pending_checkpoint = self._pending_checkpoint, None
        inputs = args[0] if args else kwargs.get("inputs")
        self(inputs, training=False)
        pending.restore_into(self)

    # --- structure -------------------------------------------------------------------------
    @property
    def layers(self):
        return [layer for layer in self._tracked_layers]

    def get_layer(self, name=None, index=None):
        return _get_layer(self.layers, name, index)

    def call(self, inputs, training=None, mask=None):
        raise NotImplementedError(
            f"Exception encountered when calling layer '{self.name}' (type "
            f"{type(self).__name__}).\n\nUnimplemented `tf.keras.Model.call()`: if you intend "
            "to create a `Model` with the Functional API, please provide `inputs` and `outputs` "
            "arguments. Otherwise, subclass `Model` with an overridden `call()` method.")

    def build(self, input_shape):
        """Build a subclassed model by calling it on zeros of `input_shape`."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError("Input shape must be defined when calling `build()` on a `Model` "
                             "subclass.")

        def zeros(shape):
            return np.zeros(tuple(1 if d is None else d for d in shape), dtype=self.dtype)
        if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (tuple, list)):
            sample = [zeros(s) for s in input_shape]
        else:
            sample = zeros(input_shape)
        self.built = True
        self._build_input_shape = input_shape
        self._names_scoped = True   # tf.keras' build calls `call` outside the model's name scope
        self(sample, training=False)

    def _maybe_build(self, inputs):
        if not self.built:
            # A subclassed model builds by running `call`; the first input shape is kept so a
            # saved `.keras` file can rebuild it (its `build_config`) before loading weights.
            shapes = map_structure(shape_of, inputs)
            if isinstance(inputs, tuple) and len(inputs) == 1:
                shapes = shapes[0]
            if self._build_input_shape is None:
                self._build_input_shape = shapes
            if _overrides_build(self):
                # tf.keras calls a user's `build` before the first call (HOML2 ch12's
                # ReconstructingRegressor creates a layer there from the input width)
                self.build(shapes)
            self.built = True

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None, show_flops=False):
        """Print tf.keras' summary table. `show_flops=True` (a minikeras extension) adds a
        FLOPs column (per sample, a multiply-add counting 2) and a total line."""
        if not self.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by calling `build()` or "
                "by calling the model on a batch of data.")
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range, show_flops=show_flops)

    def count_flops(self, input_shape, output_shape):
        """A nested model costs the sum of its layers (its own graph's shapes)."""
        return model_flops(self)

    @property
    def metrics(self):
        """The compiled loss and metrics, then those added with `add_metric`."""
        compiled = [] if self.compiled_loss is None else \
            self.compiled_loss.metrics + self.compiled_metrics.metrics
        return compiled + [metric for layer in self._flatten_layers()
                           for metric in layer._added_metrics]

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    def reset_states(self):
        """Zero the states of every stateful layer (stateful RNNs), as tf.keras."""
        for layer in self.layers:
            if getattr(layer, "stateful", False) and hasattr(layer, "reset_states"):
                layer.reset_states()

    # --- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, pss_evaluation_shards=0, **kwargs):
        _check_legacy_compile_arguments(kwargs)
        self._steps_per_execution = _check_steps_per_execution(steps_per_execution)
        self.optimizer = _loss_scaled_if_float16(self, optimizers.get(optimizer))
        self.loss = loss
        self._compile_args = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights,
                              "weighted_metrics": weighted_metrics}
        output_names = self._output_names_for_compile()
        # Graph models know their outputs' structure now; subclassed ones on the first batch.
        outputs = getattr(self, "_nested_outputs", None) if output_names else None
        self.compiled_loss = compile_utils.LossesContainer(loss, loss_weights, output_names,
                                                           outputs=outputs)
        self.compiled_metrics = compile_utils.MetricsContainer(metrics, weighted_metrics,
                                                               output_names, loss)
        self._is_compiled = True
        self.stop_training = False
        self._compiled_trainable_state = self._get_trainable_state()
        self.run_eagerly = bool(run_eagerly)
        self._train_traces = {}   # input signature -> what the optimizer saw when "tracing"
        self.train_function = self.test_function = self.predict_function = None
        if self._pending_checkpoint is not None:     # loaded before the first call
            self._pending_checkpoint.restore_iterations(self.optimizer)
        if self._pending_optimizer_state is not None and self.built:
            # a TF checkpoint's optimizer state loaded before compile: tf restores it now
            pending, self._pending_optimizer_state = self._pending_optimizer_state, None
            pending.restore_into(self)

    # --- trainable state frozen at compile time ---------------------------------------------
    def _get_trainable_state(self):
        """`[(layer, trainable), ...]` for the model and every layer inside it."""
        return [(layer, layer._trainable) for layer in self._flatten_layers()]

    @contextlib.contextmanager
    def _respect_compiled_trainable_state(self):
        """Train with the `trainable` flags the model had when compiled, as tf.keras does.

        The Keras 2 GAN pattern relies on it: the discriminator is compiled, then frozen
        (`trainable = False`) before the combined model is compiled; its own `train_on_batch`
        keeps training it, the combined model's leaves it alone. A change of `trainable` after
        `compile` takes effect at the next `compile`.
        """
        compiled = getattr(self, "_compiled_trainable_state", None) or []
        current = self._get_trainable_state()
        changed = [(layer, flag) for layer, flag in compiled if layer._trainable != flag]
        if not changed:
            yield
            return
        if not getattr(self, "_warned_trainable_discrepancy", False):
            self._warned_trainable_discrepancy = True
            warnings.warn("Discrepancy between trainable weights and collected trainable weights, "
                          "did you set `model.trainable` without calling `model.compile` after ?",
                          stacklevel=4)
        for layer, flag in changed:
            layer._trainable = flag
        try:
            yield
        finally:
            for layer, flag in current:
                layer._trainable = flag

    def _output_names_for_compile(self):
        names = getattr(self, "output_names", None)
        if names:
            return list(names)
        return None

    def _assert_compiled(self):
        if not self._is_compiled:
            raise RuntimeError("You must compile your model before training/testing. Use "
                               "`model.compile(optimizer, loss)`.")

    # --- steps -----------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None):
        return self.compiled_loss(y, y_pred, sample_weight,
                                  regularization_losses=self._step_losses())

    def _validate_target_and_loss(self, y, loss):
        """A loss given to `compile` needs targets; `add_loss` losses alone do not."""
        if self.loss and y is None:
            raise ValueError("Target data is missing. Your model was compiled with "
                             f"loss={self.loss}, and therefore expects target data to be "
                             "provided in `fit()`.")
        if loss is None:
            raise ValueError("No loss found. You may have forgotten to provide a `loss` argument "
                             "in the `compile()` method.")

    def compute_metrics(self, x, y, y_pred, sample_weight):
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        return {m.name: _metric_value(m.result()) for m in self._step_metrics()}

    # --- what a fit's steps read from the model's structure, walked once per fit ------------
    def _step_structure(self):
        """This fit's `_FitStructure` (made on its first step, once the layers are built), or
        None outside a fit (`train_on_batch`, a custom loop): read the model afresh then."""
        structure = _FIT_STRUCTURES.get(id(self))
        if structure is _FIT_STRUCTURE_PENDING:
            structure = _FIT_STRUCTURES[id(self)] = _FitStructure(self)
        return structure

    def _step_losses(self):
        structure = self._step_structure()
        if structure is None or not structure.plain_losses:
            return self.losses
        return _losses_of_walked_layers(structure.layers, structure.regularized)

    def _step_metrics(self):
        structure = self._step_structure()
        if structure is None or not structure.plain_metrics:
            return self.metrics
        compiled = [] if self.compiled_loss is None else \
            self.compiled_loss.metrics + self.compiled_metrics.metrics
        return compiled + [metric for layer in structure.layers
                           for metric in layer._added_metrics]

    def _step_trainable_weights(self):
        structure = self._step_structure()
        return self.trainable_weights if structure is None else structure.trainable_weights

    def train_step(self, data):
        x, y, sample_weight = data_utils.unpack(data)
        with recording_scope():
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
            target = _scaled_loss(self.optimizer, loss)
        self._validate_target_and_loss(y, loss)
        variables = self._step_trainable_weights()
        grads = _gradients(self.optimizer, target, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        if id(self) in _STEP_LOGS_UNREAD:       # only the epoch's end reads the metrics
            self.compiled_metrics.update_state(y, y_pred, sample_weight)
            return _UNREAD_LOGS
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def _count_train_step_without_data(self):
        """tf.keras' train function still runs a current optimizer's operations that read no
        gradient in the step that finds the input exhausted (a generator of unknown length
        ending, data short of steps_per_epoch * epochs): `iterations` ends one higher per such
        step, weight decay applies once more. The legacy (OptimizerV2) optimizers run nothing
        there."""
        optimizer = getattr(self, "optimizer", None)
        inner = getattr(optimizer, "inner_optimizer", optimizer)
        if optimizer is None or isinstance(inner, optimizers.legacy.LegacyOptimizer):
            return
        inner._step_without_gradients()

    def _run_train_step(self, data, logs_unread=False):
        """Run `train_step` as tf.keras' train function does.

        tf.keras traces the step into a graph once per input signature (unless
        `run_eagerly`); an optimizer whose arithmetic depends on what happened at trace time
        (Nadam's `u_product` cache) is told which trace is running. `logs_unread`: nobody
        reads this step's logs (`_step_logs_unread`), so the default train step may return
        `_UNREAD_LOGS` without computing the metrics' results.
        """
        if logs_unread:
            _STEP_LOGS_UNREAD.add(id(self))
            try:
                return self._run_train_step(data)
            finally:
                _STEP_LOGS_UNREAD.discard(id(self))
        optimizer = self.optimizer
        trace = None
        if not self.run_eagerly and hasattr(optimizer, "trace_train_function"):
            signature = _input_signature(data)
            trace = self._train_traces.get(signature)
            if trace is None:
                trace = optimizer.trace_train_function(len(self.trainable_weights))
                self._train_traces[signature] = trace
        optimizer._active_trace = trace
        try:
            # One step is atomic, as tf.keras' compiled step is: a Ctrl-C waits for its end
            # rather than leaving some weights, slots or moving statistics updated.
            with atomic_step():
                return self.train_step(data)
        finally:
            optimizer._active_trace = None

    def test_step(self, data):
        x, y, sample_weight = data_utils.unpack(data)
        # a compiled loss on Keras tensors (K.gradients in improved_wgan) reads this step's
        # recorded forward pass, as in train_step
        with recording_scope() if compile_utils.loss_refers_to_keras_tensors(self.loss) \
                else contextlib.nullcontext():
            y_pred = self(x, training=False)
            self.compute_loss(x, y, y_pred, sample_weight)
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def predict_step(self, data):
        x, _, _ = data_utils.unpack(data)
        return self(x, training=False)

    # --- fit / evaluate / predict -------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, max_queue_size=10, workers=1,
            use_multiprocessing=False):
        self._assert_compiled()
        with self._respect_compiled_trainable_state(), steps_interrupted_between(), \
                _structure_walked_once(self):
            return self._fit(
                x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data,
                shuffle, class_weight, sample_weight, initial_epoch, steps_per_epoch,
                validation_steps, validation_batch_size, validation_freq, max_queue_size,
                workers, use_multiprocessing)

    def _fit(self, x, y, batch_size, epochs, verbose, callbacks, validation_split,
             validation_data, shuffle, class_weight, sample_weight, initial_epoch,
             steps_per_epoch, validation_steps, validation_batch_size, validation_freq,
             max_queue_size, workers, use_multiprocessing):
        verbose = 1 if verbose == "auto" else verbose
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = data_utils.train_validation_split(
                (x, y, sample_weight), validation_split)
        if validation_data is not None:
            val_x, val_y, val_sample_weight = data_utils.unpack(validation_data)
        handler = data_utils.DataHandler(
            x, y, sample_weight, batch_size=batch_size, steps_per_epoch=steps_per_epoch,
            initial_epoch=initial_epoch, epochs=epochs, shuffle=shuffle,
            class_weight=class_weight, max_queue_size=max_queue_size, workers=workers,
            use_multiprocessing=use_multiprocessing, model=self, shard=True)
        callbacks, verbose = callbacks_for_this_rank(callbacks, verbose)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=epochs,
                                     steps=handler.inferred_steps)
        self.stop_training = False
        self._eval_data_handler = None
        callbacks.on_train_begin()
        training_logs = None
        restored = self.__dict__.pop("_backup_counters", None)   # BackupAndRestore
        if restored is not None:
            handler._initial_epoch, handler._initial_step = resume_point(
                restored, handler.inferred_steps)
        logs = None
        executions = _Executions(self._steps_per_execution, handler)
        # decided once, as tf.keras' CallbackList does: whether a callback reads batches
        batch_hooks = _batch_hooks_used(callbacks)
        logs_unread = not batch_hooks and _step_logs_unread(self)
        for epoch, iterator in handler.enumerate_epochs():
            self.reset_metrics()
            callbacks.on_epoch_begin(epoch)
            with handler.catch_stop_iteration(self._count_train_step_without_data):
                for step in handler.steps():
                    if executions.starts(step) and batch_hooks:
                        callbacks.on_train_batch_begin(step)
                    with blas_single_threaded("train"):   # the kernels split their work in two
                        logs = _numpy_logs(self._run_train_step(next(iterator), logs_unread))
                    if executions.ends(step):
                        if batch_hooks:
                            callbacks.on_train_batch_end(step, logs)
                        if self.stop_training:
                            break
            if logs is _UNREAD_LOGS:
                logs = self.get_metrics_result()
            if executions.unfinished is not None:   # the input ran out inside an execution
                callbacks.on_train_batch_end(executions.finish(), logs)
            if logs is None:
                raise ValueError("Unexpected result of `train_function` (Empty logs). This could "
                                 "be due to issues in input pipeline that resulted in an empty "
                                 "dataset (no batch was drawn in this epoch), or to a custom "
                                 "`train_step` that returned None instead of a dict of logs.")
            epoch_logs = copy.copy(self._validate_and_get_metrics_result(logs))
            if _validation_given(validation_data) and _should_validate(epoch, validation_freq):
                if self._eval_data_handler is None:   # one validation stream for the whole fit
                    self._eval_data_handler = data_utils.DataHandler(
                        val_x, val_y, val_sample_weight,
                        batch_size=validation_batch_size or batch_size,
                        steps_per_epoch=validation_steps, max_queue_size=max_queue_size,
                        workers=workers, use_multiprocessing=use_multiprocessing, model=self)
                val_logs = self.evaluate(val_x, val_y, sample_weight=val_sample_weight,
                                         batch_size=validation_batch_size or batch_size,
                                         steps=validation_steps, callbacks=callbacks,
                                         return_dict=True, _use_cached_eval_dataset=True)
                epoch_logs.update({"val_" + name: value for name, value in val_logs.items()})
            callbacks.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        self._eval_data_handler = None
        if epochs > 0 and self.optimizer is not None:
            # With use_ema=True, tf.keras leaves the model holding the averaged weights.
            self.optimizer.finalize_variable_values(self.trainable_variables)
        callbacks.on_train_end(logs=training_logs)
        return self.history

    def _build_from_sample(self, x, batch_size=None):
        # A model that only overrides `train_step` (keras.io's GAN) is never called on the data.
        if not self.built and type(self).call is not Model.call:
            self(x, training=False)

    def _validate_and_get_metrics_result(self, logs):
        """The epoch-to-date metric values when `logs` came from the compiled metrics."""
        metric_logs = self.get_metrics_result()
        if isinstance(logs, dict) and set(logs) == set(metric_logs):
            return metric_logs
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, max_queue_size=10, workers=1,
                 use_multiprocessing=False, return_dict=False, **kwargs):
        self._assert_compiled()
        _warn_sample_weight_without_weighted_metrics(self, sample_weight)
        use_cached = kwargs.pop("_use_cached_eval_dataset", False)
        if kwargs:
            raise TypeError(f"Invalid keyword arguments: {list(kwargs.keys())}")
        verbose = 1 if verbose == "auto" else verbose
        handler = getattr(self, "_eval_data_handler", None) if use_cached else None
        if handler is None:
            handler = data_utils.DataHandler(
                x, y, sample_weight, batch_size=batch_size, steps_per_epoch=steps,
                max_queue_size=max_queue_size, workers=workers,
                use_multiprocessing=use_multiprocessing, model=self)
        callbacks, verbose = callbacks_for_this_rank(callbacks, verbose)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=1,
                                     steps=handler.inferred_steps)
        logs = {}
        executions = _Executions(getattr(self, "_steps_per_execution", 1), handler)
        callbacks.on_test_begin()
        in_flight = predict_pipeline.own_test_step(self) and \
            _predict_in_flight(self, handler, callbacks, predict_pipeline.TEST_HOOKS)
        for _, iterator in handler.enumerate_epochs():
            self.reset_metrics()
            if in_flight:
                logs = self._evaluate_in_flight(handler, iterator, callbacks, logs)
                continue
            with handler.catch_stop_iteration():
                for step in handler.steps():
                    if executions.starts(step):
                        callbacks.on_test_batch_begin(step)
                    with blas_single_threaded("test"):   # the kernels split their work in two
                        logs = _numpy_logs(self.test_step(next(iterator)))
                    if executions.ends(step):
                        callbacks.on_test_batch_end(step, logs)
            if executions.unfinished is not None:
                callbacks.on_test_batch_end(executions.finish(), logs)
        logs = self._validate_and_get_metrics_result(logs)
        callbacks.on_test_end(logs=logs)
        if return_dict:
            return logs
        return _flatten_metrics_in_order(logs, self.metrics_names)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                max_queue_size=10, workers=1, use_multiprocessing=False):
        verbose = 1 if verbose == "auto" else verbose
        handler = data_utils.DataHandler(
            x, batch_size=batch_size, steps_per_epoch=steps, max_queue_size=max_queue_size,
            workers=workers, use_multiprocessing=use_multiprocessing, model=self)
        callbacks, verbose = callbacks_for_this_rank(callbacks, verbose)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=1,
                                     steps=handler.inferred_steps)
        executions = _Executions(getattr(self, "_steps_per_execution", 1), handler)
        callbacks.on_predict_begin()
        outputs, structure = [], None
        in_flight = _predict_in_flight(self, handler, callbacks)
        for _, iterator in handler.enumerate_epochs():
            if in_flight:
                structure = self._predict_in_flight(handler, iterator, callbacks, outputs)
                continue
            with handler.catch_stop_iteration():
                for step in handler.steps():
                    if executions.starts(step):
                        callbacks.on_predict_batch_begin(step)
                    with blas_single_threaded("predict"):   # the kernels split their work in two
                        result = self.predict_step(next(iterator))
                    outputs.append([np.asarray(o.data if isinstance(o, Tensor) else o)
                                    for o in flatten(result)])
                    structure = result
                    if executions.ends(step):
                        callbacks.on_predict_batch_end(step, {"outputs": executions.outputs(
                            result, outputs)})
            if executions.unfinished is not None:
                callbacks.on_predict_batch_end(executions.finish(), {
                    "outputs": executions.outputs(structure, outputs)})
        if not outputs:
            raise ValueError("Unexpected result of `predict_function` (Empty batch_outputs). "
                             "The input gave no batch to predict on: check that `x` holds at "
                             "least one sample.")
        callbacks.on_predict_end()
        merged = [_batches_joined(parts) for parts in zip(*outputs)]
        # The outputs' structure is kept (a dict stays a dict, even with one entry).
        nested = isinstance(structure, (list, tuple, dict))
        return pack_sequence_as(structure, merged) if nested else merged[0]

    def _predict_in_flight(self, handler, iterator, callbacks, outputs):
        """predict's batches two at a time, each whole on one thread (predict_pipeline.py):
        the same outputs and callbacks, in batch order. Returns the last batch's structure."""
        last = [None]

        def run_batch(batch):
            with blas_single_threaded("predict"):
                result = self.predict_step(batch)
            return result, [np.asarray(o.data if isinstance(o, Tensor) else o)
                            for o in flatten(result)]

        def deliver(step, batch_result):
            result, arrays = batch_result
            callbacks.on_predict_batch_begin(step)
            outputs.append(arrays)
            last[0] = result
            callbacks.on_predict_batch_end(step, {"outputs": result})
        with parallel_batches_in_flight():
            predict_pipeline.run_batches(handler, iterator, run_batch, run_batch, deliver)
        return last[0]

    def _evaluate_in_flight(self, handler, iterator, callbacks, logs):
        """evaluate's forward passes two batches at a time, each whole on one thread
        (predict_pipeline.py); the loss and metrics are updated on this thread in batch order,
        as `test_step` does. Returns the last batch's logs."""
        last = [logs]

        def forward(batch):
            with blas_single_threaded("test"):
                return batch, self(data_utils.unpack(batch)[0], training=False)

        def deliver(step, batch_and_prediction):
            batch, y_pred = batch_and_prediction
            x, y, sample_weight = data_utils.unpack(batch)
            callbacks.on_test_batch_begin(step)
            self.compute_loss(x, y, y_pred, sample_weight)
            last[0] = _numpy_logs(self.compute_metrics(x, y, y_pred, sample_weight))
            callbacks.on_test_batch_end(step, last[0])
        with parallel_batches_in_flight():
            predict_pipeline.run_batches(handler, iterator, forward, forward, deliver)
        return last[0]

    # --- deprecated generator methods (tf.keras 2 keeps them, with a warning) --------------------
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1,
                      class_weight=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                      shuffle=True, initial_epoch=0):
        """Deprecated: `fit` accepts generators."""
        warnings.warn("`Model.fit_generator` is deprecated and will be removed in a future "
                      "version. Please use `Model.fit`, which supports generators.",
                      stacklevel=2)
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs,
                        verbose=verbose, callbacks=callbacks, validation_data=validation_data,
                        validation_steps=validation_steps, validation_freq=validation_freq,
                        class_weight=class_weight, max_queue_size=max_queue_size,
                        workers=workers, use_multiprocessing=use_multiprocessing,
                        shuffle=shuffle, initial_epoch=initial_epoch)

    def evaluate_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                           workers=1, use_multiprocessing=False, verbose=0):
        """Deprecated: `evaluate` accepts generators."""
        warnings.warn("`Model.evaluate_generator` is deprecated and will be removed in a future "
                      "version. Please use `Model.evaluate`, which supports generators.",
                      stacklevel=2)
        return self.evaluate(generator, steps=steps, max_queue_size=max_queue_size,
                             workers=workers, use_multiprocessing=use_multiprocessing,
                             verbose=verbose, callbacks=callbacks)

    def predict_generator(self, generator, steps=None, callbacks=None, max_queue_size=10,
                          workers=1, use_multiprocessing=False, verbose=0):
        """Deprecated: `predict` accepts generators."""
        warnings.warn("`Model.predict_generator` is deprecated and will be removed in a future "
                      "version. Please use `Model.predict`, which supports generators.",
                      stacklevel=2)
        return self.predict(generator, steps=steps, max_queue_size=max_queue_size,
                            workers=workers, use_multiprocessing=use_multiprocessing,
                            verbose=verbose, callbacks=callbacks)

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        self._assert_compiled()
        if reset_metrics:
            self.reset_metrics()
        x, y, sample_weight = data_utils.single_batch(x, y, sample_weight)
        if class_weight is not None:
            sample_weight = data_utils.class_weights_to_sample_weights(y, class_weight, sample_weight)
        self._build_from_sample(x)
        with self._respect_compiled_trainable_state(), blas_single_threaded("train"):
            logs = self._run_train_step((x, y, sample_weight))
        return _logs_to_return(logs, self.metrics_names, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._assert_compiled()
        if reset_metrics:
            self.reset_metrics()
        x, y, sample_weight = data_utils.single_batch(x, y, sample_weight)
        with blas_single_threaded("test"):   # the kernels split their work in two
            logs = self.test_step((x, y, sample_weight))
        return _logs_to_return(logs, self.metrics_names, return_dict)

    def predict_on_batch(self, x):
        with blas_single_threaded("predict"):   # the kernels split their work in two
            result = self.predict_step((data_utils.to_numpy(x),))
        merged = [np.asarray(o.data) for o in flatten(result)]
        return pack_sequence_as(result, merged) if len(merged) > 1 else merged[0]

    # --- tf.keras 2's step-function hooks --------------------------------------------------------
    # Flask apps call `model.make_predict_function()` once after `load_model` (a Keras 2.2
    # thread-safety idiom carried over); custom loops call the function on a batch iterator.
    train_function = test_function = predict_function = None

    def make_train_function(self, force=False):
        """A function of an iterator of batches running one training step on the next batch
        (metrics accumulate, as in `fit`) and returning the logs."""
        if self.train_function is None or force:
            self.train_function = lambda iterator: self.train_on_batch(
                *data_utils.unpack(next(iterator)), reset_metrics=False, return_dict=True)
        return self.train_function

    def make_test_function(self, force=False):
        """As `make_train_function`, for one evaluation step."""
        if self.test_function is None or force:
            self.test_function = lambda iterator: self.test_on_batch(
                *data_utils.unpack(next(iterator)), reset_metrics=False, return_dict=True)
        return self.test_function

    def make_predict_function(self, force=False):
        """As `make_train_function`: the model's outputs for the next batch."""
        if self.predict_function is None or force:
            self.predict_function = lambda iterator: self.predict_on_batch(
                data_utils.unpack(next(iterator))[0])
        return self.predict_function

    @property
    def state_updates(self):
        warnings.warn("`Model.state_updates` will be removed in a future version. This property "
                      "should not be used in TensorFlow 2.0, as `updates` are applied "
                      "automatically.", stacklevel=2)
        return []

    # --- weights and saving ---------------------------------------------------------------------
    def get_weights(self):
        values = []
        for slot in self._weight_slots():
            values += slot.get_weights() if isinstance(slot, Layer) else [np.array(slot.data)]
        return values

    def set_weights(self, weights):
        slots = self._weight_slots()
        sizes = [len(slot.get_weights()) if isinstance(slot, Layer) else 1 for slot in slots]
        if sum(sizes) != len(weights):
            raise ValueError(
                f"You called `set_weights(weights)` on layer \"{self.name}\" with a weight list of "
                f"length {len(weights)}, but the layer was expecting {sum(sizes)} weights.")
        values, start = [], 0
        for slot, size in zip(slots, sizes):   # a lookup layer takes its list, a variable one
            chunk = list(weights[start:start + size])
            values.append(chunk if isinstance(slot, Layer) else np.asarray(chunk[0]))
            start += size
        for slot, value in zip(slots, values):  # check every shape before assigning any
            if not isinstance(slot, Layer) and value.shape != slot.shape:
                raise ValueError(f"Layer {self.name} weight shape {slot.shape} is not compatible "
                                 f"with provided weight shape {value.shape}.")
        for slot, value in zip(slots, values):
            if isinstance(slot, Layer):
                slot.set_weights(value)
            else:
                slot.assign(value)

    def _weight_slots(self):
        """`weights`, except that a layer holding an adapted vocabulary (StringLookup,
        IntegerLookup, TextVectorization directly in this model) stands in its place for its own
        `get_weights()` list: tf.keras 2 lists such a vocabulary (its VocabWeightHandler) among
        the model's weights, so `get_weights()` / `set_weights()` carry it (keras.io structured
        data classification). A lookup nested in a custom layer is left out."""
        if not any(getattr(source, "_vocabulary_is_a_weight", False)
                   for source in self._weight_sources()):
            return self.weights
        self._assert_weights_created()
        slots = []
        for source in self._weight_sources():
            if getattr(source, "_vocabulary_is_a_weight", False) and source.get_weights():
                slots.append(source)
            else:
                slots += source.weights
        slots += [w for w in self._own_weights if w.trainable and self.trainable]
        slots += [w for w in self._own_weights if not (w.trainable and self.trainable)]
        return _dedup(slots)

    def _weight_sources(self):
        """The tracked layers with the metrics set as attributes of the model among them, in
        the order they were set: tf.keras 2 lists a model's weights child by child, and a
        metric attribute is a child (its variables are non-trainable weights; compiled and
        `add_metric` metrics are not). A metric whose anchor layer left the model goes last."""
        attribute_metrics = self.__dict__.get("_attribute_metrics", ())
        if not attribute_metrics:
            return list(self._tracked_layers)
        layers = list(self._tracked_layers)
        present = {id(layer) for layer in layers} | {id(None)}
        after = {}      # id of the anchor -> the metrics set right after it
        for metric, anchor in attribute_metrics:
            key = id(anchor) if id(anchor) in present else "end"
            after.setdefault(key, []).append(metric)
        sources = list(after.get(id(None), []))
        for layer in layers:
            sources.append(layer)
            sources.extend(after.get(id(layer), []))
        return sources + after.get("end", [])

    def _assert_weights_created(self):
        """tf.keras refuses to list the weights of an unbuilt model whose own class defines
        `build` (a Sequential without an input shape, as the Sequential guide shows)."""
        if self.dynamic or self.built or "build" not in type(self).__dict__:
            return
        raise ValueError(
            f"Weights for model '{self.name}' have not yet been created. Weights are created "
            "when the model is first called on inputs or `build()` is called with an "
            "`input_shape`.")

    @property
    def weights(self):
        self._assert_weights_created()
        weights = []
        for source in self._weight_sources():
            weights += source.weights
        weights += [w for w in self._own_weights if w.trainable and self.trainable]
        weights += [w for w in self._own_weights if not (w.trainable and self.trainable)]
        return _dedup(weights)

    @property
    def trainable_weights(self):
        self._assert_weights_created()
        if not self.trainable:
            return []
        weights = []
        for layer in self._tracked_layers:
            weights += layer.trainable_weights
        weights += [w for w in self._own_weights if w.trainable]
        return _dedup(weights)

    @property
    def non_trainable_weights(self):
        self._assert_weights_created()
        if not self.trainable:
            return self.weights
        weights = []
        for source in self._weight_sources():
            weights += source.non_trainable_weights
        weights += [w for w in self._own_weights if not w.trainable]
        return _dedup(weights)

    def __reduce_ex__(self, protocol):
        """A built model pickles as the bytes of its `.keras` archive, as tf.keras does (the
        graph keys tensors by identity: copying the objects one by one would break it)."""
        if self.built:
            from ..saving import model_from_bytes, model_to_bytes
            return model_from_bytes, (model_to_bytes(self),)
        return super().__reduce_ex__(protocol)

    def __deepcopy__(self, memo):
        if self.built:
            from ..saving import model_from_bytes, model_to_bytes
            new = model_from_bytes(model_to_bytes(self))
            memo[id(self)] = new
            return new
        new = object.__new__(type(self))     # an unbuilt model: attribute by attribute
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            object.__setattr__(new, key, copy.deepcopy(value, memo))
        return new

    def __copy__(self):
        return self.__deepcopy__({})     # tf.keras: a copy of a model is a deep copy

    def save_weights(self, filepath, overwrite=True, save_format=None, options=None):
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite, save_format=save_format,
                     options=options)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False, options=None):
        from ..saving import load_weights
        return load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch,
                            options=options)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None,
             signatures=None, options=None, save_traces=True):
        from ..saving import save_model
        # SavedModel-only arguments, passed on when given (the other formats refuse them)
        extra = {name: value for name, value in (("signatures", signatures),
                                                 ("options", options)) if value is not None}
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                   save_format=save_format, **extra)

    def get_config(self):
        if getattr(self, "_nodes_in_order", None) is not None:
            return serialization.functional_config(self)
        return serialization.subclassed_model_config(
            self, overridden=type(self).get_config is not Model.get_config)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            return serialization.functional_from_config(config, custom_objects=custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        return serialization.model_to_json(self, **kwargs)

    def to_yaml(self, **kwargs):
        """Removed in tf.keras 2.6 (Keras 2 scripts still call it): raises as tf.keras does."""
        raise RuntimeError("Method `model.to_yaml()` has been removed due to security risk of "
                           "arbitrary code execution. Please use `model.to_json()` instead.")


register_builtins("layers", {"Model": Model})   # configs name models among layers
# `GradientTape.gradient` outside a step (custom training loops) under fit's BLAS thread policy.
set_backward_scope(lambda: blas_single_threaded("gradient"))


def _get_layer(layers, name, index):
    if index is not None and name is not None:
        raise ValueError("Provide only a layer name or a layer index. Received: "
                         f"index={index}, name={name}.")
    if index is not None:
        if len(layers) <= index:
            raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                             f"{len(layers)} layers.")
        return layers[index]
    if name is not None:
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}. Existing layers are: "
                         f"{[layer.name for layer in layers]}.")
    raise ValueError("Provide either a layer name or layer index at `get_layer`.")



def _input_signature(data):
    """Shapes and dtypes of every array of a batch: what makes tf.function trace anew."""
    return tuple((tuple(np.shape(item)), str(getattr(item, "dtype", type(item).__name__)))
                 for item in flatten(data))


def _dedup(weights):
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def _inject_functional_class(cls):
    """Replace `Model` by `Functional` among the bases of `cls` (recursively)."""
    from .functional import Functional
    if cls is Model:
        return Functional
    if not issubclass(cls, Model) or issubclass(cls, Functional):
        return cls
    cls.__bases__ = tuple(_inject_functional_class(base) for base in cls.__bases__)
    return cls


def _is_functional_args(args, kwargs):
    return (len(args) >= 2) or ("inputs" in kwargs and "outputs" in kwargs) or \
        (len(args) == 1 and "outputs" in kwargs)


def _check_steps_per_execution(steps_per_execution):
    """The number of batches per execution; tf.keras' "auto" starts its tuning at 1."""
    if steps_per_execution is None or isinstance(steps_per_execution, (bool, np.bool_)) or \
            (isinstance(steps_per_execution, str) and steps_per_execution == "auto"):
        return 1   # tf.keras also reads True and False as one step
    if not isinstance(steps_per_execution, (int, np.integer)):
        raise TypeError("Expected steps_per_execution to be an integer or 'auto'. Received: "
                        f"steps_per_execution={steps_per_execution!r}")
    if steps_per_execution < 0:
        raise ValueError("Expected steps_per_execution to be positive. Received: "
                         f"steps_per_execution={steps_per_execution}")
    return max(int(steps_per_execution), 1)


def _predict_in_flight(model, handler, callbacks, hooks=predict_pipeline.PREDICT_HOOKS):
    """Whether predict (or evaluate, whose batch `hooks` differ) runs two batches at once
    (predict_pipeline.py): at least two batches (or a generator's unknown count), a model and
    callbacks safe for it, two threads free."""
    steps = handler.inferred_steps
    return (steps is None or steps >= 2) and predict_pipeline.usable() and \
        predict_pipeline.plain_callbacks(callbacks, hooks) and \
        predict_pipeline.in_flight_model(model, handler.batch_size)


class _Executions:
    """Groups an epoch's steps as tf.keras' `steps_per_execution` does.

    tf.keras runs that many batches in one call of its train/test/predict function, so the
    batch callbacks (and the progress bar) see one batch per execution: `begin` with its first
    step, `end` with its last step and the logs after it. Executions start at multiples of
    `size` and are cut at the epoch's end. The weights are the same as with one step each.
    """

    def __init__(self, size, handler):
        self.size, self._handler, self.unfinished = size, handler, None
        self._in_execution = 0

    def starts(self, step):
        if step % self.size == 0:
            self._in_execution = 0
            return True
        return False

    def ends(self, step):
        self._in_execution += 1
        total = self._handler.inferred_steps
        if (step + 1) % self.size == 0 or (total is not None and step + 1 >= total):
            self.unfinished = None
            return True
        self.unfinished = step
        return False

    def finish(self):
        """The last step of an execution the input cut short; `end` has not been called."""
        step, self.unfinished = self.unfinished, None
        return step

    def outputs(self, structure, outputs):
        """predict's batch outputs for the callback: those of the whole execution."""
        if self._in_execution <= 1:
            return structure
        parts = outputs[-self._in_execution:]
        merged = [np.concatenate(columns, axis=0) for columns in zip(*parts)]
        nested = isinstance(structure, (list, tuple, dict))
        return pack_sequence_as(structure, merged) if nested else merged[0]


def _batches_joined(parts):
    """predict's output from its batches' outputs, as tf.keras joins them: concatenated; a
    scalar output (a Loss object's value as a model output) is stacked, one per batch, or a
    Python number when there was one batch."""
    if parts[0].ndim:
        return np.concatenate(parts, axis=0)
    return parts[0].item() if len(parts) == 1 else np.stack(parts)


def _warn_sample_weight_without_weighted_metrics(model, sample_weight):
    """tf.keras' hint (also on every validation of a fit with validation sample weights):
    plain `metrics` ignore sample weights, only `weighted_metrics` use them."""
    if sample_weight is not None and model.compiled_metrics._user_weighted_metrics is None:
        logging.getLogger("minikeras").warning(
            "`evaluate()` received a value for `sample_weight`, but `weighted_metrics` were not "
            "provided.  Did you mean to pass metrics to `weighted_metrics` in `compile()`?  If "
            "this is intentional you can pass `weighted_metrics=[]` to `compile()` in order to "
            "silence this warning.")


def _validation_given(validation_data):
    """tf.keras' `if validation_data`: a bare array (not an `(x, y)` tuple) of several values
    raises NumPy's ambiguous-truth ValueError there, where validating it would report a loss
    of 0 without targets."""
    if validation_data is None:
        return False
    if isinstance(validation_data, (np.ndarray, Tensor)):
        return bool(np.asarray(validation_data.data if isinstance(validation_data, Tensor)
                               else validation_data))
    return True


def _should_validate(epoch, validation_freq):
    """`validation_freq`: every n epochs (int) or the listed 1-based epochs. tf.keras checks
    its type here, at the end of the first epoch that has validation data, and takes a list
    only (a tuple or range raises there too)."""
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    if isinstance(validation_freq, list):
        return (epoch + 1) in validation_freq
    raise ValueError("Expected `validation_freq` to be a list or int. Received: "
                     f"validation_freq={validation_freq} of the type "
                     f"{type(validation_freq)}.")


def _flatten_metrics_in_order(logs, metrics_names):
    """evaluate()'s list: the model's metrics in order, then any other logged key (sorted)."""
    results = [logs[name] for name in metrics_names if name in logs]
    results += [logs[key] for key in sorted(logs) if key not in metrics_names]
    return results[0] if len(results) == 1 else results


def _logs_to_return(logs, names, return_dict):
    if return_dict:
        return logs
    values = [logs[name] for name in names if name in logs]
    return values[0] if len(values) == 1 else values


def _check_legacy_compile_arguments(kwargs):
    """The Keras 2 arguments tf.keras 2.x's compile still takes: `sample_weight_mode` (2-D
    sample weights are applied per timestep anyway), `cloning` and
    `experimental_run_tf_function` are ignored; `distribute` and `target_tensors` must be
    None."""
    kwargs = dict(kwargs)
    kwargs.pop("cloning", None)
    kwargs.pop("experimental_run_tf_function", None)
    kwargs.pop("sample_weight_mode", None)
    distribute = kwargs.pop("distribute", None)
    if distribute is not None:
        raise ValueError("`distribute` argument in compile is not available in TF 2.0. Please "
                         "create the model under the `strategy.scope()`. Received: "
                         f"{distribute}.")
    target_tensors = kwargs.pop("target_tensors", None)
    if target_tensors is not None:
        raise ValueError("`target_tensors` argument is not supported when executing eagerly. "
                         f"Received: {target_tensors}.")
    if kwargs:
        raise TypeError(f"Invalid keyword argument(s) in `compile()`: ({set(kwargs)},). Valid "
                        "keyword arguments include \"cloning\", \"experimental_run_tf_"
                        "function\", \"distribute\", \"target_tensors\", or "
                        "\"sample_weight_mode\".")


# id(model) -> its `_FitStructure` while a fit of it runs (`_FIT_STRUCTURE_PENDING` until its
# first step has built the layers). Keyed by identity, not kept on the model: a copy of the
# model (a callback's deepcopy) reads its own structure afresh.
_FIT_STRUCTURES = {}
_FIT_STRUCTURE_PENDING = object()


class _FitStructure:
    """What the default train step reads from the model's structure, walked once per fit:
    the layers (self first, as `_flatten_layers` gives them; their losses and `add_metric`
    metrics are read from them at every step) and the trainable weights. tf.keras traces its
    train function once, so a layer added or a `trainable` flag changed during a fit (by a
    callback) takes effect at the next compile there; here at the next fit. A model
    overriding `losses`, `metrics` or `trainable_weights` is asked at every step."""

    def __init__(self, model):
        self.layers = list(model._flatten_layers())
        # per layer, its weights with a regularizer: the losses' order is layer by layer
        self.regularized = [[w for w in layer._own_weights if w.regularizer is not None]
                            for layer in self.layers]
        model_type = type(model)
        self.plain_losses = model_type.losses is Layer.losses
        self.plain_metrics = model_type.metrics is Model.metrics
        self.trainable_weights = model.trainable_weights


@contextlib.contextmanager
def _structure_walked_once(model):
    """Around a fit: its first step walks the model's structure, the others reuse the walk
    (a fit of the same model nested in a callback walks again; the outer one's is restored)."""
    key = id(model)
    previous = _FIT_STRUCTURES.get(key)
    _FIT_STRUCTURES[key] = _FIT_STRUCTURE_PENDING
    try:
        yield
    finally:
        if previous is None:
            _FIT_STRUCTURES.pop(key, None)
        else:
            _FIT_STRUCTURES[key] = previous


def _losses_of_walked_layers(layers, regularized):
    """`Layer.losses` (`losses_of_layers`) over a fit's walked layers, each layer's
    regularized weights listed already (`_FitStructure`): the same losses in the same order."""
    result = []
    for layer, weights in zip(layers, regularized):
        if layer._extra_losses:
            result.extend(layer._extra_losses)
        if layer._activity_losses:
            result.extend(layer._activity_losses)
        for weight in weights:
            result.append(weight.regularizer(weight))
        if layer._callable_losses:
            result.extend(loss() for loss in layer._callable_losses)
    return result


# ids of the models running a fit step whose logs nobody reads (no callback reads a batch's
# end): their default train step updates the compiled metrics and returns `_UNREAD_LOGS`
# instead of the metrics' results, which the fit reads at the epoch's end.
_STEP_LOGS_UNREAD = set()
_UNREAD_LOGS = object()


def _step_logs_unread(model):
    """Whether `model`'s train step is the default one, whose logs a fit may leave unmade."""
    kind = type(model)
    return kind.train_step is Model.train_step and \
        kind.compute_metrics is Model.compute_metrics and \
        kind.get_metrics_result is Model.get_metrics_result and \
        not {"train_step", "compute_metrics", "get_metrics_result"} & vars(model).keys()


_TRAIN_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin",
                      "on_batch_end")


def _batch_hooks_used(callbacks):
    """Whether a callback of the CallbackList `callbacks` implements a training batch hook
    (or its Keras 1 alias): tf.keras' CallbackList calls them only then. A hook counts as
    implemented unless it is `Callback`'s own method (an override in the class, a function
    set on the instance as LambdaCallback does, a wrapper from `__getattribute__`). Anything
    other than a CallbackList of Callbacks counts as implementing them."""
    if type(callbacks) is not CallbackList:
        return True
    for callback in callbacks.callbacks:
        if not isinstance(callback, Callback):
            return True
        for name in _TRAIN_BATCH_HOOKS:
            if getattr(getattr(callback, name), "__func__", None) is not getattr(Callback, name):
                return True
    return False


def _metric_value(result):
    """A metric's result in the logs: a Python float, or an array for a metric giving one value
    per class or threshold (F1Score, Precision(thresholds=[...])), as tf.keras' logs hold it."""
    value = np.asarray(unwrap(result))
    return float(value) if value.ndim == 0 else value


def _numpy_logs(logs):
    """Step logs as callbacks see them in tf.keras (`sync_to_numpy_or_python_type`): a
    custom `train_step` may return Tensors, which become Python numbers (scalars) or arrays."""
    if not isinstance(logs, dict):
        return logs
    if all(type(value) is float for value in logs.values()):   # the compiled metrics' logs
        return dict(logs)

    def plain(value):
        if isinstance(value, Tensor):
            value = value.numpy()
        if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0:
            return value.item()
        return value
    return {name: plain(value) for name, value in logs.items()}


# --- mixed precision (tf.keras' Model.compile and train_step under 'mixed_float16') --------
def _loss_scaled_if_float16(model, optimizer):
    """A model computing in float16 trains through a LossScaleOptimizer, as tf.keras' does."""
    if model.dtype_policy.compute_dtype == "float16" and optimizer is not None and \
            not isinstance(optimizer, LossScaleOptimizer):
        return LossScaleOptimizer(optimizer)
    return optimizer


def _scaled_loss(optimizer, loss):
    if isinstance(optimizer, LossScaleOptimizer) and loss is not None:
        return optimizer.get_scaled_loss(loss)
    return loss


def _gradients(optimizer, target, variables):
    """The gradients of the (scaled) loss; unscaled under a LossScaleOptimizer, where an
    overflow to inf/NaN is expected now and then (that step is skipped, without warnings)."""
    if not isinstance(optimizer, LossScaleOptimizer):
        return compute_gradients(target, variables)
    with np.errstate(over="ignore", invalid="ignore"):
        return optimizer.get_unscaled_gradients(compute_gradients(target, variables))
