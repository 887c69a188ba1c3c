"""LayerNormalization: forward vs NumPy, gradients, weights, configs, errors."""
import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_layer_gradients


def _reference(x, gamma, beta, axes, epsilon):
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    shape = [x.shape[a] if a in axes else 1 for a in range(x.ndim)]
    out = (x - mean) / np.sqrt(var + epsilon)
    if gamma is not None:
        out = out * gamma.reshape(shape)
    if beta is not None:
        out = out + beta.reshape(shape)
    return out


def _randomise(layer, seed=3):
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.standard_normal(w.shape).astype(np.float32) for w in layer.weights])


def test_docstring_example():
    data = np.arange(10).reshape(5, 2).astype("float32") * 10
    out = keras.layers.LayerNormalization(axis=1)(data).numpy()
    np.testing.assert_allclose(out, np.tile([[-1.0, 1.0]], (5, 1)), atol=1e-4)


@pytest.mark.parametrize("axis,shape", [(-1, (4, 6)), (-1, (2, 3, 5)), ([1, 2], (2, 3, 4)),
                                        (1, (2, 3, 4)), ([2, 1], (2, 3, 4))])
def test_forward_matches_numpy(axis, shape):
    x = (np.random.default_rng(0).standard_normal(shape) * 3 + 1).astype(np.float32)
    layer = keras.layers.LayerNormalization(axis=axis, epsilon=1e-3)
    layer(x)
    _randomise(layer)
    gamma, beta = layer.get_weights()
    axes = tuple(sorted(a % len(shape) for a in (axis if isinstance(axis, list) else [axis])))
    out = layer(x)
    assert out.dtype == np.float32
    # gamma/beta are reshaped (not transposed) to the broadcast shape, as tf.keras does.
    np.testing.assert_allclose(out.numpy(), _reference(x, gamma, beta, axes, 1e-3),
                               rtol=1e-4, atol=1e-5)


def test_weights_names_shapes_and_order():
    layer = keras.layers.LayerNormalization(axis=[1, 2])
    layer.build((None, 3, 4))
    assert [w.name for w in layer.weights] == ["layer_normalization/gamma:0",
                                               "layer_normalization/beta:0"]
    assert [w.shape for w in layer.weights] == [(3, 4), (3, 4)]
    np.testing.assert_array_equal(layer.gamma.numpy(), 1)
    np.testing.assert_array_equal(layer.beta.numpy(), 0)
    only_beta = keras.layers.LayerNormalization(scale=False)
    only_beta.build((None, 5))
    assert [w.name for w in only_beta.weights] == ["layer_normalization_1/beta:0"]


@pytest.mark.parametrize("kwargs,shape", [({}, (3, 5)), ({"axis": [1, 2]}, (2, 3, 2)),
                                          ({"axis": 1, "center": False}, (2, 3, 2)),
                                          ({"scale": False, "epsilon": 0.1}, (3, 4))])
def test_gradients_match_finite_differences(float64, kwargs, shape):
    layer = keras.layers.LayerNormalization(**kwargs)
    x = np.random.default_rng(1).standard_normal(shape)
    layer(x)
    _randomise(layer)
    check_layer_gradients(layer, x, rtol=1e-5, atol=1e-7)


def test_inside_a_model_trains():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 8)).astype("float32") * 5
    y = (x[:, :1] > 0).astype("float32")
    model = keras.Sequential([keras.layers.Dense(8, input_shape=(8,)),
                              keras.layers.LayerNormalization(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.Adam(0.02), "binary_crossentropy")
    losses = model.fit(x, y, epochs=10, batch_size=16, verbose=0).history["loss"]
    assert losses[-1] < 0.7 * losses[0]


def test_compute_output_shape_and_config_round_trip():
    layer = keras.layers.LayerNormalization(axis=[1, 2], epsilon=1e-5, center=False,
                                            gamma_regularizer="l2")
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)
    config = layer.get_config()
    assert config["axis"] == [1, 2] and config["epsilon"] == 1e-5 and config["center"] is False
    assert keras.layers.LayerNormalization.from_config(config).get_config() == config
    default = keras.layers.LayerNormalization()
    assert default.get_config()["axis"] == -1
    default.build((None, 3, 4))
    assert default.get_config()["axis"] == [2]      # tf.keras resolves the axis in build


def test_bad_arguments():
    with pytest.raises(TypeError, match="Expected an int or a list/tuple of ints for the "
                                        "argument 'axis', but received: 'x'"):
        keras.layers.LayerNormalization(axis="x")
    with pytest.raises(ValueError, match=r"Invalid value for `axis` argument. Expected "
                                         r"0 <= axis < inputs.rank \(with inputs.rank=2\). "
                                         r"Received: axis=\(5,\)"):
        keras.layers.LayerNormalization(axis=5).build((None, 3))
    with pytest.raises(ValueError, match=r"Duplicate axis: \(1, 1\)"):
        keras.layers.LayerNormalization(axis=[1, -1]).build((None, 3))
