"""PreprocessingLayer (keras.layers.experimental.preprocessing) and batched adapt().

The Normalization figures for a batched adapt were checked against tf_keras 2.21: adapting on
100x3 values in batches of 7 gives the whole-array mean and variance; `batch_size=7, steps=3`
gives those of the first 21 rows (`/tmp/norm_probe.py` in the session notes).
"""
import numpy as np
import pytest

import minikeras as keras

PreprocessingLayer = keras.layers.experimental.preprocessing.PreprocessingLayer


def _values():
    return np.random.default_rng(0).random((100, 3)).astype(np.float32) * 10


def test_adaptable_layers_are_preprocessing_layers_as_in_tf_keras():
    for layer in (keras.layers.Normalization(), keras.layers.Discretization(num_bins=3),
                  keras.layers.StringLookup(), keras.layers.IntegerLookup(),
                  keras.layers.TextVectorization()):
        assert isinstance(layer, PreprocessingLayer)
        assert not layer.is_adapted
    assert not isinstance(keras.layers.Rescaling(1.0), PreprocessingLayer)


@pytest.mark.parametrize("layer, data", [
    (keras.layers.Normalization(), _values()),
    (keras.layers.Discretization(num_bins=3), _values()),
    (keras.layers.StringLookup(), np.array(["a", "b", "a"])),
    (keras.layers.TextVectorization(), np.array(["a cat", "the dog"])),
])
def test_adapt_marks_the_layer_adapted(layer, data):
    layer.adapt(data)
    assert layer.is_adapted


def test_normalization_adapts_on_a_generator_of_batches():
    values = _values()

    def batches():
        for start in range(0, len(values), 7):
            yield values[start:start + 7]
    layer = keras.layers.Normalization()
    layer.adapt(batches())
    np.testing.assert_allclose(layer.adapt_mean.numpy(), values.mean(0, dtype=np.float64),
                               rtol=1e-6)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), values.var(0, dtype=np.float64),
                               rtol=1e-6)
    assert int(layer.count.numpy()) == 100


def test_normalization_adapt_honours_batch_size_and_steps():
    values = _values()
    layer = keras.layers.Normalization()
    layer.adapt(values, batch_size=7, steps=3)
    np.testing.assert_allclose(layer.adapt_mean.numpy(), values[:21].mean(0, dtype=np.float64),
                               rtol=1e-6)
    np.testing.assert_allclose(layer.adapt_variance.numpy(),
                               values[:21].var(0, dtype=np.float64), rtol=1e-6)


def test_normalization_adapt_on_an_empty_generator_is_refused():
    with pytest.raises(ValueError, match="no data"):
        keras.layers.Normalization().adapt(iter([]))


class _Scale(PreprocessingLayer):
    def reset_state(self):
        self.largest = 0.0

    def update_state(self, data):
        self.largest = max(self.largest, float(np.max(np.abs(data))))

    def call(self, inputs):
        return inputs / self.largest


def test_a_subclass_adapts_through_update_state():
    layer = _Scale()
    layer.compile(run_eagerly=True)   # accepted, as in tf.keras
    layer.adapt(np.array([[1.0, -4.0], [2.0, 3.0]], np.float32), batch_size=1)
    assert layer.is_adapted and layer.largest == 4.0
    np.testing.assert_allclose(np.asarray(layer(np.array([[2.0, 4.0]], np.float32))),
                               [[0.5, 1.0]])


def test_a_subclass_without_update_state_says_so():
    with pytest.raises(NotImplementedError, match="update_state"):
        PreprocessingLayer().adapt(np.zeros((2, 2)))


@pytest.mark.parametrize("make_layer, empty", [
    (lambda: keras.layers.TextVectorization(), np.array([], dtype=str)),
    (lambda: keras.layers.StringLookup(), np.array([], dtype=str)),
    (lambda: keras.layers.IntegerLookup(), np.array([], dtype=np.int64)),
    (lambda: keras.layers.Normalization(), np.zeros((0, 3), np.float32)),
    (lambda: keras.layers.Discretization(num_bins=3), np.zeros((0,), np.float32)),
    (lambda: keras.layers.TextVectorization(), []),
])
def test_adapt_refuses_empty_array_data(make_layer, empty):
    # tf_keras 2.21's words for an empty array (checked in the peer venv); it used to give an
    # empty vocabulary or statistics of nothing here
    with pytest.raises(ValueError, match="Expected input data to be non-empty"):
        make_layer().adapt(empty)
