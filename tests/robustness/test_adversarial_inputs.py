"""Regressions found by the differential probe of bad inputs and bad files against tf.keras 2.21
(recipe: /work/peer_recipes/adversarial/). Each case names tf.keras' exception and the gist of
its message; minikeras must raise the same type with the same gist, before any op runs, rather
than an error from inside NumPy or a silent result."""
import os
import re

import numpy as np
import pytest

import minikeras as keras

X = np.arange(32, dtype="float32").reshape(8, 4) / 10
Y = np.ones((8, 1), "float32")


def dense_model(activation=None, loss="mse", units=1):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])
    model.compile("sgd", loss)
    return model


def dict_input_model():
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    model = keras.Model({"a": a, "b": b}, keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    model.compile("sgd", "mse")
    return model


# --- data -------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["train_on_batch", "test_on_batch"])
def test_on_batch_methods_check_the_sample_counts(method):
    # tf.keras: ValueError "Data cardinality is ambiguous:\n  x sizes: 8\n  y sizes: 5\nMake
    # sure all arrays contain the same number of samples." (was NumPy's broadcast error)
    model = dense_model()
    with pytest.raises(ValueError, match=r"(?s)cardinality is ambiguous.*x sizes: 8\n"
                                         r"  y sizes: 5\nMake sure"):
        getattr(model, method)(X, Y[:5])
    with pytest.raises(ValueError, match="sample_weight sizes: 3"):
        getattr(model, method)(X, Y, sample_weight=np.ones(3))


@pytest.mark.parametrize("call", [
    lambda m: m.predict({"a": np.ones((4, 3)), "z": np.ones((4, 2))}, verbose=0),
    lambda m: m.fit({"a": np.ones((4, 3))}, np.ones((4, 1)), verbose=0),
])
def test_dict_data_with_a_missing_key_is_refused(call):
    # tf.keras: ValueError 'Missing data for input "b". You passed a data dictionary with keys
    # ['a', 'z']. Expected the following keys: ['a', 'b']' (the 'z' array was fed to 'b')
    with pytest.raises(ValueError, match=r'Missing data for input "b"\. You passed a data '
                                         r"dictionary with keys \['a'(, 'z')?\]"):
        call(dict_input_model())


def test_dict_data_keyed_by_input_layer_names_still_works():
    a = keras.Input((3,), name="first")
    b = keras.Input((2,), name="second")
    model = keras.Model({"x": a, "y": b}, keras.layers.Concatenate()([a, b]))
    out = model.predict({"first": np.zeros((2, 3)), "second": np.ones((2, 2))}, verbose=0)
    np.testing.assert_array_equal(out[:, 3:], np.ones((2, 2)))


def test_several_arrays_for_a_one_input_model_are_refused():
    # tf.keras: ValueError 'Layer "sequential" expects 1 input(s), but it received 2 input
    # tensors.' (the tuple was stacked into one (2, 8, 4) array)
    with pytest.raises(ValueError, match='expects 1 input\\(s\\), but it received 2 input'):
        dense_model().fit((X, X), Y, verbose=0)


def test_sigmoid_crossentropy_labels_of_another_shape():
    # tf.keras: ValueError "`logits` and `labels` must have the same shape, received
    # ((None, 1) vs (None, 2))." (was NumPy's "cannot reshape array of size 16")
    model = dense_model("sigmoid", "binary_crossentropy")
    with pytest.raises(ValueError, match=r"`logits` and `labels` must have the same shape, "
                                         r"received \(\(8, 1\) vs \(8, 2\)\)"):
        model.fit(X, np.ones((8, 2), "float32"), verbose=0)


def test_sample_weight_with_a_wrong_last_axis():
    # tf.keras: ValueError "Can not squeeze dim[1], expected a dimension of 1, got 3"
    with pytest.raises(ValueError, match=r"Can not squeeze dim\[1\], expected a dimension of 1, "
                                         "got 3"):
        dense_model().fit(X, Y, sample_weight=np.ones((8, 3)), verbose=0)


def test_targets_that_do_not_broadcast_get_tensorflows_words():
    # tf.keras: InvalidArgumentError "Incompatible shapes: [8,1] vs. [8,2,2]"
    with pytest.raises(ValueError, match=r"Incompatible shapes: \[8,1\] vs\. \[8,2,2\]"):
        dense_model().fit(X, np.ones((8, 2, 2), "float32"), verbose=0)


def test_broadcasting_arithmetic_keeps_its_results():
    from minikeras.ops import math as ops_math
    np.testing.assert_array_equal(ops_math.subtract(np.ones((2, 1), "float32"),
                                                    np.arange(3, dtype="float32")).data,
                                  1 - np.arange(3, dtype="float32")[None].repeat(2, 0))
    assert ops_math.divide(np.ones(3, "float32"), 2).data.dtype == np.float32


@pytest.mark.parametrize("layer", [lambda: keras.layers.Conv2D(2, 3),
                                   lambda: keras.layers.DepthwiseConv2D(3),
                                   lambda: keras.layers.SeparableConv2D(2, 3)])
def test_input_smaller_than_the_kernel_at_run_time(layer):
    # tf.keras: ValueError "Negative dimension size caused by subtracting 3 from 2" (minikeras
    # returned an empty (2, 0, 0, 2) output)
    model = keras.Sequential([keras.Input((None, None, 1)), layer()])
    # (Conv2D checks in its call first, in Keras' build-time words)
    with pytest.raises(ValueError, match="Negative dimension size caused by subtracting 3 from 2"
                                         "|output is <= 0 .* shape \\[2, 2\\]"):
        model.predict(np.ones((2, 2, 2, 1), "float32"), verbose=0)
    assert model.predict(np.ones((1, 3, 3, 1), "float32"), verbose=0).shape[1:3] == (1, 1)


def test_sparse_labels_of_the_wrong_shape_use_tf_keras_words():
    # tf_keras 2.21 (eager loss call): ValueError "`labels.shape` must equal `logits.shape`
    # except for the last dimension. Received: labels.shape=(16,) and logits.shape=(8, 3)" (the
    # labels flattened); its graph-mode fit raises InvalidArgumentError "... got logits shape
    # [8,3] and labels shape [16]" instead
    model = dense_model("softmax", "sparse_categorical_crossentropy", units=3)
    with pytest.raises(ValueError, match=r"`labels.shape` must equal `logits.shape` except for "
                                         r"the last dimension. Received: labels.shape=\(16,\) "
                                         r"and logits.shape=\(8, 3\)"):
        model.fit(X, np.zeros((8, 2)), verbose=0)


def test_fractional_sparse_labels_are_named_as_such():
    # tf.keras truncates 2.5 to class 2; minikeras refuses, but must not call 2.5 out of range
    model = dense_model("softmax", "sparse_categorical_crossentropy", units=3)
    with pytest.raises(ValueError, match="label value of 2.5 which is not an integer class"):
        model.fit(X, np.full(8, 2.5, "float32"), verbose=0)


# --- layer arguments --------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: keras.layers.UpSampling2D(2, interpolation="cubic"),
                                  lambda: keras.layers.Resizing(4, 4, interpolation="x")])
def test_unknown_interpolation_is_not_implemented_error(make):
    # tf.keras (image_utils.get_interpolation): NotImplementedError "Value not recognized for
    # `interpolation`: cubic. Supported values are: dict_keys(['bilinear', ...])"
    with pytest.raises(NotImplementedError, match="Value not recognized for `interpolation`"):
        make()


def test_unsorted_discretization_boundaries():
    # tf.keras: InvalidArgumentError "Expected sorted boundaries" when called
    with pytest.raises(ValueError, match="Expected sorted boundaries"):
        keras.layers.Discretization(bin_boundaries=[3.0, 1.0])


# --- files ------------------------------------------------------------------------------------
def small_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    return model


@pytest.mark.parametrize("filename,save", [
    ("m.keras", lambda m, p: m.save(p)),
    ("w.weights.h5", lambda m, p: m.save_weights(p)),
    ("w.h5", lambda m, p: m.save_weights(p)),
])
def test_saving_into_a_missing_directory_raises(tmp_path, filename, save):
    # tf.keras: FileNotFoundError "[Errno 2] No such file or directory: '.../no/such/m.keras'"
    # (minikeras created the directories); a file on the way is a NotADirectoryError
    target = tmp_path / "no" / "such" / filename
    with pytest.raises(FileNotFoundError, match="No such file or directory.*no/such"):
        save(small_model(), str(target))
    assert not (tmp_path / "no").exists()
    (tmp_path / "plain").write_text("a file")
    with pytest.raises(NotADirectoryError, match="Not a directory"):
        save(small_model(), str(tmp_path / "plain" / "sub" / filename))


def test_legacy_h5_model_save_still_creates_directories(tmp_path):
    # tf.keras' legacy save_model makes the missing directories of an .h5 path
    target = tmp_path / "new" / "dir" / "m.h5"
    small_model().save(str(target))
    assert keras.models.load_model(str(target)).get_weights()[0].shape == (4, 2)


@pytest.mark.parametrize("filename", ["m.keras", "m.h5"])
def test_saving_onto_a_directory_names_the_target(tmp_path, filename):
    # tf.keras: IsADirectoryError "[Errno 21] Is a directory: '.../m.keras'" (minikeras named
    # its temporary file)
    (tmp_path / filename).mkdir()
    with pytest.raises(IsADirectoryError, match=f"Is a directory: '[^']*{re.escape(filename)}'$"):
        small_model().save(str(tmp_path / filename))
    assert os.listdir(tmp_path) == [filename]


def test_loading_directories(tmp_path):
    # tf.keras: load_model -> OSError "SavedModel file does not exist at: DIR/{saved_model.pbtxt|
    # saved_model.pb}"; load_weights -> IsADirectoryError "[Errno 21] ... Is a directory"
    directory = tmp_path / "m.keras"
    directory.mkdir()
    with pytest.raises(OSError, match="SavedModel file does not exist at") as caught:
        keras.models.load_model(str(directory))
    assert not isinstance(caught.value, NotImplementedError)
    with pytest.raises(IsADirectoryError, match="Is a directory"):
        small_model().load_weights(str(directory))
    (directory / "saved_model.pb").write_bytes(b"")     # tf.keras: IndexError (no MetaGraphDef)
    with pytest.raises(ValueError, match="saved_model.pb: it holds no MetaGraphDef"):
        keras.models.load_model(str(directory))


@pytest.mark.parametrize("path", [None, 3])
def test_load_model_of_a_non_path(path):
    # tf.keras: OSError "Unable to load model. Filepath is not an hdf5 file (or h5py is not
    # available) or SavedModel. Received: filepath=None"
    with pytest.raises(OSError, match=f"Unable to load model.*Received: filepath={path}"):
        keras.models.load_model(path)
