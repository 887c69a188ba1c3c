"""ConvNeXt's LayerScale and StochasticDepth (tf.keras defines them in its convnext module):
forward against NumPy, gradients against finite differences, configs, and whole models of the
new families through .h5 and .keras files and back."""
import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_gradients, check_layer_gradients
from minikeras.applications.convnext import LayerScale, StochasticDepth
from new_families_support import build, cases, fill

RNG = np.random.default_rng(0)


def test_layer_scale_multiplies_by_gamma_per_channel():
    layer = LayerScale(0.25, 4, name="scale")
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    out = layer(x)
    assert [w.name for w in layer.weights] == ["scale/gamma:0"]
    np.testing.assert_array_equal(layer.gamma.numpy(), np.full(4, 0.25, np.float32))
    np.testing.assert_allclose(out.numpy(), x * 0.25, rtol=1e-6)
    gamma = RNG.standard_normal(4).astype(np.float32)
    layer.set_weights([gamma])
    np.testing.assert_allclose(layer(x).numpy(), x * gamma, rtol=1e-6)
    assert out.dtype == np.float32
    assert layer.compute_output_shape((None, 3, 4)) == (None, 3, 4)


def test_layer_scale_gradients(float64):
    layer = LayerScale(0.5, 3)
    layer.build((2, 5, 3))
    layer.set_weights([RNG.standard_normal(3)])
    check_layer_gradients(layer, RNG.standard_normal((2, 5, 3)))


def test_stochastic_depth_is_the_identity_at_inference():
    x = RNG.standard_normal((3, 4, 4, 2)).astype(np.float32)
    layer = StochasticDepth(0.5)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x)


def test_stochastic_depth_drops_whole_samples_in_training():
    rate = 0.3
    x = RNG.uniform(1, 2, (4000, 2, 3)).astype(np.float32)
    out = StochasticDepth(rate)(x, training=True).numpy()
    dropped = np.all(out == 0, axis=(1, 2))
    kept = ~dropped
    np.testing.assert_allclose(out[kept], x[kept] / np.float32(1 - rate), rtol=1e-6)
    assert abs(dropped.mean() - rate) < 0.03   # 4000 Bernoulli(0.3) draws: std 0.007
    assert out.dtype == np.float32


def test_stochastic_depth_gradients_in_training(float64):
    layer = StochasticDepth(0.4)

    def same_mask(x):
        keras.utils.set_random_seed(7)
        return layer(x, training=True)
    x = RNG.standard_normal((6, 2, 3))
    check_gradients(same_mask, [x])
    keras.utils.set_random_seed(7)
    mask = same_mask(keras.ops.convert_to_tensor(x)).numpy() != 0
    assert 0 < mask.reshape(6, -1).all(axis=1).sum() < 6   # the check saw both kinds


def test_configs_round_trip_and_arguments_are_checked():
    scale = LayerScale(1e-6, 8, name="s")
    assert scale.get_config()["init_values"] == 1e-6
    assert scale.get_config()["projection_dim"] == 8
    again = LayerScale.from_config(scale.get_config())
    assert (again.name, again.init_values, again.projection_dim) == ("s", 1e-6, 8)
    depth = StochasticDepth(0.2, name="d")
    assert StochasticDepth.from_config(depth.get_config()).drop_path_rate == 0.2
    restored = keras.layers.deserialize(keras.layers.serialize(depth))
    assert type(restored) is StochasticDepth and restored.name == "d"
    with pytest.raises(ValueError, match="drop_path_rate=1.5"):
        StochasticDepth(1.5)


@pytest.mark.parametrize("case", ["convnext_mini", "mobilenetv3small_025_min_notop",
                                  "efficientnetv2s_mini", "regnety_mini", "resnetrs_mini"])
@pytest.mark.parametrize("extension", ["h5", "keras"])
def test_model_file_round_trip(tmp_path, case, extension):
    constructor, kwargs, _ = cases.NUMBER_CASES[case]
    model = build(constructor, kwargs)
    fill(model)
    images = cases.probe_images(kwargs["input_shape"])
    expected = model.predict(images, verbose=0)
    path = str(tmp_path / f"model.{extension}")
    model.save(path)
    keras.backend.clear_session()
    loaded = keras.models.load_model(path, compile=False)
    assert [(layer.name, type(layer).__name__) for layer in loaded.layers] == \
        [(layer.name, type(layer).__name__) for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)
