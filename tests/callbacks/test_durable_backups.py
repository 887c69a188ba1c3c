"""BackupAndRestore's backup and ModelCheckpoint's files are durable: the new file's bytes are
fsynced before the atomic rename and the directory after it (else a power cut can leave the
name pointing at an empty or partial file)."""
import os

import numpy as np
import pytest

import minikeras as keras


@pytest.fixture
def disk_events(monkeypatch):
    """('fsync', path) and ('replace', source, target) in the order they happen."""
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def replace(source, target, *args, **kwargs):
        events.append(("replace", os.path.realpath(source), os.path.realpath(target)))
        return real_replace(source, target, *args, **kwargs)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def small_model():
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.compile("adam", "mse")
    return model


def assert_durable_replaces(events, target):
    """Every rename onto `target` has its source fsynced before and the directory after."""
    target = os.path.realpath(target)
    renames = [i for i, event in enumerate(events) if event[0] == "replace" and
               event[2] == target]
    assert renames, events
    for index in renames:
        source = events[index][1]
        assert ("fsync", source) in events[:index]
        assert ("fsync", os.path.dirname(target)) in events[index + 1:]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name fds")
def test_backup_and_restore_backup_is_durable(tmp_path, disk_events):
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"), save_freq=2,
                                              delete_checkpoint=False)
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 2), "float32")
    small_model().fit(x, y, batch_size=2, epochs=2, verbose=0, callbacks=[backup])
    target = tmp_path / "backup" / "training_state.npz"
    assert_durable_replaces(disk_events, target)
    # the backup still restores
    resumed = small_model()
    resumed.fit(x, y, batch_size=2, epochs=2, verbose=0,
                callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))])


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to name fds")
@pytest.mark.parametrize("filename, weights_only", [("ckpt.h5", True), ("ckpt.weights.h5", True),
                                                    ("ckpt.keras", False)])
def test_model_checkpoint_files_are_durable(tmp_path, disk_events, filename, weights_only):
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / filename),
                                                 save_weights_only=weights_only)
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 2), "float32")
    small_model().fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    assert_durable_replaces(disk_events, tmp_path / filename)
