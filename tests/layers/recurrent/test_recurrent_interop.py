"""Files written by real tf_keras 2.21 (.h5) and Keras 3.15 (.keras) holding a masked
recurrent model (Embedding(mask_zero) > Bidirectional(LSTM) > TimeDistributed(Dense) >
GRU(go_backwards) > GRU(reset_after=False), and RNN of stacked cells) load in minikeras and
predict what the writing library predicted; minikeras' own files of it reload the same."""
import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

EXPECTED = np.load(fixture_path("recurrent", "interop", "expected.npz"))


@pytest.mark.parametrize("name", ["tk_model.h5", "k3_model.keras"])
def test_real_keras_files_load_and_predict(name, tmp_path):
    model = keras.models.load_model(fixture_path("recurrent", "interop", name))
    prediction = model.predict(EXPECTED["x"], verbose=0)
    np.testing.assert_allclose(prediction, EXPECTED[f"pred/{name}"], atol=1e-5)
    weights = [EXPECTED[f"w/{i:03d}"] for i in range(len(model.get_weights()))]
    for got, want in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(got, want)
    for suffix in (".h5", ".keras"):
        path = str(tmp_path / f"again{suffix}")
        model.save(path)
        again = keras.models.load_model(path)
        np.testing.assert_allclose(again.predict(EXPECTED["x"], verbose=0), prediction, atol=1e-6)
