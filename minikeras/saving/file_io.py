"""Safe file handling for saving: atomic writes and clear errors for unreadable files.

Every writer in `minikeras.saving` writes into a temporary file beside the target and renames
it over the target only once the file is complete, so an exception (or a full disk) midway
leaves the previous file untouched.
"""
import contextlib
import os
import secrets
import zipfile

import h5py

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class CorruptFileError(ValueError, OSError):
    """A file that is not a readable Keras file (truncated, corrupt or another format).

    Both a ValueError (as Keras reports bad files) and an OSError (as h5py and zipfile
    report them), so callers catching either see it."""


def ask_to_proceed_with_overwrite(filepath):
    """Keras' interactive prompt for `overwrite=False`; True means go ahead."""
    answer = input(f"[WARNING] {filepath} already exists - overwrite? [y/n]").strip().lower()
    while answer not in ("y", "n"):
        answer = input('Enter "y" (overwrite) or "n" (cancel).').strip().lower()
    if answer == "n":
        return False
    print("[TIP] Next time specify overwrite=True!")
    return True


def should_write(filepath, overwrite):
    """False when the user declined to overwrite an existing file."""
    if not overwrite and os.path.isfile(filepath):
        return ask_to_proceed_with_overwrite(filepath)
    return True


@contextlib.contextmanager
def atomic_write(filepath):
    """Yield a temporary path beside `filepath`; on success it replaces `filepath`.

    Example:
    >>> with atomic_write("notes.txt") as tmp:
    ...     with open(tmp, "w") as handle:
    ...         _ = handle.write("all or nothing")
    >>> with open("notes.txt") as handle:
    ...     handle.read()
    'all or nothing'
    """
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    os.makedirs(directory, exist_ok=True)
    tmp_path = _create_temporary_file(directory, os.path.basename(filepath))
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as f:      # make the bytes durable before the rename
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp_path)
        raise
    _sync_directory(directory)


def _create_temporary_file(directory, basename):
    """An empty new file with the permissions a plain `open(..., 'w')` would give (umask)."""
    for _ in range(100):
        path = os.path.join(directory, f".{basename}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not create a temporary file beside {basename} in {directory}.")


def _sync_directory(directory):
    """Make the rename itself durable where the platform allows it."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def check_readable(filepath):
    """Raise a clear error when `filepath` is missing or a directory."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No file or directory found at {filepath}")
    if os.path.isdir(filepath):
        raise NotImplementedError(
            f"{filepath} is a directory: loading the TensorFlow SavedModel format is not "
            "supported by minikeras. Use a '.keras' or '.h5' file.")


def open_h5(filepath, what="weights"):
    """Open an HDF5 file for reading, naming the file and the problem when it is not one."""
    filepath = os.fspath(filepath)
    check_readable(filepath)
    with open(filepath, "rb") as f:
        head = f.read(8)
    if head != HDF5_SIGNATURE:
        kind = "a zip archive (a '.keras' file?)" if head[:4] == b"PK\x03\x04" else \
            "empty" if not head else "not an HDF5 file"
        raise CorruptFileError(f"Cannot load {what} from {filepath}: the file is {kind}.")
    try:
        return h5py.File(filepath, "r")
    except OSError as error:
        raise CorruptFileError(f"Cannot load {what} from {filepath}: the HDF5 file is truncated "
                               f"or corrupt ({error}).") from None


def open_zip(filepath):
    filepath = os.fspath(filepath)
    check_readable(filepath)
    try:
        archive = zipfile.ZipFile(filepath, "r")
    except zipfile.BadZipFile as error:
        raise CorruptFileError(f"Cannot load the model from {filepath}: not a valid '.keras' "
                               f"zip archive, the file is truncated or corrupt ({error}).") \
            from None
    bad = archive.testzip()
    if bad is not None:
        archive.close()
        raise CorruptFileError(f"Cannot load the model from {filepath}: the member {bad!r} of "
                               "the '.keras' archive is corrupt (CRC check failed).")
    return archive


@contextlib.contextmanager
def reading_errors(filepath, what):
    """Turn low-level h5py failures while reading into an error naming the file."""
    try:
        yield
    except (OSError, KeyError, RuntimeError) as error:
        raise CorruptFileError(f"Cannot load {what} from {filepath}: the file is truncated, "
                               f"corrupt or not written by Keras ({type(error).__name__}: "
                               f"{error}).") from None
