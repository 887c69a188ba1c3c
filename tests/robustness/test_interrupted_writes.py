"""Saves, checkpoints, backups and TensorBoard records under Ctrl-C, a process killed midway and
a write failing midway: the previous file stays intact and loadable, a Ctrl-C is never lost,
and what a killed writer left behind is removed by the next write into the directory (whatever
file it writes), never a file another live process is writing.

The interruptions are injected (deterministic); one real `kill -9` loop is marked slow."""
import glob
import os
import signal
import struct
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import minikeras as keras
from die_worker import data, model_with_seed, save
from minikeras.callbacks import event_file
from minikeras.core import durable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def run_worker(*args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, os.path.join(HERE, "die_worker.py"), *args],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 17, result.stderr[-3000:]


def temporary_files(directory):
    return sorted(glob.glob(os.path.join(str(directory), "**", "*.tmp"), recursive=True) +
                  glob.glob(os.path.join(str(directory), "**", ".*.tmp"), recursive=True))


def weights_in(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if str(path).endswith(".keras") or os.path.basename(str(path)).startswith("m."):
            return keras.models.load_model(path).get_weights()
        model = model_with_seed(9)
        model.load_weights(path)
        return model.get_weights()


def same(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


FORMATS = ["m.keras", "m.h5", "w.weights.h5", "w.h5"]


# --- Ctrl-C -------------------------------------------------------------------------------------
def ctrl_c_while_writing(monkeypatch, times=1):
    """`times` SIGINTs arrive once the bytes of the first file are written, just before it
    is synced and renamed over the target."""
    sync = durable.fsync_file
    pending = [times]

    def interrupted_sync(path):
        for _ in range(pending[0]):
            pending[0] -= 1
            os.kill(os.getpid(), signal.SIGINT)
        return sync(path)
    # every durable write (model files, weights, backups) syncs through durable.fsync_file
    monkeypatch.setattr(durable, "fsync_file", interrupted_sync)


@pytest.mark.parametrize("name", FORMATS)
def test_ctrl_c_during_a_save_takes_effect_once_the_file_is_complete(tmp_path, monkeypatch,
                                                                      name):
    path = tmp_path / name
    save(model_with_seed(1), path)
    new = model_with_seed(2)
    ctrl_c_while_writing(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        save(new, path)
    assert same(weights_in(path), new.get_weights())
    assert temporary_files(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


@pytest.mark.parametrize("name", ["m.keras", "w.weights.h5"])
def test_a_second_ctrl_c_abandons_the_save_and_keeps_the_old_file(tmp_path, monkeypatch, name):
    path = tmp_path / name
    old = model_with_seed(1)
    save(old, path)
    ctrl_c_while_writing(monkeypatch, times=2)
    with pytest.raises(KeyboardInterrupt):
        save(model_with_seed(2), path)
    assert same(weights_in(path), old.get_weights())
    assert temporary_files(tmp_path) == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_a_backup_keeps_a_complete_backup(tmp_path, monkeypatch):
    x, y = data()
    model = model_with_seed(1)
    ctrl_c_while_writing(monkeypatch)
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), save_freq=2)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=[backup])
    with np.load(tmp_path / "training_state.npz") as state:
        assert (int(state["epoch"]), int(state["batch"])) == (0, 1)
    assert temporary_files(tmp_path) == []


def test_interrupts_are_deferred_only_in_the_main_thread_with_the_default_handler():
    seen = []

    def in_thread():
        with durable.interrupts_deferred():
            seen.append(signal.getsignal(signal.SIGINT))
    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert seen == [signal.default_int_handler]

    def users_handler(signum, frame):
        seen.append("user")
    previous = signal.signal(signal.SIGINT, users_handler)
    try:
        with durable.interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
        assert seen[-1] == "user" and signal.getsignal(signal.SIGINT) is users_handler
    finally:
        signal.signal(signal.SIGINT, previous)


# --- a process killed midway ----------------------------------------------------------------------
@pytest.mark.parametrize("name", FORMATS)
def test_a_save_killed_midway_keeps_the_old_file_and_the_next_save_cleans_up(tmp_path, name):
    path = tmp_path / name
    run_worker("save", str(path))
    assert same(weights_in(path), model_with_seed(1).get_weights())
    assert len(temporary_files(tmp_path)) == 1          # what the killed save left
    save(model_with_seed(3), tmp_path / "another.keras")  # any later save into the directory
    assert temporary_files(tmp_path) == []


def test_checkpoint_killed_while_writing_an_epoch_file_leaves_no_temporary_file(tmp_path):
    # 'w.{epoch}.h5': the next run resumed (BackupAndRestore) never writes 'w.02.h5' again
    run_worker("checkpoint", str(tmp_path))
    assert sorted(os.listdir(tmp_path))[-1] == "w.01.h5"
    assert len(temporary_files(tmp_path)) == 1
    x, y = data()
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "w.{epoch:02d}.h5"),
                                                 save_weights_only=True)
    model_with_seed(1).fit(x, y, batch_size=4, epochs=4, initial_epoch=2, verbose=0,
                           callbacks=[checkpoint])
    assert sorted(os.listdir(tmp_path)) == ["w.01.h5", "w.03.h5", "w.04.h5"]


def test_backup_killed_midway_resumes_from_the_previous_backup(tmp_path):
    run_worker("backup", str(tmp_path))
    with np.load(tmp_path / "training_state.npz") as state:     # the second backup, complete
        assert (int(state["epoch"]), int(state["batch"])) == (0, 3)
    assert len(temporary_files(tmp_path)) == 1
    starts = []
    probe = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: starts.append(epoch))
    x, y = data()
    backup = keras.callbacks.BackupAndRestore(str(tmp_path), save_freq=2)
    model_with_seed(5).fit(x, y, batch_size=4, epochs=3, verbose=0, shuffle=False,
                           callbacks=[backup, probe])
    assert starts == [1, 2]          # the backup at the epoch's last batch: the next epoch
    assert os.listdir(tmp_path) == []   # backup deleted at the end, nothing left behind


def test_backup_leftover_of_earlier_versions_is_removed(tmp_path):
    (tmp_path / "tmp_training_state.npz").write_bytes(b"partial")
    x, y = data()
    model_with_seed(1).fit(x, y, epochs=1, verbose=0,
                           callbacks=[keras.callbacks.BackupAndRestore(str(tmp_path))])
    assert os.listdir(tmp_path) == []


def test_leftovers_of_live_processes_and_other_hosts_are_kept(tmp_path):
    """Only a file whose writer is gone is removed: another process of this host saving right
    now, or a host sharing the directory (its pids mean nothing here), keep theirs."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    finished = subprocess.run([sys.executable, "-c", "pass"])
    finished_pid = subprocess.Popen([sys.executable, "-c", "pass"])
    finished_pid.wait()
    try:
        host = durable._HOST_TAG
        other_host = "000000" if host != "000000" else "111111"
        names = {
            "live": f".a.h5.minikeras-{host}-{sleeper.pid}-0123abcd.tmp",
            "gone": f".b.h5.minikeras-{host}-{finished_pid.pid}-0123abcd.tmp",
            "mine, not being written": f".c.h5.minikeras-{host}-{os.getpid()}-0123abcd.tmp",
            "other host": f".d.h5.minikeras-{other_host}-{finished_pid.pid}-0123abcd.tmp",
            "not ours": ".e.h5.0123abcd.tmp",
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"partial")
        save(model_with_seed(1), tmp_path / "w.weights.h5")
        left = set(os.listdir(tmp_path))
        assert {key for key, name in names.items() if name in left} == {
            "live", "other host", "not ours"}
    finally:
        sleeper.kill()
        sleeper.wait()
    assert finished.returncode == 0


# --- TensorBoard records --------------------------------------------------------------------------
def read_records(path):
    """The payloads of an event file, checking every length and CRC."""
    data = open(path, "rb").read()
    payloads, position = [], 0
    while position < len(data):
        length = struct.unpack_from("<Q", data, position)[0]
        header = data[position:position + 8]
        assert struct.unpack_from("<I", data, position + 8)[0] == \
            event_file.masked_crc32c(header), f"torn record at byte {position}"
        payload = data[position + 12:position + 12 + length]
        assert len(payload) == length, f"torn record at byte {position}"
        assert struct.unpack_from("<I", data, position + 12 + length)[0] == \
            event_file.masked_crc32c(payload), f"torn record at byte {position}"
        payloads.append(payload)
        position += 12 + length + 4
    return payloads


class _FailingHalfway:
    """A file whose next write stores part of the bytes, then fails (a full disk)."""

    def __init__(self, real):
        self.real, self.fail_next = real, True

    def write(self, data):
        if self.fail_next:
            self.fail_next = False
            self.real.write(bytes(data[:len(data) // 2]))
            raise OSError(28, "No space left on device")
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_an_event_write_failing_midway_leaves_no_torn_record(tmp_path):
    writer = event_file.EventFileWriter(str(tmp_path))
    writer.write(1, [event_file.scalar_value("loss", 1.0)])
    writer._file = _FailingHalfway(writer._file)
    with pytest.raises(OSError, match="No space left"):
        writer.write(2, [event_file.scalar_value("loss", 2.0)])
    writer.write(3, [event_file.scalar_value("loss", 3.0)])
    writer.close()
    assert len(read_records(writer.path)) == 3      # file version, step 1, step 3


def test_ctrl_c_during_an_event_write_waits_for_the_record(tmp_path, monkeypatch):
    writer = event_file.EventFileWriter(str(tmp_path))
    writer.write(1, [event_file.scalar_value("loss", 1.0)])
    real_write = writer._file.write
    interrupts = [signal.SIGINT]

    def write_interrupted(data):        # a few bytes at a time, Ctrl-C after the first ones
        written = real_write(bytes(data[:5]))
        for signum in interrupts:
            os.kill(os.getpid(), signum)
        interrupts.clear()
        return written
    monkeypatch.setattr(writer, "_file", type("F", (), {
        "write": staticmethod(write_interrupted), "fileno": writer._file.fileno,
        "close": writer._file.close})())
    with pytest.raises(KeyboardInterrupt):
        writer.write(2, [event_file.scalar_value("loss", 2.0)])
    writer.close()
    assert len(read_records(writer.path)) == 3


# --- real kill -9 ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_kill_9_loop_on_checkpoints_and_backups_then_resume(tmp_path):
    """SIGKILL a fit with BackupAndRestore, ModelCheckpoint('w.{epoch}.h5') and TensorBoard at
    random moments; after each kill every checkpoint loads, every event file reads to its last
    whole record; the final resumed run finishes and leaves no temporary file."""
    import time
    code = (
        "import sys, warnings; warnings.simplefilter('ignore')\n"
        "import minikeras as keras\n"
        "from die_worker import data, model_with_seed\n"
        "d = sys.argv[1]; x, y = data()\n"
        "print('ready', flush=True)\n"
        "model_with_seed(1).fit(x, y, batch_size=2, epochs=60, verbose=0, shuffle=False,\n"
        "    callbacks=[keras.callbacks.BackupAndRestore(d + '/backup', save_freq=3),\n"
        "               keras.callbacks.ModelCheckpoint(d + '/w.{epoch:03d}.weights.h5',\n"
        "                                               save_weights_only=True),\n"
        "               keras.callbacks.TensorBoard(d + '/logs', update_freq=1)])\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, HERE]))
    rng = np.random.default_rng(3)
    finished = False
    for trial in range(40):
        process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert process.stdout.readline().strip() == b"ready"
        try:
            process.wait(timeout=rng.uniform(0.2, 2.0))
            finished = True
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        process.stdout.close()
        process.stderr.close()
        for path in glob.glob(str(tmp_path / "w.*.weights.h5")):
            assert all(np.all(np.isfinite(w)) for w in weights_in(path))
        for path in glob.glob(str(tmp_path / "logs" / "*" / "events.*")):
            read_records_up_to_a_torn_tail(path)
        if finished:
            break
        time.sleep(0.01)
    assert finished, "the resumed runs never finished"
    assert temporary_files(tmp_path) == []
    assert not os.path.exists(tmp_path / "backup" / "training_state.npz")
    assert os.path.exists(tmp_path / "w.060.weights.h5")


def read_records_up_to_a_torn_tail(path):
    """As TensorBoard reads a file whose writer was killed: whole records, then possibly the
    start of one (never a torn record followed by more)."""
    data = open(path, "rb").read()
    position = 0
    while position + 12 <= len(data):
        length = struct.unpack_from("<Q", data, position)[0]
        end = position + 12 + length + 4
        if end > len(data):
            return
        assert struct.unpack_from("<I", data, end - 4)[0] == \
            event_file.masked_crc32c(data[position + 12:end - 4])
        position = end
