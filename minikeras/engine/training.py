"""Model: a Layer with compile / fit / evaluate / predict."""
import copy

import numpy as np

from ..backend.tensor import Tensor, compute_gradients, recording_scope
from .base_layer import Layer
from .keras_tensor import flatten, pack_sequence_as
from . import data as data_utils
from . import compile_utils


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
        graph_args = _is_functional_args(args, kwargs)
        inputs = outputs = None
        if graph_args:
            inputs = kwargs.pop("inputs", None) if "inputs" in kwargs else args[0]
            outputs = kwargs.pop("outputs", None) if "outputs" in kwargs else args[1]
            args = args[2:]
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
        if graph_args and type(self).__name__ != "Functional" and not hasattr(self, "_nodes_in_order"):
            from .functional import Functional
            Functional._init_graph(self, inputs, outputs)

    # --- structure -------------------------------------------------------------------------
    @property
    def layers(self):
        return [layer for layer in self._tracked_layers]

    def get_layer(self, name=None, index=None):
        from .functional import _get_layer
        return _get_layer(self.layers, name, index)

    def call(self, inputs, training=None, mask=None):
        if getattr(self, "_nodes_in_order", None) is not None:
            from .functional import Functional
            return Functional.call(self, inputs, training=training, mask=mask)
        raise NotImplementedError(
            f"Model {type(self).__name__} does not have a `call()` method implemented.")

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
        self(sample, training=False)

    def _maybe_build(self, inputs):
        if not self.built:
            self.built = True
            super()._maybe_build(inputs)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        from .summary import print_summary
        if not self.built:
            raise ValueError(
                "This model has not yet been built. Build the model first by calling `build()` or "
                "by calling the model on a batch of data.")
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn,
                      expand_nested=expand_nested, show_trainable=show_trainable,
                      layer_range=layer_range)

    @property
    def metrics(self):
        if self.compiled_loss is None:
            return []
        return self.compiled_loss.metrics + self.compiled_metrics.metrics

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # --- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None,
                weighted_metrics=None, run_eagerly=None, steps_per_execution=None,
                jit_compile=None, pss_evaluation_shards=0, **kwargs):
        from .. import optimizers
        for key in kwargs:
            raise TypeError(f"Invalid keyword argument(s) in `compile()`: {tuple(kwargs)}. "
                            "Valid keyword arguments include \"cloning\", \"experimental_run_tf_"
                            "function\", \"distribute\", \"target_tensors\", or \"sample_weight_mode\".")
        if steps_per_execution not in (None, 1):
            raise NotImplementedError("compile(steps_per_execution=...) other than 1 is not "
                                      "supported by minikeras.")
        self.optimizer = optimizers.get(optimizer)
        self.loss = loss
        self._compile_args = {"loss": loss, "metrics": metrics, "loss_weights": loss_weights,
                              "weighted_metrics": weighted_metrics}
        output_names = self._output_names_for_compile()
        self.compiled_loss = compile_utils.LossesContainer(loss, loss_weights, output_names)
        self.compiled_metrics = compile_utils.MetricsContainer(metrics, weighted_metrics,
                                                               output_names, loss)
        self._is_compiled = True
        self.stop_training = False

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
        return self.compiled_loss(y, y_pred, sample_weight, regularization_losses=self.losses)

    def compute_metrics(self, x, y, y_pred, sample_weight):
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def get_metrics_result(self):
        return {m.name: float(m.result()) for m in self.metrics}

    def train_step(self, data):
        x, y, sample_weight = data_utils.unpack(data)
        with recording_scope():
            y_pred = self(x, training=True)
            loss = self.compute_loss(x, y, y_pred, sample_weight)
        variables = self.trainable_weights
        grads = compute_gradients(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables))
        return self.compute_metrics(x, y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = data_utils.unpack(data)
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
        from ..callbacks import CallbackList
        self._assert_compiled()
        verbose = 1 if verbose == "auto" else verbose
        if validation_split and validation_data is None:
            if data_utils.is_generator(x) or data_utils.is_sequence_like(x):
                raise ValueError("`validation_split` is only supported for Tensors or NumPy arrays,"
                                 f" found following types in the input: {[type(x)]}")
            x, y, sample_weight = (data_utils.to_numpy(a) for a in (x, y, sample_weight))
            (x, y, sample_weight), validation_data = data_utils.split_validation(
                x, y, sample_weight, validation_split)
        if class_weight is not None:
            if isinstance(y, (list, dict)) and len(flatten(y)) > 1:
                raise ValueError("`class_weight` is only supported for Models with a single output.")
            sample_weight = data_utils.class_weights_to_sample_weights(
                data_utils.to_numpy(y), class_weight, sample_weight)
        batches = data_utils.make_batches(x, y, sample_weight, batch_size, shuffle, steps_per_epoch)
        val_batches = None
        if validation_data is not None:
            vx, vy, vsw = data_utils.unpack(tuple(validation_data)) \
                if isinstance(validation_data, (tuple, list)) else (validation_data, None, None)
            val_batches = (vx, vy, vsw)
        self._ensure_built_from_batches(batches)
        callback_list = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=epochs,
                                     steps=batches.steps)
        self.stop_training = False
        self._in_fit = True
        callback_list.on_train_begin()
        logs = {}
        try:
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                callback_list.on_epoch_begin(epoch)
                for step, batch in enumerate(batches.epoch()):
                    callback_list.on_train_batch_begin(step)
                    logs = self.train_step(batch)
                    callback_list.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
                epoch_logs = dict(logs)
                if val_batches is not None and _should_validate(epoch, validation_freq):
                    vx, vy, vsw = val_batches
                    val_logs = self.evaluate(vx, vy, sample_weight=vsw,
                                             batch_size=validation_batch_size or batch_size,
                                             steps=validation_steps, verbose=0, return_dict=True,
                                             _internal=True)
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                callback_list.on_epoch_end(epoch, epoch_logs)
                if self.stop_training:
                    break
        finally:
            self._in_fit = False
        callback_list.on_train_end(epoch_logs if epochs > initial_epoch else {})
        return callback_list.history

    def _ensure_built_from_batches(self, batches):
        if self.built:
            return
        for batch in batches.epoch():
            x, _, _ = batch
            self._build_from_sample(x)
            break

    def _build_from_sample(self, x):
        if not self.built:
            self(x, training=False)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, max_queue_size=10, workers=1,
                 use_multiprocessing=False, return_dict=False, _internal=False, **kwargs):
        from ..callbacks import CallbackList
        self._assert_compiled()
        if kwargs:
            raise TypeError(f"Invalid keyword arguments: {list(kwargs)}")
        verbose = 1 if verbose == "auto" else verbose
        batches = data_utils.make_batches(x, y, sample_weight, batch_size, False, steps)
        callback_list = CallbackList(None if _internal else callbacks, add_progbar=verbose != 0,
                                     model=self, verbose=verbose, epochs=1, steps=batches.steps)
        self.reset_metrics()
        callback_list.on_test_begin()
        logs = {}
        for step, batch in enumerate(batches.epoch()):
            callback_list.on_test_batch_begin(step)
            logs = self.test_step(batch)
            callback_list.on_test_batch_end(step, logs)
        logs = self.get_metrics_result()
        callback_list.on_test_end(logs)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                max_queue_size=10, workers=1, use_multiprocessing=False):
        from ..callbacks import CallbackList
        verbose = 1 if verbose == "auto" else verbose
        batches = data_utils.make_batches(x, None, None, batch_size, False, steps)
        callback_list = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=verbose, epochs=1, steps=batches.steps)
        callback_list.on_predict_begin()
        outputs = []
        for step, batch in enumerate(batches.epoch()):
            callback_list.on_predict_batch_begin(step)
            result = self.predict_step(batch)
            outputs.append([np.asarray(o.data if isinstance(o, Tensor) else o) for o in flatten(result)])
            structure = result
            callback_list.on_predict_batch_end(step, {"outputs": result})
        callback_list.on_predict_end()
        if not outputs:
            raise ValueError("Unexpected result of `predict_function` (Empty batch_outputs). Please "
                             "use `Model.compile(..., run_eagerly=True)`, or `tf.config.run_"
                             "functions_eagerly(True)` for more information of where went wrong, or "
                             "file a issue/bug to `tf.keras`.")
        merged = [np.concatenate(parts, axis=0) for parts in zip(*outputs)]
        return pack_sequence_as(structure, merged) if len(merged) > 1 else merged[0]

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, reset_metrics=True,
                       return_dict=False):
        self._assert_compiled()
        if reset_metrics:
            self.reset_metrics()
        x, y, sample_weight = (data_utils.to_numpy(a) for a in (x, y, sample_weight))
        if class_weight is not None:
            sample_weight = data_utils.class_weights_to_sample_weights(y, class_weight, sample_weight)
        self._build_from_sample(x)
        logs = self.train_step((x, y, sample_weight))
        return _logs_to_return(logs, self.metrics_names, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, reset_metrics=True, return_dict=False):
        self._assert_compiled()
        if reset_metrics:
            self.reset_metrics()
        x, y, sample_weight = (data_utils.to_numpy(a) for a in (x, y, sample_weight))
        logs = self.test_step((x, y, sample_weight))
        return _logs_to_return(logs, self.metrics_names, return_dict)

    def predict_on_batch(self, x):
        result = self.predict_step((data_utils.to_numpy(x),))
        merged = [np.asarray(o.data) for o in flatten(result)]
        return pack_sequence_as(result, merged) if len(merged) > 1 else merged[0]

    # --- weights and saving ---------------------------------------------------------------------
    def get_weights(self):
        return [np.array(w.data) for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        if len(params) != len(weights):
            raise ValueError(
                f"You called `set_weights(weights)` on layer \"{self.name}\" with a weight list of "
                f"length {len(weights)}, but the layer was expecting {len(params)} weights.")
        for param, value in zip(params, weights):
            value = np.asarray(value)
            if value.shape != param.shape:
                raise ValueError(f"Layer {self.name} weight shape {param.shape} is not compatible "
                                 f"with provided weight shape {value.shape}.")
            param.assign(value)

    @property
    def weights(self):
        weights = []
        for layer in self._tracked_layers:
            weights += layer.weights
        weights += [w for w in self._own_weights if w.trainable and self.trainable]
        weights += [w for w in self._own_weights if not (w.trainable and self.trainable)]
        return _dedup(weights)

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        weights = []
        for layer in self._tracked_layers:
            weights += layer.trainable_weights
        weights += [w for w in self._own_weights if w.trainable]
        return _dedup(weights)

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        weights = []
        for layer in self._tracked_layers:
            weights += layer.non_trainable_weights
        weights += [w for w in self._own_weights if not w.trainable]
        return _dedup(weights)

    def save_weights(self, filepath, overwrite=True, save_format=None, options=None):
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite, save_format=save_format)

    def load_weights(self, filepath, by_name=False, skip_mismatch=False, options=None):
        from ..saving import load_weights
        return load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)

    def save(self, filepath, overwrite=True, include_optimizer=True, save_format=None,
             signatures=None, options=None, save_traces=True):
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                   save_format=save_format)

    def get_config(self):
        if getattr(self, "_nodes_in_order", None) is not None:
            from ..saving.serialization import functional_config
            return functional_config(self)
        from ..saving.serialization import subclassed_model_config
        return subclassed_model_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        if "layers" in config and "input_layers" in config:
            from ..saving.serialization import functional_from_config
            return functional_from_config(config, custom_objects=custom_objects)
        return cls(**config)

    def to_json(self, **kwargs):
        from ..saving.serialization import model_to_json
        return model_to_json(self, **kwargs)


def _dedup(weights):
    seen, out = set(), []
    for w in weights:
        if id(w) not in seen:
            seen.add(id(w))
            out.append(w)
    return out


def _is_functional_args(args, kwargs):
    return (len(args) >= 2) or ("inputs" in kwargs and "outputs" in kwargs) or \
        (len(args) == 1 and "outputs" in kwargs)


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _logs_to_return(logs, names, return_dict):
    if return_dict:
        return logs
    values = [logs[name] for name in names if name in logs]
    return values[0] if len(values) == 1 else values
