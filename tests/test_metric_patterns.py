"""Metric patterns of the keras.io guide "Training & evaluation with the built-in methods",
against tf.keras 2.21 (tests/fixtures/keras_io/metric_patterns.*): a custom metric counting
`cast(y_true) == cast(y_pred)` (elementwise tensor equality, as TF's), and a layer holding a
metric object whose call's result goes to `add_metric` (tracked under the metric's own name)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
import minikeras.backend as K
from minikeras import layers

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "keras_io")
ARRAYS = np.load(os.path.join(HERE, "metric_patterns.npz"))
EXPECTED = json.load(open(os.path.join(HERE, "metric_patterns.json")))


class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_weight(name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = K.reshape(K.argmax(y_pred, axis=1), (-1, 1))
        values = K.cast(y_true, "int32") == K.cast(y_pred, "int32")
        values = K.cast(values, "float32")
        if sample_weight is not None:
            values = values * K.cast(sample_weight, "float32")
        self.true_positives.assign_add(K.sum(values))

    def result(self):
        return self.true_positives

    def reset_states(self):
        self.true_positives.assign(0.0)


class LogisticEndpoint(keras.layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.accuracy_fn = keras.metrics.BinaryAccuracy()

    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        acc = self.accuracy_fn(targets, logits, sample_weights)
        self.add_metric(acc, name="accuracy")
        return K.softmax(logits)


def test_tensor_equality_is_elementwise_as_tf():
    a, b = K.constant([1.0, 2.0, 3.0]), K.constant([1.0, 5.0, 3.0])
    np.testing.assert_array_equal(np.asarray(a == b), [True, False, True])
    np.testing.assert_array_equal(np.asarray(a != b), [False, True, False])
    np.testing.assert_array_equal(np.asarray(a == np.array([3.0, 2.0, 1.0])), [False, True, False])
    assert (a == None) is False and (a != None) is True          # noqa: E711
    assert (a == K.constant([1.0, 2.0])) is False                # shapes that do not broadcast
    variable = K.variable([1.0, 2.0])
    assert {variable: "kept"}[variable] == "kept"                # still hashable, by identity
    assert [variable, a].index(a) == 1 and a in [variable, a]    # found by identity first


def test_custom_metric_counting_equal_tensors_matches_tf_keras():
    inputs = keras.Input((6,))
    model = keras.Model(inputs, layers.Dense(4, activation="softmax")(inputs))
    model.set_weights([ARRAYS["kernel"], ARRAYS["bias"]])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="sparse_categorical_crossentropy",
                  metrics=[CategoricalTruePositives()])
    history = model.fit(ARRAYS["x"], ARRAYS["y"], batch_size=8, epochs=2, shuffle=False,
                        verbose=0)
    expected = EXPECTED["ctp_history"]
    assert sorted(history.history) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(history.history[key], expected[key], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(ARRAYS["x"], ARRAYS["y"], batch_size=8, verbose=0),
                               EXPECTED["ctp_evaluate"], rtol=1e-5)


def test_metric_object_given_to_add_metric_is_tracked_under_its_own_name():
    e_inputs, e_targets = keras.Input((3,), name="inputs"), keras.Input((4,), name="targets")
    logits = layers.Dense(4)(e_inputs)
    model = keras.Model([e_inputs, e_targets],
                        LogisticEndpoint(name="predictions")(e_targets, logits))
    model.set_weights([ARRAYS["e_kernel"], ARRAYS["e_bias"]])
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    data = {"inputs": ARRAYS["e_inputs"], "targets": ARRAYS["e_targets"]}
    history = model.fit(data, batch_size=4, epochs=2, shuffle=False, verbose=0)
    expected = EXPECTED["endpoint_history"]
    assert sorted(history.history) == sorted(expected)
    for key in expected:
        np.testing.assert_allclose(history.history[key], expected[key], rtol=1e-5)
    np.testing.assert_allclose(model.evaluate(data, batch_size=4, verbose=0),
                               EXPECTED["endpoint_evaluate"], rtol=1e-5)
    assert model.metrics_names == EXPECTED["endpoint_metrics_names"]


@pytest.mark.parametrize("name", ["mean_metric", None])
def test_add_metric_of_a_plain_value_still_needs_and_uses_a_name(name):
    layer = keras.layers.Layer()
    if name is None:
        with pytest.raises(ValueError, match="provide a name"):
            layer.add_metric(K.constant(2.0))
        return
    layer.add_metric(K.constant(2.0), name=name)
    layer.add_metric(K.constant(4.0), name=name)
    assert [m.name for m in layer._added_metrics] == [name]
    assert float(layer._added_metrics[0].result()) == 3.0
