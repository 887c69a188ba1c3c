"""`keras.models.experimental`: `SharpnessAwareMinimization` (Foret et al., 2020)."""
import copy

import numpy as np

from ..core.nest import flatten
from ..core.serialization import serialize_keras_object
from ..core.tensor import compute_gradients, recording_scope, unwrap
from ..layers.serialization import deserialize as deserialize_layer
from . import data_adapters as data_utils
from .training import Model


class SharpnessAwareMinimization(Model):
    """Trains `model` with SAM: each step first moves the weights `rho` along the normalised
    gradient (towards higher loss), takes the gradient there, moves back, and applies that
    gradient. With `num_batch_splits`, each batch is split into that many equal parts whose
    SAM gradients are summed.

    Example:

        inner = keras.Sequential([keras.layers.Dense(1, input_shape=(4,))])
        sam = keras.models.experimental.SharpnessAwareMinimization(inner, rho=0.05)
        sam.compile(optimizer="sgd", loss="mse")
        sam.fit(np.ones((8, 4)), np.ones((8, 1)), verbose=0)
    """

    def __init__(self, model, rho=0.05, num_batch_splits=None, name=None):
        super().__init__(name=name)
        self.model = model
        self.rho = rho
        self.num_batch_splits = num_batch_splits

    def call(self, inputs, **kwargs):
        return self.model(inputs, **kwargs)

    def train_step(self, data):
        x, y, sample_weight = data_utils.unpack(data)
        variables = self.model.trainable_variables
        summed, predictions = None, []
        for part_x, part_y, part_weight in self._batch_parts(x, y, sample_weight):
            # tf.keras takes the first gradient in inference mode (`self(x)`, training unset)
            # and without the regularization losses, the second one in training mode.
            gradients, y_pred = self._loss_gradients(part_x, part_y, part_weight, variables,
                                                     None)
            predictions.append(unwrap(y_pred))   # the metrics see these first predictions
            steps = self._ascent_steps(gradients)
            for variable, step in zip(variables, steps):
                variable.assign_add(step)
            gradients = self._loss_gradients(part_x, part_y, part_weight, variables, True)[0]
            for variable, step in zip(variables, steps):
                variable.assign_add(-step)
            summed = gradients if summed is None else [
                total + gradient for total, gradient in zip(summed, gradients)]
        self.optimizer.apply_gradients(zip(summed, variables))
        y_pred = np.concatenate(predictions, axis=0) if len(predictions) > 1 else predictions[0]
        self.compiled_metrics.update_state(y, y_pred, sample_weight)
        return self.get_metrics_result()

    def _loss_gradients(self, x, y, sample_weight, variables, training):
        with recording_scope():
            y_pred = self(x, training=training)
            loss = self.compiled_loss(y, y_pred, sample_weight)
        return [unwrap(g) for g in compute_gradients(loss, variables)], y_pred

    def _ascent_steps(self, gradients):
        norm = np.sqrt(sum(np.square(np.linalg.norm(g.ravel())) for g in gradients))
        scale = np.float32(self.rho / (np.float32(norm) + np.float32(1e-12)))
        return [(g * scale).astype(g.dtype, copy=False) for g in gradients]

    def _batch_parts(self, x, y, sample_weight):
        splits = self.num_batch_splits
        if splits is None:
            return [(x, y, sample_weight)]
        size = len(flatten(x)[0])
        if size % splits:
            raise ValueError(f"Cannot split a batch of {size} samples into num_batch_splits="
                             f"{splits} equal parts.")

        def parts(value):
            if value is None:
                return [None] * splits
            return np.split(np.asarray(unwrap(value)), splits)
        return list(zip(parts(x), parts(y), parts(sample_weight)))

    def get_config(self):
        # As tf.keras: num_batch_splits is not part of the config.
        return {"model": serialize_keras_object(self.model), "rho": self.rho}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = copy.deepcopy(config)
        config["model"] = deserialize_layer(config.pop("model"), custom_objects=custom_objects)
        return cls(**config)
