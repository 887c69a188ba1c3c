"""'hard_sigmoid' in a `.keras` file written by Keras 3 is Keras 3's relu6(x + 3) / 6; in files of
tf.keras 2.21 (`.keras`, `.h5`) it is Keras 2's clip(0.2 x + 0.5, 0, 1). Keras 3 also changed
ConvLSTM2D's default recurrent_activation to 'sigmoid' (its configs spell it out). Fixtures:
tests/fixtures/hard_sigmoid/ (the same model saved by each library, with its predictions)."""
import json
import zipfile

import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path


def peer(which):
    return np.load(fixture_path("hard_sigmoid", f"{which}_hs.npz"))


def assert_predicts(model, data):
    outputs = model.predict([data["seq"], data["frames"]], verbose=0)
    for index, output in enumerate(outputs):
        np.testing.assert_allclose(output, data[f"out{index}"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("which, filename", [("keras3", "keras3_hs.keras"),
                                             ("keras3", "keras3_hs.h5"),  # Keras 3's legacy .h5
                                             ("tf_keras", "tf_keras_hs.keras"),
                                             ("tf_keras", "tf_keras_hs.h5")])
def test_each_librarys_file_computes_its_hard_sigmoid(which, filename):
    model = keras.models.load_model(fixture_path("hard_sigmoid", filename), compile=False)
    assert_predicts(model, peer(which))
    recurrent = model.get_layer("convlstm").cell.recurrent_activation.__name__
    assert recurrent == ("sigmoid" if which == "keras3" else "hard_sigmoid")


def test_keras3_hard_sigmoid_is_relu6_over_6():
    x = np.linspace(-5, 5, 41).astype("float32")
    np.testing.assert_allclose(keras.activations.keras3_hard_sigmoid(x).numpy(),
                               np.clip(x + 3, 0, 6) / 6, atol=1e-7)
    np.testing.assert_allclose(keras.activations.hard_sigmoid(x).numpy(),
                               np.clip(0.2 * x + 0.5, 0, 1), atol=1e-7)


@pytest.mark.parametrize("filename", ["again.keras", "again.h5"])
def test_a_keras3_model_saved_again_keeps_its_numbers(tmp_path, filename):
    model = keras.models.load_model(fixture_path("hard_sigmoid", "keras3_hs.keras"),
                                    compile=False)
    path = str(tmp_path / filename)
    model.save(path)
    if filename.endswith(".keras"):
        with zipfile.ZipFile(path) as archive:
            config = archive.read("config.json").decode()
            assert json.loads(archive.read("metadata.json"))["hard_sigmoid"] == "keras3"
        assert "keras3_hard_sigmoid" not in config     # Keras 3 reads the file as written
    assert_predicts(keras.models.load_model(path, compile=False), peer("keras3"))


def test_a_keras2_hard_sigmoid_model_keeps_keras2_numbers_in_its_keras_file(tmp_path):
    model = keras.models.load_model(fixture_path("hard_sigmoid", "tf_keras_hs.h5"),
                                    compile=False)
    path = str(tmp_path / "m.keras")
    with pytest.warns(UserWarning, match="hard_sigmoid"):
        model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert "hard_sigmoid" not in json.loads(archive.read("metadata.json"))
    assert_predicts(keras.models.load_model(path, compile=False), peer("tf_keras"))


def test_both_hard_sigmoids_in_one_keras_file_are_refused(tmp_path):
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(2, activation="keras3_hard_sigmoid")(
        keras.layers.Dense(3, activation="hard_sigmoid")(inputs))
    with pytest.raises(ValueError, match="both Keras 2's 'hard_sigmoid'"):
        with pytest.warns(UserWarning):
            keras.Model(inputs, outputs).save(str(tmp_path / "m.keras"))
