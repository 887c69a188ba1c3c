"""Applications as whole-model files: the layers they use (EfficientNet's Normalization,
squeeze-excite multiply, drop-connect Dropout; Inception-ResNet's CustomScaleLayer) survive
save + load_model."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.applications.inception_resnet_v2 import CustomScaleLayer


@pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5 file")
@pytest.mark.filterwarnings("ignore:No training configuration found")
@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_efficientnet_model_file_round_trip(tmp_path, extension):
    model = keras.applications.EfficientNetB0(weights=None, include_top=False,
                                              input_shape=(32, 32, 3), pooling="avg")
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    path = str(tmp_path / f"model{extension}")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_custom_scale_layer_is_registered_and_round_trips():
    assert keras.saving.get_registered_object("Custom>CustomScaleLayer") is CustomScaleLayer
    layer = CustomScaleLayer(0.17, name="block35_1")
    a, b = np.ones((1, 2, 2, 3), np.float32), np.full((1, 2, 2, 3), 2.0, np.float32)
    np.testing.assert_allclose(layer([a, b]).numpy(), a + 0.17 * b)
    clone = CustomScaleLayer.from_config(layer.get_config())
    assert clone.scale == 0.17 and clone.name == "block35_1"
    assert layer.compute_output_shape([(None, 2, 2, 3), (None, 2, 2, 3)]) == (None, 2, 2, 3)
