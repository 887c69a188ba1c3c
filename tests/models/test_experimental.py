"""keras.models.experimental.SharpnessAwareMinimization and keras.metrics.experimental.PyMetric.

`tests/fixtures/models/sam_tf_keras.npz` holds weights and epoch logs from tf_keras 2.21
(`peer_recipes/misc/make_sam_fixture.py`): a Dense(5, tanh) > Dense(2) model wrapped in SAM
(rho 0.05), SGD(0.1, momentum 0.9), mse + mae, 2 epochs of batch 4, whole and in 2 splits.
"""
import os

import numpy as np
import pytest

import minikeras as keras

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "models", "sam_tf_keras.npz")


def _sam(fixture, splits):
    inner = keras.Sequential([keras.layers.Dense(5, activation="tanh", input_shape=(3,)),
                              keras.layers.Dense(2)])
    inner.set_weights([fixture["k1"], fixture["b1"], fixture["k2"], fixture["b2"]])
    sam = keras.models.experimental.SharpnessAwareMinimization(inner, rho=0.05,
                                                               num_batch_splits=splits)
    sam.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse", metrics=["mae"])
    return sam, inner


@pytest.mark.parametrize("splits, tag", [(None, "whole"), (2, "split2")])
def test_sam_training_matches_tf_keras(splits, tag):
    fixture = np.load(FIXTURE)
    sam, inner = _sam(fixture, splits)
    history = sam.fit(fixture["x"], fixture["y"], batch_size=4, epochs=2, shuffle=False,
                      verbose=0)
    for i, weight in enumerate(inner.get_weights()):
        np.testing.assert_allclose(weight, fixture[f"{tag}_w{i}"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(history.history["loss"], fixture[f"{tag}_loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"], fixture[f"{tag}_mae"], rtol=1e-5)


def test_sam_step_is_the_gradient_at_the_ascended_weights():
    """One plain-SGD step on a linear model against the closed form."""
    rng = np.random.default_rng(1)
    x, y = rng.random((6, 3), dtype=np.float32), rng.random((6, 1), dtype=np.float32)
    inner = keras.Sequential([keras.layers.Dense(1, use_bias=False, input_shape=(3,))])
    w = rng.standard_normal((3, 1)).astype(np.float32)
    inner.set_weights([w])
    sam = keras.models.experimental.SharpnessAwareMinimization(inner, rho=0.1)
    sam.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    sam.train_on_batch(x, y)

    def gradient(weights):
        return 2.0 * x.T @ (x @ weights - y) / x.shape[0]
    first = gradient(w.astype(np.float64))
    ascended = w + 0.1 * first / np.linalg.norm(first)
    expected = w - 0.5 * gradient(ascended)
    np.testing.assert_allclose(inner.get_weights()[0], expected, rtol=1e-5, atol=1e-6)


def test_sam_config_round_trip_and_uneven_split():
    fixture = np.load(FIXTURE)
    sam, _ = _sam(fixture, 3)
    config = sam.get_config()
    assert set(config) == {"model", "rho"}
    clone = keras.models.experimental.SharpnessAwareMinimization.from_config(config)
    assert clone.rho == 0.05 and len(clone.model.layers) == 2
    with pytest.raises(ValueError, match="num_batch_splits=3"):
        sam.train_on_batch(fixture["x"][:4], fixture["y"][:4])


class _MedianAbsoluteError(keras.metrics.experimental.PyMetric):
    def update_state(self, y_true, y_pred, sample_weight=None):
        self.errors.extend(np.abs(np.asarray(y_true) - np.asarray(y_pred)).ravel().tolist())

    def reset_state(self):
        self.errors = []

    def result(self):
        return float(np.median(self.errors)) if self.errors else 0.0


def test_py_metric_state_is_created_by_the_constructor_and_reaches_the_logs():
    metric = _MedianAbsoluteError(name="median_ae")
    assert metric.errors == [] and metric.name == "median_ae"
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile("sgd", "mse", metrics=[metric])
    rng = np.random.default_rng(0)
    x, y = rng.random((10, 2), dtype=np.float32), rng.random((10, 1), dtype=np.float32)
    logs = model.evaluate(x, y, batch_size=5, verbose=0, return_dict=True)
    expected = np.median(np.abs(y - model.predict(x, verbose=0)))
    assert logs["median_ae"] == pytest.approx(expected, rel=1e-5)


def test_py_metric_subclass_must_implement_its_methods():
    with pytest.raises(NotImplementedError, match="reset_state"):
        keras.metrics.experimental.PyMetric()
