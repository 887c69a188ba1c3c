"""Merge layers (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot) and
their functional interfaces, checked against NumPy and tf.keras' shape rules."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from gradcheck import check_layer_gradients

RNG = np.random.default_rng(5)

ELEMENTWISE = {
    "Add": (lambda xs: sum(xs), layers.add),
    "Subtract": (lambda xs: xs[0] - xs[1], layers.subtract),
    "Multiply": (lambda xs: np.prod(np.stack(xs), axis=0), layers.multiply),
    "Average": (lambda xs: np.mean(np.stack(xs), axis=0), layers.average),
    "Maximum": (lambda xs: np.max(np.stack(xs), axis=0), layers.maximum),
    "Minimum": (lambda xs: np.min(np.stack(xs), axis=0), layers.minimum),
}


def randn(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@pytest.mark.parametrize("n_inputs", [2, 3])
def test_elementwise_forward_matches_numpy(name, n_inputs):
    if name == "Subtract" and n_inputs == 3:
        pytest.skip("Subtract takes exactly two inputs")
    reference, function = ELEMENTWISE[name]
    xs = [randn(4, 3, 2) for _ in range(n_inputs)]
    out = getattr(layers, name)()(xs)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), reference(xs), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(function(xs).numpy(), reference(xs), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_elementwise_gradients(float64, name):
    xs = [RNG.standard_normal((3, 4)) for _ in range(2)]
    check_layer_gradients(getattr(layers, name)(), xs)


def test_three_input_gradients(float64):
    xs = [RNG.standard_normal((2, 3)) for _ in range(3)]
    for name in ("Add", "Multiply", "Average", "Maximum", "Minimum"):
        check_layer_gradients(getattr(layers, name)(), xs)


def test_lower_rank_inputs_are_expanded_after_the_batch_axis():
    # tf.keras aligns (batch, 3) with (batch, 4, 3) by inserting axes at position 1.
    a, b = randn(2, 3), randn(2, 4, 3)
    np.testing.assert_allclose(layers.Add()([a, b]).numpy(), a[:, None, :] + b, rtol=1e-6)
    np.testing.assert_allclose(layers.Maximum()([b, a]).numpy(), np.maximum(b, a[:, None, :]))
    c = randn(2, 4, 1)
    np.testing.assert_allclose(layers.Multiply()([b, c]).numpy(), b * c, rtol=1e-6)


def test_broadcast_gradients(float64):
    check_layer_gradients(layers.Add(), [RNG.standard_normal((2, 3)), RNG.standard_normal((2, 4, 3))])
    check_layer_gradients(layers.Multiply(), [RNG.standard_normal((2, 4, 1)),
                                              RNG.standard_normal((2, 1, 3))])


@pytest.mark.parametrize("shapes,expected", [
    ([(None, 4, 3), (None, 3)], (None, 4, 3)),
    ([(None, 1, 5), (None, 4, 1)], (None, 4, 5)),
    ([(None, 3), (7, 3)], (7, 3)),
    ([(None, None, 3), (None, 4, 3)], (None, None, 3)),
    ([(None, 2), (None, 2), (None, 1)], (None, 2)),
])
def test_elementwise_compute_output_shape(shapes, expected):
    for name in ("Add", "Multiply", "Average", "Maximum", "Minimum"):
        assert getattr(layers, name)().compute_output_shape(shapes) == expected


def test_elementwise_errors_are_worded_as_keras():
    with pytest.raises(ValueError, match=r"Inputs have incompatible shapes\. Received shapes "
                                         r"\(3,\) and \(4,\)"):
        layers.Add()([randn(2, 3), randn(2, 4)])
    with pytest.raises(ValueError, match=r"Cannot merge tensors with different batch sizes\. "
                                         r"Got tensors with shapes \[\(2, 3\), \(3, 3\)\]"):
        layers.Add()([randn(2, 3), randn(3, 3)])
    with pytest.raises(ValueError, match=r"A merge layer should be called on a list of inputs\. "
                                         r"Received: input_shape=\(2, 3\) \(not a list of shapes\)"):
        layers.Multiply()(randn(2, 3))
    with pytest.raises(ValueError, match=r"A `Subtract` layer should be called on exactly 2 inputs"):
        layers.Subtract()([randn(2, 3)] * 3)
    with pytest.raises(ValueError, match="incompatible shapes"):
        layers.Maximum().compute_output_shape([(None, 3), (None, 5)])


def test_merge_shape_errors_raise_when_the_graph_is_built():
    a, b = keras.Input((3,)), keras.Input((4,))
    with pytest.raises(ValueError, match="Inputs have incompatible shapes"):
        layers.add([a, b])
    with pytest.raises(ValueError, match="A `Concatenate` layer requires inputs with matching shapes"):
        layers.concatenate([keras.Input((2, 3)), keras.Input((4, 5))])
    with pytest.raises(ValueError, match="Incompatible input shapes: axis values 3"):
        layers.dot([a, b], axes=1)


def test_functional_merge_model_runs_and_infers_shapes():
    a, b = keras.Input((4,)), keras.Input((4,))
    added = layers.add([a, b])
    assert added.shape == (None, 4)
    merged = layers.concatenate([added, layers.subtract([a, b]), layers.dot([a, b], axes=1)])
    assert merged.shape == (None, 9)
    model = keras.Model([a, b], merged)
    xa, xb = randn(3, 4), randn(3, 4)
    expected = np.concatenate([xa + xb, xa - xb, np.sum(xa * xb, axis=1, keepdims=True)], axis=1)
    np.testing.assert_allclose(model.predict([xa, xb], verbose=0), expected, rtol=1e-5, atol=1e-6)


def test_inception_style_channel_concatenation():
    inputs = keras.Input((8, 8, 3))
    branches = [layers.Dense(units)(inputs) for units in (2, 4, 3, 1)]
    out = layers.Concatenate(axis=-1)(branches)
    assert out.shape == (None, 8, 8, 10)
    model = keras.Model(inputs, out)
    x = randn(2, 8, 8, 3)
    expected = np.concatenate([layer(x).numpy() for layer in model.layers[1:5]], axis=-1)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


# --- Concatenate ---------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [1, 2, -1, -2])
def test_concatenate_forward_and_shape(axis):
    shapes = [[2, 3, 4], [2, 3, 4], [2, 3, 4]]
    for i, shape in enumerate(shapes):
        shape[axis] += i
    xs = [randn(*s) for s in shapes]
    layer = layers.Concatenate(axis=axis)
    np.testing.assert_array_equal(layer(xs).numpy(), np.concatenate(xs, axis=axis))
    symbolic = [(None,) + tuple(s[1:]) for s in shapes]
    assert layer.compute_output_shape(symbolic) == (None,) + np.concatenate(xs, axis=axis).shape[1:]


def test_concatenate_unknown_sizes():
    layer = layers.Concatenate(axis=1)
    assert layer.compute_output_shape([(None, None, 3), (None, 2, 3)]) == (None, None, 3)
    assert layer.compute_output_shape([(None, 4, None), (None, 2, 3)]) == (None, 6, None)
    out = layer([keras.Input((None, 3)), keras.Input((2, 3))])
    assert out.shape == (None, None, 3)


def test_concatenate_errors():
    message = (r"A `Concatenate` layer requires inputs with matching shapes except for the "
               r"concatenation axis\. Received: input_shape=\[\(2, 2, 5\), \(2, 1, 4\)\]")
    with pytest.raises(ValueError, match=message):
        layers.Concatenate(axis=1)([randn(2, 2, 5), randn(2, 1, 4)])
    with pytest.raises(ValueError, match="matching shapes"):
        layers.Concatenate()([randn(2, 3), randn(2, 3, 1)])
    with pytest.raises(ValueError, match="A `Concatenate` layer should be called on a list"):
        layers.Concatenate().compute_output_shape((None, 3))


def test_concatenate_gradients(float64):
    xs = [RNG.standard_normal((2, 3, k)) for k in (1, 2, 3)]
    check_layer_gradients(layers.Concatenate(), xs)
    check_layer_gradients(layers.Concatenate(axis=1),
                          [RNG.standard_normal((2, 1, 2)), RNG.standard_normal((2, 3, 2))])


# --- Dot -------------------------------------------------------------------------------------
def test_dot_keras_docstring_example():
    x = np.arange(10, dtype=np.float32).reshape(1, 5, 2)
    y = np.arange(10, 20, dtype=np.float32).reshape(1, 2, 5)
    np.testing.assert_array_equal(layers.Dot(axes=(1, 2))([x, y]).numpy(), [[[260, 360], [320, 445]]])


@pytest.mark.parametrize("shape1,shape2,axes,einsum", [
    ((3, 4), (3, 4), 1, "bi,bi->b"),
    ((3, 4), (3, 4), -1, "bi,bi->b"),
    ((3, 5, 4), (3, 4, 6), (2, 1), "bij,bjk->bik"),
    ((3, 5, 4), (3, 6, 4), -1, "bij,bkj->bik"),
    ((3, 5, 4), (3, 5, 2), 1, "bij,bik->bjk"),
    ((3, 4), (3, 4, 2), (1, 1), "bi,bik->bk"),
])
def test_dot_forward_and_shape(shape1, shape2, axes, einsum):
    x, y = randn(*shape1), randn(*shape2)
    layer = layers.Dot(axes=axes)
    out = layer([x, y]).numpy()
    expected = np.einsum(einsum, x, y)
    if expected.ndim == 1:
        expected = expected[:, None]
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    symbolic = [(None,) + shape1[1:], (None,) + shape2[1:]]
    assert layer.compute_output_shape(symbolic) == (None,) + expected.shape[1:]


def test_dot_normalize_gives_cosine_similarity():
    x, y = randn(4, 6), randn(4, 6)
    cosine = np.sum(x * y, axis=1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(y, axis=1))
    out = layers.dot([x, y], axes=1, normalize=True).numpy()
    np.testing.assert_allclose(out, cosine[:, None], rtol=1e-5, atol=1e-6)


def test_dot_gradients(float64):
    check_layer_gradients(layers.Dot(axes=1), [RNG.standard_normal((3, 4)), RNG.standard_normal((3, 4))])
    check_layer_gradients(layers.Dot(axes=(2, 1), normalize=True),
                          [RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, 2))])


def test_dot_argument_and_input_errors():
    with pytest.raises(TypeError, match=r"Invalid type for argument `axes`: it should be a list or "
                                        r"an int\. Received: axes=1\.5"):
        layers.Dot(axes=1.5)
    with pytest.raises(ValueError, match="it should contain two elements"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match="list elements should be integers"):
        layers.Dot(axes=(1, "a"))
    with pytest.raises(ValueError, match=r"Incompatible input shapes: axis values 4 \(at axis 1\) != "
                                         r"5 \(at axis 1\)\. Full input shapes: \(2, 4\), \(2, 5\)"):
        layers.Dot(axes=1)([randn(2, 4), randn(2, 5)])
    with pytest.raises(ValueError, match="A `Dot` layer should be called on a list of 2 inputs"):
        layers.Dot(axes=1)([randn(2, 4)] * 3)


# --- configs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    layers.Add(), layers.Subtract(), layers.Multiply(), layers.Average(), layers.Maximum(),
    layers.Minimum(), layers.Concatenate(axis=1), layers.Dot(axes=(1, 2), normalize=True),
    layers.Dot(axes=-1),
])
def test_config_round_trip(layer):
    config = layer.get_config()
    assert set(config) >= {"name", "trainable", "dtype"}
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def test_configs_hold_keras_keys():
    assert layers.Concatenate(axis=2).get_config()["axis"] == 2
    assert layers.Concatenate().get_config()["axis"] == -1
    config = layers.Dot(axes=1).get_config()
    assert config["axes"] == 1 and config["normalize"] is False
    assert layers.Add(name="sum").get_config() == {"name": "sum", "trainable": True, "dtype": "float32"}


def test_automatic_names():
    assert [layers.Add().name, layers.Add().name, layers.Concatenate().name, layers.Dot(1).name] == \
        ["add", "add_1", "concatenate", "dot"]
