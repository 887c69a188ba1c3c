"""Masking and how masks travel: compute_mask, supports_masking, merge layers combining masks,
layers that take a `mask` call argument, Sequential and functional models."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers
from gradcheck import check_layer_gradients

RNG = np.random.default_rng(17)


def sequences(mask_value=0.0):
    """(batch 2, 4 timesteps, 3 features) with timesteps 1 and 3 of sample 0 and timestep 0 of
    sample 1 set entirely to `mask_value`; timestep 2 of sample 1 only partly."""
    x = RNG.standard_normal((2, 4, 3)).astype(np.float32) + 5
    x[0, 1] = x[0, 3] = x[1, 0] = mask_value
    x[1, 2, 0] = mask_value
    keep = np.array([[True, False, True, False], [False, True, True, True]])
    return x, keep


def mask_of(tensor):
    mask = getattr(tensor, "_keras_mask", None)
    return None if mask is None else np.asarray(K.get_value(mask) if hasattr(mask, "data") else mask)


class MaskedMean(layers.Layer):
    """Mean over time of the unmasked timesteps (a mask consumer, like GlobalAveragePooling1D)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return K.mean(inputs, axis=1)
        weights = K.expand_dims(K.cast(mask, inputs.dtype), -1)
        return K.sum(inputs * weights, axis=1) / K.sum(weights, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def compute_mask(self, inputs, mask=None):
        return None


@pytest.mark.parametrize("mask_value", [0.0, -1.0])
def test_masking_zeroes_masked_timesteps_and_sets_the_mask(mask_value):
    x, keep = sequences(mask_value)
    layer = layers.Masking(mask_value=mask_value)
    out = layer(x)
    np.testing.assert_array_equal(out.numpy(), x * keep[..., None])
    np.testing.assert_array_equal(mask_of(out), keep)
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(x)), keep)
    assert layer.compute_output_shape((None, 4, 3)) == (None, 4, 3)
    assert layer.supports_masking


def test_masking_config_and_gradient(float64):
    layer = layers.Masking(mask_value=2.5)
    config = layer.get_config()
    assert config["mask_value"] == 2.5
    assert layers.Masking.from_config(config).get_config() == config
    assert layers.Masking().get_config()["mask_value"] == 0.0
    # No timestep equals the mask value: the layer is the identity there.
    check_layer_gradients(layers.Masking(), RNG.standard_normal((2, 3, 2)) + 3)
    x, keep = sequences()
    t = K.variable(x.astype(np.float64))
    with keras.GradientTape() as tape:
        out = layers.Masking()(t)
    np.testing.assert_array_equal(tape.gradient(out, t).numpy(), np.broadcast_to(keep[..., None], x.shape))


def test_mask_passes_through_layers_that_support_masking():
    x, keep = sequences()
    masked = layers.Masking()(x)
    for layer in (layers.Dense(2), layers.ReLU(), layers.Activation("tanh"), layers.LeakyReLU(),
                  layers.PReLU(), layers.ELU(), layers.Dropout(0.5), layers.ActivityRegularization()):
        masked = layer(masked)
        np.testing.assert_array_equal(mask_of(masked), keep, err_msg=layer.name)
    # Layers without mask support drop it, as in tf.keras.
    assert mask_of(layers.Flatten()(layers.Masking()(x))) is None
    assert mask_of(layers.Reshape((12,))(layers.Masking()(x))) is None
    assert mask_of(layers.Lambda(lambda t: t * 2)(layers.Masking()(x))) is None


def test_merge_layers_combine_masks():
    x, keep = sequences()
    y = x.copy()
    y[:, 2] = 0.0                                    # masks timestep 2 everywhere
    keep_y = keep.copy()
    keep_y[:, 2] = False
    a, b = layers.Masking()(x), layers.Masking()(y)
    for layer in (layers.Add(), layers.Multiply(), layers.Average(), layers.Maximum()):
        np.testing.assert_array_equal(mask_of(layer([a, b])), keep & keep_y)
    unmasked = K.constant(x)
    np.testing.assert_array_equal(mask_of(layers.Subtract()([a, unmasked])), keep)
    # Concatenate on the feature axis: a timestep is kept where every input keeps it.
    np.testing.assert_array_equal(mask_of(layers.Concatenate()([a, b])), keep & keep_y)
    np.testing.assert_array_equal(mask_of(layers.Concatenate()([a, unmasked])), keep)
    # ... on the time axis: the masks are joined.
    joined = layers.Concatenate(axis=1)([a, b])
    np.testing.assert_array_equal(mask_of(joined), np.concatenate([keep, keep_y], axis=1))
    assert mask_of(layers.Dot(axes=2)([a, b])) is None


def test_merge_compute_mask_errors():
    with pytest.raises(ValueError, match="`mask` should be a list"):
        layers.Add().compute_mask([np.ones((1, 2))] * 2, np.ones((1,), bool))
    with pytest.raises(ValueError, match="The lists `inputs` and `mask` should have the same length"):
        layers.Add().compute_mask([np.ones((1, 2))] * 2, [None])
    assert layers.Concatenate().compute_mask([np.ones((1, 2))] * 2, [None, None]) is None


def test_layers_with_a_mask_argument_receive_the_mask():
    x, keep = sequences()
    out = MaskedMean()(layers.Masking()(x))
    expected = (x * keep[..., None]).sum(1) / keep.sum(1, keepdims=True)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    # Softmax takes its mask from the previous layer's compute_mask.
    scores = RNG.standard_normal((2, 5)).astype(np.float32)
    scores[:, 1] = 0.0
    attended = layers.Softmax()(layers.Lambda(lambda t: t, mask=lambda t, m: K.not_equal(t, 0))(scores))
    kept = np.where(scores != 0, np.exp(scores), 0)
    np.testing.assert_allclose(attended.numpy(), kept / kept.sum(-1, keepdims=True), rtol=1e-5, atol=1e-7)


def test_lambda_function_receives_the_mask():
    x, keep = sequences()
    seen = []
    layers.Lambda(lambda t, mask=None: seen.append(mask) or t)(layers.Masking()(x))
    np.testing.assert_array_equal(np.asarray(seen[0]), keep)


def test_masks_in_functional_models():
    inputs = keras.Input((4, 3))
    masked = layers.Masking()(inputs)
    assert masked._keras_mask is not None            # the symbolic tensor is known to carry a mask
    hidden = layers.Dense(5, activation="relu")(masked)
    pooled = MaskedMean()(hidden)
    model = keras.Model(inputs, [pooled, hidden])
    x, keep = sequences()
    pooled_out, hidden_out = model(x)
    dense = model.layers[2]
    kernel, bias = dense.get_weights()
    h = np.maximum(x @ kernel + bias, 0)     # masked timesteps are excluded from the mean below
    expected = (h * keep[..., None]).sum(1) / keep.sum(1, keepdims=True)
    np.testing.assert_allclose(pooled_out.numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(mask_of(hidden_out), keep)


def test_masks_in_sequential_models_and_training():
    model = keras.Sequential([layers.Masking(input_shape=(None, 3)), layers.Dense(4, activation="tanh"),
                              MaskedMean(), layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.05), "mse")
    x, keep = sequences()
    # Masked timesteps are skipped: each sample predicts as if they were not there.
    full = model.predict(x, verbose=0)
    for i in range(2):
        shortened = model.predict(x[i:i + 1, keep[i]], verbose=0)
        np.testing.assert_allclose(full[i:i + 1], shortened, rtol=1e-5, atol=1e-6)
    y = np.ones((2, 1), np.float32)
    losses = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
