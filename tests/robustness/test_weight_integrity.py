"""Data integrity: a failed load changes nothing, loads into unbuilt models are refused, and a
save keeps what the user set up on the file it replaces."""
import os
import stat

import h5py
import numpy as np
import pytest

import minikeras as keras
from hostile import quiet, rewrite_h5

L = keras.layers
FILES = ["w.h5", "w.weights.h5", "m.h5", "m.keras"]


def model_of(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(3), L.Dense(2)])


def save(model, path):
    if path.name.startswith("m."):
        quiet(model.save, str(path))
    else:
        quiet(model.save_weights, str(path))


def _last_bias(f):
    found = []
    f.visititems(lambda name, obj: found.append(name)
                 if isinstance(obj, h5py.Dataset) and obj.shape == (2,) else None)
    return found[-1]


@pytest.mark.parametrize("filename", ["w.h5", "w.weights.h5", "m.h5"])
def test_failed_load_leaves_every_weight_unchanged(tmp_path, filename):
    """The last layer's bias is a string dataset: earlier layers must not have been assigned."""
    path = tmp_path / filename
    save(model_of(1), path)
    with h5py.File(path, "r+") as f:
        name = _last_bias(f)
        del f[name]
        f[name] = np.array([b"ab", b"cd"])
    model = model_of(2)
    before = model.get_weights()
    with pytest.raises(ValueError, match="not numbers"):
        quiet(model.load_weights, str(path))
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_failed_load_from_keras_archive_leaves_weights_unchanged(tmp_path):
    path = tmp_path / "m.keras"
    save(model_of(1), path)

    def break_last_bias(f, _):
        name = _last_bias(f)
        del f[name]
        f[name] = np.array([b"ab", b"cd"])
    rewrite_h5(path, break_last_bias)
    model = model_of(2)
    before = model.get_weights()
    with pytest.raises(ValueError, match="not numbers"):
        model.load_weights(str(path))
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def unbuilt_model():
    return keras.Sequential([L.Dense(4), L.Dense(2)])


@pytest.mark.parametrize("by_name", [False, True])
def test_legacy_load_into_an_unbuilt_model_raises_as_tf_keras(tmp_path, by_name):
    path = tmp_path / "w.h5"
    save(model_of(), path)
    with pytest.raises(ValueError, match="has not created its variables yet"):
        unbuilt_model().load_weights(str(path), by_name=by_name, skip_mismatch=by_name)


@pytest.mark.parametrize("filename", ["w.weights.h5", "m.keras"])
def test_skip_mismatch_into_an_unbuilt_model_raises(tmp_path, filename):
    path = tmp_path / filename
    save(model_of(), path)
    with pytest.raises(ValueError, match="have not yet been created"):
        unbuilt_model().load_weights(str(path), skip_mismatch=True)


# --- what a save keeps of the file it replaces -------------------------------------------------
@pytest.mark.parametrize("filename", FILES)
def test_saving_over_a_file_keeps_its_permission_bits(tmp_path, filename):
    path = tmp_path / filename
    save(model_of(1), path)
    os.chmod(path, 0o600)
    save(model_of(2), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize("filename", FILES)
def test_saving_through_a_symlink_updates_its_target(tmp_path, filename):
    (tmp_path / "store").mkdir()
    target = tmp_path / "store" / filename
    save(model_of(1), target)
    link = tmp_path / filename
    link.symlink_to(target)
    model = model_of(2)
    save(model, link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    loaded = model_of(3)
    if filename.startswith("m."):
        loaded = quiet(keras.models.load_model, str(target))
    else:
        quiet(loaded.load_weights, str(target))
    for expected, got in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(expected, got)
    assert [p.name for p in (tmp_path / "store").iterdir()] == [filename]


def test_hard_links_keep_the_old_content_documented_limitation(tmp_path):
    """An atomic save renames a new file over the name: other hard links to the old file keep
    the old bytes (documented in `file_io.atomic_write`)."""
    path = tmp_path / "w.h5"
    save(model_of(1), path)
    other = tmp_path / "other.h5"
    os.link(path, other)
    old = other.read_bytes()
    save(model_of(2), path)
    assert other.read_bytes() == old and path.read_bytes() != old


@pytest.mark.parametrize("filename", FILES)
def test_next_save_removes_temporary_files_of_a_killed_save(tmp_path, filename):
    path = tmp_path / filename
    stale = [tmp_path / f".{filename}.0123abcd.tmp", tmp_path / f".{filename}.deadbeef.tmp"]
    unrelated = [tmp_path / f".other.{filename}.0123abcd.tmp", tmp_path / f".{filename}.tmp",
                 tmp_path / f".{filename}.0123abcd.tmp.keep"]
    for leftover in stale + unrelated:
        leftover.write_bytes(b"partial")
    save(model_of(), path)
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in unrelated)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [filename] + [p.name for p in unrelated])


# --- damaged HDF5 global heaps (the `layer_names` hang) ----------------------------------------
def _grow_first_global_heap(path, extra):
    import struct
    data = bytearray(path.read_bytes())
    start = data.find(b"GCOL\x01\x00\x00\x00")
    assert start >= 0
    size = struct.unpack_from("<Q", data, start + 8)[0]
    struct.pack_into("<Q", data, start + 8, size + extra)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("filename", ["w.h5", "m.h5", "w.weights.h5"])
def test_damaged_global_heap_is_refused_before_hdf5_reads_it(tmp_path, filename):
    """A grown heap collection size made HDF5 loop forever reading `layer_names` (found by the
    fuzz). The load runs in a subprocess so that a regression shows as a timeout, not a hung
    test run."""
    import subprocess
    import sys
    path = tmp_path / filename
    save(model_of(1), path)
    _grow_first_global_heap(path, 8192)
    loader = "keras.models.load_model(path)" if filename.startswith("m.") else \
        "keras.Sequential([L.Dense(4, input_shape=(3,)), L.Dense(3), L.Dense(2)])" \
        ".load_weights(path)"
    code = (f"import warnings; warnings.simplefilter('ignore')\n"
            f"import minikeras as keras\nL = keras.layers\npath = {str(path)!r}\n"
            f"try:\n    {loader}\nexcept ValueError as error:\n    print(error)\n")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, PYTHONPATH=repo))
    assert "global heap" in result.stdout, result.stdout + result.stderr
