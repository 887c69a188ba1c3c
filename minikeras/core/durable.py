"""Durable writes: a file's bytes and a rename survive a power cut once these return.

`os.replace` makes a save atomic (readers see the old file or the new one), not durable: until
the new file's data and the directory entry reach the disk, a crash can leave the old name
pointing at an empty or partly written file. Both steps are needed: the file's bytes before the
rename, the directory after it.

Temporary files are named after their target, host and process
(`.<target>.minikeras-<host>-<pid>-<hex>.tmp`), so that cleaning up the leftovers of a killed
save can tell them from a file another live process (or another host sharing the directory) is
writing right now. Ctrl-C during a save is deferred to the end of the save
(`interrupts_deferred`), so that it neither tears the save apart nor gets lost inside a library
callback (CPython drops exceptions raised in weakref callbacks).
"""
import contextlib
import ctypes
import hashlib
import os
import re
import secrets
import shutil
import signal
import socket
import threading


def fsync_file(path):
    """Flush a closed file's bytes to the disk."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def sync_directory(directory):
    """Make renames in `directory` durable, where the platform allows it (POSIX)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def durable_replace(temporary, target):
    """`os.replace(temporary, target)` with the bytes synced before and the directory after."""
    fsync_file(temporary)
    os.replace(temporary, target)
    sync_directory(os.path.dirname(os.path.abspath(target)))


# --- temporary files and their leftovers ---------------------------------------------------------
_HOST_TAG = hashlib.sha1(socket.gethostname().encode("utf-8", "replace")).hexdigest()[:6]
_TEMPORARY_NAME = re.compile(
    r"\.(?P<target>.+)\.minikeras-(?P<host>[0-9a-f]{6})-(?P<pid>[0-9]+)-[0-9a-f]{8}\.tmp\Z")
# Temporary files of minikeras before host and process were in the name: `.<target>.<hex>.tmp`.
_OLD_TEMPORARY_NAME = re.compile(r"\.(?P<target>.+)\.[0-9a-f]{8}\.tmp\Z")
_being_written = set()          # this process' temporary files (a restarted container reuses pids)
_being_written_lock = threading.Lock()


def create_temporary_file(directory, target_name, make=None):
    """The path of a new empty file beside `target_name` in `directory`, with the permissions
    a plain `open(..., 'w')` gives (umask); `make=os.mkdir` makes a directory instead. Call
    `release_temporary_file` once it is renamed or removed."""
    make = make or (lambda path: os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY,
                                                  0o666)))
    for _ in range(100):
        name = (f".{_shortened(target_name)}.minikeras-{_HOST_TAG}-{os.getpid()}-"
                f"{secrets.token_hex(4)}.tmp")
        path = os.path.join(directory, name)
        try:
            make(path)
        except FileExistsError:
            continue
        with _being_written_lock:
            _being_written.add(path)
        return path
    raise FileExistsError(f"Could not create a temporary file beside {target_name} in "
                          f"{directory}.")


# File systems cap a name at 255 bytes; the temporary name adds ~40 to its target's, so a
# target of a legal name near that cap keeps only its first bytes in the temporary name (the
# clean-up tells temporary files apart by host and pid, not by the target part).
_NAME_MAX_BYTES = 255
_TEMPORARY_NAME_EXTRA_BYTES = len("." ".minikeras-000000-4294967295-00000000.tmp")


def _shortened(target_name):
    encoded = os.fsencode(target_name)
    budget = _NAME_MAX_BYTES - _TEMPORARY_NAME_EXTRA_BYTES
    if len(encoded) <= budget:
        return target_name
    return encoded[:budget].decode("utf-8", "ignore")   # never half a character


def release_temporary_file(path):
    with _being_written_lock:
        _being_written.discard(path)


@contextlib.contextmanager
def replaced_through_temporary_file(directory, target_name, target, before_replace=None):
    """Yield a new temporary file beside `target_name` in `directory`; once the block is done
    (and `before_replace(temporary)`, if given), it durably replaces `target`. On any error
    the temporary file is removed and `target` is untouched. Temporary files that killed
    writes left beside `target_name` are removed first; Ctrl-C waits for the end."""
    with interrupts_deferred():
        remove_abandoned_temporary_files(directory, target_name)
        temporary = create_temporary_file(directory, target_name)
        try:
            yield temporary
            if before_replace is not None:
                before_replace(temporary)
            durable_replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise
        finally:
            release_temporary_file(temporary)


def remove_abandoned_temporary_files(directory, target_name=None):
    """Remove what killed saves into `directory` left behind: the temporary files of processes
    of this host that no longer run (any target: ModelCheckpoint's `w.{epoch}.h5` never saves
    the same name twice), and the old-style ones of `target_name`. Files of live processes and
    of other hosts are left alone."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        match = _TEMPORARY_NAME.match(name)
        path = os.path.join(directory, name)
        if match:
            abandoned = match["host"] == _HOST_TAG and _abandoned_by(int(match["pid"]), path)
        else:
            match = _OLD_TEMPORARY_NAME.match(name)
            abandoned = match is not None and match["target"] == target_name
        if abandoned:
            with contextlib.suppress(OSError):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)      # a killed SavedModel save's directory
                else:
                    os.remove(path)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def exchange_paths(first, second):
    """Swap two directory entries in one step (Linux `renameat2(RENAME_EXCHANGE)`), so that a
    process killed in the middle leaves one or the other under each name, never neither.
    False where the platform or the file system cannot (the caller then uses two renames)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                 _RENAME_EXCHANGE) == 0:
        return True
    return False


def _abandoned_by(pid, path):
    if pid == os.getpid():
        with _being_written_lock:
            return path not in _being_written
    return not _process_exists(pid)


def _process_exists(pid):
    if os.name != "posix":      # os.kill(pid, 0) would terminate the process on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True             # another user's process (or an unusable pid): keep its file
    return True


# --- Ctrl-C during a write ------------------------------------------------------------------------
@contextlib.contextmanager
def interrupts_deferred():
    """Hold back Ctrl-C (SIGINT) until the block is done, then raise KeyboardInterrupt.

    A second Ctrl-C raises at once (a stuck write can still be abandoned; the writers clean up
    their temporary file on any exception). Only in the main thread and only while Python's
    default SIGINT handler (or the one of `steps_interrupted_between`) is installed; elsewhere
    the block runs unchanged."""
    previous = signal.getsignal(signal.SIGINT)
    if (threading.current_thread() is not threading.main_thread() or
            previous not in (signal.default_int_handler, _STEP_HANDLER)):
        yield
        return
    received = []

    def hold_back(signum, frame):
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    signal.signal(signal.SIGINT, hold_back)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


# --- Ctrl-C during a training step ----------------------------------------------------------------
class _StepInterrupts:
    """tf.keras runs a training step as one compiled call, so Ctrl-C never stops it halfway
    and a signal handler never sees it half done (Python runs handlers between the compiled
    calls); here a step is many NumPy calls. While a fit runs, this handler lets Ctrl-C wait
    for the end of the current step (weights, optimizer slots and moving statistics then all
    belong to the same step count) and raises at once anywhere else, as Python's handler does;
    the user's own signal handlers (a SIGTERM handler saving a checkpoint) are wrapped so that
    they too run once the step is done. Flipping a flag per step costs far less than
    installing a handler per step."""

    def __init__(self):
        self.thread = None      # the thread running the fit, while the handler is installed
        self.in_step = False
        self.pending = False
        self.held = []          # (handler, signum, frame) of user handlers waiting for the step

    def handle(self, signum, frame):
        if self.in_step and not self.pending:
            self.pending = True     # a second Ctrl-C within the step raises at once
            return
        raise KeyboardInterrupt

    def deferring(self, handler):
        """`handler` (the user's), run at once between steps and after the step within one."""
        def run_between_steps(signum, frame):
            if self.in_step:
                self.held.append((handler, signum, frame))
            else:
                handler(signum, frame)
        run_between_steps.wrapped = handler
        return run_between_steps

    def __enter__(self):
        self.in_step = True

    def __exit__(self, error_type, error, traceback):
        self.in_step = False
        while self.held:
            handler, signum, frame = self.held.pop(0)
            handler(signum, frame)
        if self.pending:
            self.pending = False
            if error_type is None:
                raise KeyboardInterrupt


_steps = _StepInterrupts()
_STEP_HANDLER = _steps.handle       # one bound method, so `getsignal(...) is` recognises it


_SIGNALS = tuple(sorted(signal.valid_signals()))     # (slow to list: once)
# The signals users handle (schedulers, timers, terminals), checked per
# `train_on_batch` call where looking at every signal would cost more than a small step.
_COMMON_SIGNALS = tuple(getattr(signal, name) for name in (
    "SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
    if hasattr(signal, name))


def _users_handlers(signals):
    """{signal: handler} of the Python handlers the user installed (not the defaults)."""
    handlers = {}
    for signum in signals:
        handler = signal.getsignal(signum)
        if callable(handler) and handler is not signal.default_int_handler:
            handlers[signum] = handler
    return handlers


@contextlib.contextmanager
def steps_interrupted_between(signals=_SIGNALS):
    """Around a whole fit: Ctrl-C and the user's handlers of `signals` inside `atomic_step()`
    wait for the step's end. Only in the main thread (where Python runs handlers), and not
    again inside a fit."""
    if threading.current_thread() is not threading.main_thread() or _steps.thread is not None:
        yield
        return
    wrapped = {}
    for signum, handler in _users_handlers(signals).items():
        with contextlib.suppress(OSError, ValueError):
            signal.signal(signum, _steps.deferring(handler))
            wrapped[signum] = handler
    default_sigint = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if default_sigint:
        signal.signal(signal.SIGINT, _STEP_HANDLER)
    _steps.thread = threading.get_ident()
    try:
        yield
    finally:
        _steps.thread = None
        _steps.in_step = _steps.pending = False
        _steps.held.clear()
        if default_sigint and signal.getsignal(signal.SIGINT) is _STEP_HANDLER:
            signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum, handler in wrapped.items():      # unless the fit installed another one
            if getattr(signal.getsignal(signum), "wrapped", None) is handler:
                signal.signal(signum, handler)


def atomic_step():
    """A context for one training step: Ctrl-C and the user's signal handlers arriving inside
    it take effect when it ends (inside a fit, a flag; `train_on_batch` in the main thread,
    the fit's handlers for one step; elsewhere `interrupts_deferred`)."""
    if _steps.thread is not None and _steps.thread == threading.get_ident() and \
            not _steps.in_step:
        return _steps
    if _steps.thread is None and threading.current_thread() is threading.main_thread():
        return _one_step()
    return interrupts_deferred()


@contextlib.contextmanager
def _one_step():
    with steps_interrupted_between(_COMMON_SIGNALS), _steps:
        yield
