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
