"""Models with adapted lookup / text / discretization layers in files: tf.keras 2.21's own
.keras files (tests/fixtures/prep/*.tk.keras, predictions in saved_models_expected.npz) load
and predict the same; minikeras' .keras files keep vocabularies, IDF weights and quantile
summaries; legacy .h5 refuses adapted vocabularies as tf.keras does."""
import os
import zipfile

import numpy as np
import pytest

import minikeras as keras

pytestmark = pytest.mark.filterwarnings("ignore:You are saving your model as an HDF5",
                                        "ignore:No training configuration")

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "prep")
EXPECTED = np.load(os.path.join(FIXTURES, "saved_models_expected.npz"))


def test_tf_keras_text_model_file_predicts_the_same(tmp_path):
    model = keras.models.load_model(os.path.join(FIXTURES, "text_model.tk.keras"))
    np.testing.assert_allclose(model.predict(EXPECTED["text_x"], verbose=0),
                               EXPECTED["text_pred"], rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "again.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        ours = archive.read("assets/layers/text_vectorization/vocabulary.txt")
    with zipfile.ZipFile(os.path.join(FIXTURES, "text_model.tk.keras")) as archive:
        theirs = archive.read("assets/layers/text_vectorization/vocabulary.txt")
    assert "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt" in names
    assert ours == theirs
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(reloaded.predict(EXPECTED["text_x"], verbose=0),
                               EXPECTED["text_pred"], rtol=1e-5, atol=1e-6)


def test_tf_keras_tabular_model_file_predicts_the_same(tmp_path):
    inputs = [EXPECTED["tab_color"], EXPECTED["tab_size"]]
    model = keras.models.load_model(os.path.join(FIXTURES, "tab_model.tk.keras"))
    np.testing.assert_allclose(model.predict(inputs, verbose=0), EXPECTED["tab_pred"],
                               rtol=1e-5, atol=1e-6)
    path = str(tmp_path / "tab.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(inputs, verbose=0),
                               EXPECTED["tab_pred"], rtol=1e-5, atol=1e-6)


def _round_trip(model, tmp_path, name="m.keras"):
    path = str(tmp_path / name)
    model.save(path)
    return keras.models.load_model(path)


def test_tf_idf_weights_and_vocabulary_survive_a_keras_file(tmp_path):
    lookup = keras.layers.StringLookup(output_mode="tf_idf", num_oov_indices=2)
    lookup.adapt(np.array([["a", "b", "b"], ["a", "c", "c"], ["d", "a", "e"]], dtype=object))
    inputs = keras.Input(shape=(3,), dtype="string")
    model = keras.Model(inputs, lookup(inputs))
    x = np.array([["a", "z", "e"], ["c", "c", "q"]], dtype=object)
    reloaded = _round_trip(model, tmp_path)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert reloaded.layers[1].get_vocabulary() == lookup.get_vocabulary()


def test_adapted_discretization_survives_a_keras_file(tmp_path):
    layer = keras.layers.Discretization(num_bins=4)
    data = np.random.RandomState(0).randn(100).astype("float32")
    layer.adapt(data)
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, layer(inputs))
    reloaded = _round_trip(model, tmp_path)
    assert reloaded.layers[1].bin_boundaries == pytest.approx(layer.bin_boundaries)
    np.testing.assert_array_equal(reloaded.predict(data[:, None], verbose=0),
                                  model.predict(data[:, None], verbose=0))


def test_vocabulary_given_in_the_constructor_travels_in_the_config(tmp_path):
    lookup = keras.layers.IntegerLookup(vocabulary=[7, 3, 5], output_mode="count")
    inputs = keras.Input(shape=(4,), dtype="int64")
    model = keras.Model(inputs, lookup(inputs))
    path = str(tmp_path / "given.h5")
    model.save(path)                      # no adapted state: legacy .h5 is fine
    x = np.array([[7, 7, 3, 9]])
    np.testing.assert_array_equal(keras.models.load_model(path).predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_legacy_h5_refuses_an_adapted_vocabulary(tmp_path):
    lookup = keras.layers.StringLookup()
    lookup.adapt(np.array(["a", "b"], dtype=object))
    inputs = keras.Input(shape=(1,), dtype="string")
    model = keras.Model(inputs, lookup(inputs))
    with pytest.raises(NotImplementedError, match="legacy HDF5"):
        model.save(str(tmp_path / "m.h5"))
    with pytest.raises(NotImplementedError, match="legacy HDF5"):
        model.save_weights(str(tmp_path / "w.h5"))


K3_EXPECTED = np.load(os.path.join(FIXTURES, "k3_expected.npz"))


def test_keras3_text_model_file_predicts_the_same():
    model = keras.models.load_model(os.path.join(FIXTURES, "text_model.k3.keras"))
    np.testing.assert_allclose(model.predict(K3_EXPECTED["text_x"], verbose=0),
                               K3_EXPECTED["text_pred"], rtol=1e-5, atol=1e-6)


def test_keras3_tabular_model_file_predicts_the_same():
    """StringLookup(one_hot), IntegerLookup(multi_hot, two OOV indices) and an adapted
    Discretization whose Keras 3 config holds both num_bins and bin_boundaries."""
    model = keras.models.load_model(os.path.join(FIXTURES, "tab_model.k3.keras"))
    inputs = [K3_EXPECTED["tab_color"], K3_EXPECTED["tab_size"], K3_EXPECTED["tab_age"]]
    np.testing.assert_allclose(model.predict(inputs, verbose=0), K3_EXPECTED["tab_pred"],
                               rtol=1e-5, atol=1e-6)
