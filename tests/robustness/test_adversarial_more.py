"""More bad inputs and bad paths, each compared with tf.keras 2.21 (the peer venv): the same
exception type, worded as tf.keras words it, instead of an error from inside NumPy or Python."""
import numpy as np
import pytest

import minikeras as keras


def dense_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("run", [
    lambda m: m.fit([[1, 2, 3, 4], [1, 2]], np.ones((2, 1)), verbose=0),
    lambda m: m.predict([[1.0, 2.0, 3.0, 4.0], [1.0]], verbose=0),
    lambda m: m.evaluate(np.ones((2, 4)), [[1.0], [1.0, 2.0]], verbose=0),
])
def test_a_ragged_list_finds_no_data_adapter(run):
    # tf.keras: ValueError "Failed to find data adapter that can handle input: (<class 'list'>
    # containing values of types {...})" (was NumPy's "inhomogeneous shape" error)
    with pytest.raises(ValueError, match="Failed to find data adapter that can handle input: "
                                         "<class 'list'>"):
        run(dense_model())


def test_a_list_of_equal_rows_still_trains():
    history = dense_model().fit([[1, 2, 3, 4], [1, 2, 3, 5]], [[1.0], [0.0]], verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_load_model_of_a_bytes_path(tmp_path):
    # tf.keras: OSError "Unable to load model. Filepath is not an hdf5 file (or h5py is not
    # available) or SavedModel. Received: filepath=b'...'" (was AttributeError: 'bytes' object
    # has no attribute 'seek')
    path = str(tmp_path / "m.keras")
    dense_model().save(path)
    with pytest.raises(OSError, match="Unable to load model.*Received: filepath=b'"):
        keras.models.load_model(path.encode())
