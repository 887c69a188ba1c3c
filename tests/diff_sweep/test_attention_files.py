"""A masked MultiHeadAttention model saved by tf.keras 2.21 (.h5, .keras) and by Keras 3.15
(.keras) loads and predicts as each library did; minikeras' own .keras round trip too."""
import os
import warnings

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES

HERE = os.path.join(FIXTURES, "diff_sweep", "attention_files")


@pytest.mark.parametrize("filename, expected", [
    ("mha_tk.h5", "mha_tk_expected.npz"), ("mha_tk.keras", "mha_tk_expected.npz"),
    ("mha_k3.keras", "mha_k3_expected.npz")])
def test_attention_files_load_and_predict(tmp_path, filename, expected):
    data = np.load(os.path.join(HERE, expected))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = keras.models.load_model(os.path.join(HERE, filename))
    prediction = model.predict(data["x"], verbose=0)
    np.testing.assert_allclose(prediction, data["y"], rtol=1e-4, atol=1e-5)
    assert [w.name for w in model.weights][1:3] == ["mha/query/kernel:0", "mha/query/bias:0"]
    path = str(tmp_path / "again.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(data["x"], verbose=0),
                               prediction, rtol=1e-6)


def test_keras3_config_has_no_tf_keras_only_keys(tmp_path):
    """Keras 3 refuses `rng_type` (random image layers) and MultiHeadAttention's shape keys in
    configs: the .keras writer leaves them out (the shapes go to its build_config)."""
    import json
    import zipfile
    inputs = keras.Input((4, 4, 1))
    x = keras.layers.RandomFlip()(inputs)
    x = keras.layers.Reshape((16, 1))(x)
    x = keras.layers.MultiHeadAttention(1, 2)(x, x)
    path = str(tmp_path / "m.keras")
    keras.Model(inputs, x).save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    layers = {layer["class_name"]: layer for layer in config["config"]["layers"]}
    assert "rng_type" not in layers["RandomFlip"]["config"]
    assert "query_shape" not in layers["MultiHeadAttention"]["config"]
    assert layers["MultiHeadAttention"]["build_config"]["shapes_dict"]["query_shape"] == \
        [None, 16, 1]
