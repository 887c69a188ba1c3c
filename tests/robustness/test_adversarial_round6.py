"""Adversarial inputs and killed processes, round 6 (fid-adv6), compared with tf_keras 2.21.

- A SavedModel saved into a directory that holds more than a SavedModel (`model.save('.')`,
  `model.save('results/')`, a directory with files in `assets/`) is written into it as tf
  writes one, keeping the user's files: it was swapped for a new directory and the old one,
  with everything in it, deleted (`model.save('.')` deleted the working directory).
- A SavedModel saved through a symbolic link to a directory is written into the directory the
  link names (tf does; minikeras refused it as "a file of that name exists").
- `ModelCheckpoint` into an existing directory writes a SavedModel there (tf refuses only the
  one-file formats); `save_weights('ckpt/')` writes into `ckpt/`.
- `model.save(h5py.File)` and `load_model(h5py.File)` read and write the `.h5` form in an open
  file and leave it open, as tf.keras (minikeras refused anything but a path).
- `adapt()` takes a pandas DataFrame as its array and a Series as a column (n, 1), as tf.keras'
  data adapters do (iterating a DataFrame walked its column names: "could not convert string
  to float: 'a'").
- `get_file(extract=True)` merges the archive's folders into existing ones, as tf.keras'
  `extractall` does (an existing folder of the same name was deleted with the user's files).
- During `fit`, the user's signal handlers run between training steps, as tf.keras' compiled
  steps let them (a handler saving the model on SIGTERM saved half a step).
"""
import os
import signal

import h5py

import numpy as np
import pytest

import minikeras as keras


def small_model(offset=0.0):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.set_weights([np.full(w.shape, offset + 0.5, "float32") for w in model.get_weights()])
    return model


def assert_weights(path, offset):
    for weight in keras.models.load_model(path, compile=False).get_weights():
        np.testing.assert_array_equal(weight, np.full(weight.shape, offset + 0.5, "float32"))


def user_files(directory):
    """A file and a folder of the user's in `directory`; returns what they hold."""
    with open(os.path.join(directory, "notes.txt"), "w") as handle:
        handle.write("keep me")
    os.makedirs(os.path.join(directory, "data"), exist_ok=True)
    with open(os.path.join(directory, "data", "train.csv"), "w") as handle:
        handle.write("1,2,3\n")
    return {"notes.txt": "keep me", os.path.join("data", "train.csv"): "1,2,3\n"}


def assert_user_files(directory, expected):
    for relative, content in expected.items():
        with open(os.path.join(directory, relative)) as handle:
            assert handle.read() == content


SAVEDMODEL_ENTRIES = ["assets", "keras_metadata.pb", "saved_model.pb", "variables"]


# --- SavedModel directories holding the user's files ---------------------------------------------
@pytest.mark.parametrize("fresh", [True, False], ids=["first save", "over an old SavedModel"])
def test_a_savedmodel_saved_into_a_directory_of_user_files_keeps_them(tmp_path, fresh):
    # tf_keras 2.21 writes saved_model.pb, keras_metadata.pb, variables/, assets/ and
    # fingerprint.pb into the directory and leaves notes.txt and data/ alone; minikeras swapped
    # in a new directory and deleted the old one with the user's files in it
    target = tmp_path / "results"
    target.mkdir()
    expected = user_files(target)
    if not fresh:
        small_model(1.0).save(target)
    small_model(2.0).save(target)
    assert_user_files(target, expected)
    assert sorted(os.listdir(target)) == sorted(SAVEDMODEL_ENTRIES + ["data", "notes.txt"])
    assert sorted(os.listdir(target / "variables")) == ["variables.data-00000-of-00001",
                                                       "variables.index"]
    assert os.listdir(tmp_path) == ["results"]       # nothing staged beside it is left
    assert_weights(target, 2.0)


def test_saving_a_savedmodel_into_the_working_directory_keeps_it(tmp_path, monkeypatch):
    # `model.save('.')` swapped the working directory for a new one and deleted it with all
    # the user's files (and the process was left in a deleted directory)
    monkeypatch.chdir(tmp_path)
    expected = user_files(tmp_path)
    small_model(1.0).save(".")
    small_model(3.0).save(".")
    assert os.getcwd() == str(tmp_path) and os.path.samefile(".", tmp_path)
    assert_user_files(tmp_path, expected)
    assert sorted(os.listdir(tmp_path)) == sorted(SAVEDMODEL_ENTRIES + ["data", "notes.txt"])
    assert_weights(".", 3.0)


def test_a_savedmodel_saved_over_one_with_assets_keeps_them(tmp_path):
    target = tmp_path / "model"
    small_model(1.0).save(target)
    (target / "assets" / "vocabulary.txt").write_text("a\nb\n")
    small_model(2.0).save(target)
    assert (target / "assets" / "vocabulary.txt").read_text() == "a\nb\n"
    assert_weights(target, 2.0)


def test_a_plain_savedmodel_directory_is_still_swapped_whole(tmp_path):
    # a directory holding only a SavedModel (tf's fingerprint.pb included) is replaced in one
    # step, as before: nothing of the old one stays
    target = tmp_path / "model"
    small_model(1.0).save(target)
    (target / "fingerprint.pb").write_bytes(b"\x08\x01")
    inode = os.stat(target).st_ino
    small_model(2.0).save(target)
    assert sorted(os.listdir(target)) == SAVEDMODEL_ENTRIES
    assert os.stat(target).st_ino != inode
    assert_weights(target, 2.0)


def test_a_savedmodel_saved_through_a_link_to_a_directory_writes_into_it(tmp_path):
    # tf_keras 2.21 follows the link; minikeras raised "a file of that name exists"
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    small_model(1.0).save(link)
    small_model(2.0).save(link)
    assert link.is_symlink() and os.path.samefile(link, real)
    assert sorted(os.listdir(real)) == SAVEDMODEL_ENTRIES
    assert sorted(os.listdir(tmp_path)) == ["link", "real"]
    assert_weights(link, 2.0)


def test_model_checkpoint_into_an_existing_directory_writes_a_savedmodel_there(tmp_path):
    # tf_keras 2.21 refuses a directory only where the format writes a single file (.h5,
    # .keras: the IsADirectoryError becomes its IOError); minikeras refused every directory
    expected = user_files(tmp_path)
    model = small_model(1.0)
    model.compile("sgd", "mse")
    data = np.ones((4, 3), "float32"), np.ones((4, 2), "float32")
    model.fit(*data, epochs=2, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(tmp_path)])
    assert_user_files(tmp_path, expected)
    loaded = keras.models.load_model(tmp_path)
    for saved, read in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, read)
    for name, weights_only in [("m.h5", False), ("m.keras", False), ("w.h5", True)]:
        (tmp_path / name).mkdir()
        checkpoint = keras.callbacks.ModelCheckpoint(tmp_path / name,
                                                     save_weights_only=weights_only)
        with pytest.raises(OSError, match="Please specify a non-directory filepath for "
                           "ModelCheckpoint. Filepath used is an existing directory: "):
            model.fit(*data, epochs=1, verbose=0, callbacks=[checkpoint])


def test_save_weights_to_a_prefix_ending_in_a_slash_writes_into_that_directory(tmp_path):
    # tf_keras 2.21: 'ckpt/' writes ckpt/.index, ckpt/.data-00000-of-00001 and ckpt/checkpoint
    # (model_checkpoint_path "."); minikeras wrote its temporary files into a missing folder
    prefix = str(tmp_path / "ckpt") + os.sep
    small_model(1.0).save_weights(prefix)
    assert sorted(os.listdir(tmp_path / "ckpt")) == [".data-00000-of-00001", ".index",
                                                     "checkpoint"]
    assert (tmp_path / "ckpt" / "checkpoint").read_text() == (
        'model_checkpoint_path: "."\nall_model_checkpoint_paths: "."\n')
    model = small_model(0.0)
    model.load_weights(prefix)
    for weight in model.get_weights():
        np.testing.assert_array_equal(weight, np.full(weight.shape, 1.5, "float32"))


# --- open h5py files ---------------------------------------------------------------------------
def test_a_model_saves_into_and_loads_from_an_open_h5py_file(tmp_path):
    # tf_keras 2.21 (legacy `save_model_to_hdf5` / `load_model_from_hdf5`) takes an h5py.File,
    # writes or reads the .h5 layout and leaves it open; minikeras raised TypeError / OSError
    path = tmp_path / "model.h5"
    model = small_model(1.0)
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 2), "float32"), verbose=0)
    with h5py.File(path, "w") as handle:
        model.save(handle)
        assert handle.id.valid
        assert sorted(handle.keys()) == ["model_weights", "optimizer_weights"]
        assert sorted(handle.attrs) == ["backend", "keras_version", "model_config",
                                        "training_config"]
    with h5py.File(path, "r") as handle:
        loaded = keras.models.load_model(handle)
        assert handle.id.valid
    for saved, read in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(saved, read)
    assert int(loaded.optimizer.iterations.numpy()) == 1
    with h5py.File(tmp_path / "other.h5", "w") as handle:
        with pytest.raises(ValueError, match="expected a `.keras` extension"):
            model.save(handle, save_format="keras")
        model.save(handle, save_format="tf")        # tf.keras writes the .h5 form here too
        assert "model_config" in handle.attrs


# --- pandas tables given to adapt() --------------------------------------------------------------
class Series:
    """What adapt() meets in a pandas Series (pandas is not a test dependency): iteration
    over the values, `to_numpy()`, `__array__`."""
    __module__ = "pandas.core.series"

    def __init__(self, values):
        self.values = np.asarray(values)

    def __iter__(self):
        return iter(self.values)

    def __len__(self):
        return len(self.values)

    def __getitem__(self, index):
        return self.values[index]

    def __array__(self, dtype=None, copy=None):
        return self.values if dtype is None else self.values.astype(dtype)

    def to_numpy(self):
        return self.values


class DataFrame(Series):
    """A pandas DataFrame: iterating one gives its column names."""
    __module__ = "pandas.core.frame"

    def __init__(self, columns):
        self.columns = dict(columns)
        super().__init__(np.stack(list(self.columns.values()), axis=1))

    def __iter__(self):
        return iter(self.columns)

    def __getitem__(self, name):
        return Series(self.columns[name])


def test_adapt_takes_a_dataframe_as_its_array_and_a_series_as_a_column():
    table = np.random.RandomState(0).rand(16, 3).astype("float32")
    frame = DataFrame({"a": table[:, 0], "b": table[:, 1], "c": table[:, 2]})
    normalization = keras.layers.Normalization()
    normalization.adapt(frame)      # minikeras: ValueError "could not convert string to float"
    np.testing.assert_allclose(normalization.mean.numpy(), table.mean(0, keepdims=True),
                               rtol=1e-6)
    np.testing.assert_allclose(normalization.variance.numpy(), table.var(0, keepdims=True),
                               rtol=1e-5)
    # tf_keras 2.21: a Series is a column, so axis=None statistics are of shape (1, 1)
    column = keras.layers.Normalization(axis=None)
    column.adapt(frame["a"])
    assert column.mean.shape == (1, 1)
    np.testing.assert_allclose(column.mean.numpy(), [[table[:, 0].mean()]], rtol=1e-6)
    discretization = keras.layers.Discretization(num_bins=2)
    discretization.adapt(frame)
    assert len(discretization.bin_boundaries) == 1
    lookup = keras.layers.IntegerLookup()
    lookup.adapt(DataFrame({"a": np.array([1, 2, 2]), "b": np.array([3, 3, 3])}))
    assert lookup.get_vocabulary() == [-1, 3, 2, 1]
    text = keras.layers.TextVectorization()
    text.adapt(Series(np.array(["a b", "b c", "c c"], dtype=object)))
    assert text.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]


# --- the user's signal handlers during fit -------------------------------------------------------
class SignalInsideTheStep(keras.layers.Layer):
    """Signals the process in the middle of a training step (after BatchNormalization has
    updated its moving statistics, before the optimizer's update), as a SIGTERM from a cluster
    scheduler may arrive at any moment."""

    def call(self, inputs, training=None):
        if training:
            os.kill(os.getpid(), signal.SIGUSR1)
        return inputs


def model_state(model):
    return (int(model.optimizer.iterations.numpy()),
            tuple(weight.tobytes() for weight in model.get_weights()))


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_a_users_signal_handler_sees_the_model_between_training_steps():
    # tf_keras 2.21 runs a step as one compiled call and Python runs signal handlers between
    # such calls, so a handler that saves the model (on SIGTERM, say) saves it between two
    # steps (checked in the peer with an interval timer: 223 snapshots, none torn); minikeras
    # ran the handler in the middle of the step (new moving statistics, old kernels)
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(),
                              SignalInsideTheStep(), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.run_eagerly = True        # the layer's call runs in every step
    states, snapshots = [], []

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            states.append(model_state(model))

        def on_train_batch_end(self, batch, logs=None):
            states.append(model_state(model))

    previous = signal.signal(signal.SIGUSR1, lambda signum, frame:
                             snapshots.append(model_state(model)))
    try:
        model.fit(np.arange(24.0).reshape(8, 3), np.ones((8, 2)), batch_size=2, shuffle=False,
                  epochs=2, verbose=0, callbacks=[Record()])
        handler_after_fit = signal.getsignal(signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert len(snapshots) == 8
    assert all(snapshot in states for snapshot in snapshots)
    assert [snapshot[0] for snapshot in snapshots] == list(range(1, 9))
    assert handler_after_fit is not previous and not hasattr(handler_after_fit, "wrapped")


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_a_users_signal_handler_sees_the_model_between_train_on_batch_calls():
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization(),
                              SignalInsideTheStep(), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.run_eagerly = True
    states, snapshots = [model_state(model)], []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame:
                             snapshots.append(model_state(model)))
    try:
        for step in range(3):
            model.train_on_batch(np.arange(6.0).reshape(2, 3) + step, np.ones((2, 2)))
            states.append(model_state(model))
        handler_after = signal.getsignal(signal.SIGUSR1)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert snapshots == states[1:]
    assert not hasattr(handler_after, "wrapped")


# --- get_file extracting over existing folders ---------------------------------------------------
def test_get_file_extracting_over_an_existing_folder_keeps_the_users_files(tmp_path):
    # tf_keras 2.21 extracts with tarfile/zipfile `extractall` into the datasets folder: files
    # of the archive replace those of the same names, other files stay; minikeras deleted the
    # existing `photos/` folder before moving the archive's in
    import tarfile
    source = tmp_path / "source" / "photos"
    source.mkdir(parents=True)
    (source / "cat.txt").write_text("new cat")
    archive = tmp_path / "photos.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        handle.add(source, arcname="photos")
    datasets = tmp_path / "cache" / "datasets"
    (datasets / "photos").mkdir(parents=True)
    (datasets / "photos" / "cat.txt").write_text("old cat")
    (datasets / "photos" / "mine.txt").write_text("the user's")
    path = keras.utils.get_file("photos.tar.gz", origin=archive.as_uri(), extract=True,
                                cache_dir=str(tmp_path / "cache"))
    assert path == str(datasets / "photos.tar.gz")
    assert (datasets / "photos" / "cat.txt").read_text() == "new cat"
    assert (datasets / "photos" / "mine.txt").read_text() == "the user's"
    assert sorted(os.listdir(datasets)) == ["photos", "photos.tar.gz"]
