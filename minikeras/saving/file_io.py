"""Safe file handling for saving: atomic writes and clear errors for unreadable files.

Every writer in `minikeras.saving` writes into a temporary file beside the target and renames
it over the target only once the file is complete, so an exception (or a full disk) midway
leaves the previous file untouched.

Every reader treats the file as untrusted: HDF5 global heaps, attribute types and sizes, dataset
layouts (no external storage, no virtual datasets), types and declared sizes are checked before
the data is read; archive members are capped before they are decompressed; whatever is wrong
ends in `CorruptFileError` naming the file.
"""
import contextlib
import errno
import io
import json
import mmap
import os
import stat
import struct
import zipfile
import zlib

import h5py
import numpy as np

from ..core.durable import replaced_through_temporary_file
from ..core.serialization import UnknownClassError
from ..engine.argument_checks import weights_from_file

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
def atomic_write(filepath, create_parents=False):
    """Yield a temporary path beside `filepath`; on success it replaces `filepath`.

    A missing parent directory is created only with `create_parents` (tf.keras' legacy `.h5`
    model save does so; `.keras` archives and weight files raise FileNotFoundError).

    What the user set up on an existing file survives: its permission bits are copied to the
    new file, and a symbolic link stays a link (the file it points to is replaced). A hard link
    cannot survive an atomic rename: the other names keep the old content.

    Killed saves: every save removes the temporary files that killed saves left in its
    directory (`.<name>.minikeras-<host>-<pid>-<hex>.tmp` of a process that is gone, whatever
    the name: ModelCheckpoint's `w.{epoch}.h5` never saves one name twice), never one a live
    process is writing. Ctrl-C during the save takes effect once the file is complete.

    Example:
    >>> with atomic_write("notes.txt") as tmp:
    ...     with open(tmp, "w") as handle:
    ...         _ = handle.write("all or nothing")
    >>> with open("notes.txt") as handle:
    ...     handle.read()
    'all or nothing'
    """
    target = os.path.realpath(os.fspath(filepath))
    if os.path.isdir(target):        # name the target, not the temporary file renamed onto it
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), os.fspath(filepath))
    directory = os.path.dirname(target)
    if create_parents:
        os.makedirs(directory, exist_ok=True)
    else:
        _require_directory(directory, filepath)
    basename = os.path.basename(target)
    with replaced_through_temporary_file(
            directory, basename, target,
            before_replace=lambda tmp_path: _copy_permissions(target, tmp_path)) as tmp_path:
        yield tmp_path


@contextlib.contextmanager
def new_hdf5_file(path):
    """A new HDF5 file for `path`, built in memory and written by Python once complete. A
    write failing inside HDF5 (a full disk, a file size limit) leaves the file's objects open
    in the library, which then crashes the process (SIGSEGV) when it closes them at exit;
    failing in Python's `write` is a plain OSError."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as h5file:
        yield h5file
    with open(path, "wb") as handle:
        handle.write(buffer.getbuffer())


def _require_directory(directory, filepath):
    """The OSError that opening `filepath` for writing would raise, before any temporary file
    is made (its name would only confuse)."""
    try:
        is_directory = stat.S_ISDIR(os.stat(directory).st_mode)
    except OSError as error:        # missing (ENOENT), or a file on the way (ENOTDIR)
        raise type(error)(error.errno, error.strerror, os.fspath(filepath)) from None
    if not is_directory:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), os.fspath(filepath))


def _copy_permissions(target, tmp_path):
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return
    with contextlib.suppress(OSError):
        os.chmod(tmp_path, mode)


SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def check_readable(filepath, whole_model=False):
    """Raise a clear error when `filepath` is missing or a directory.

    As tf.keras: `load_model` on a directory looks for a SavedModel (OSError when there is
    none; minikeras cannot read one), `load_weights` on a directory is an IsADirectoryError."""
    filepath = os.fspath(filepath)
    if not os.path.exists(filepath):
        raise FileNotFoundError(f"No file or directory found at {filepath}")
    if not os.path.isdir(filepath):
        return
    if not whole_model:
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), filepath)
    if not any(os.path.isfile(os.path.join(filepath, name)) for name in SAVED_MODEL_FILES):
        raise OSError(f"SavedModel file does not exist at: {filepath}/"
                      "{saved_model.pbtxt|saved_model.pb}")
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
    with open(filepath, "rb") as f:
        try:
            contents = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:          # an empty file cannot be mapped (caught above anyway)
            contents = b""
        try:
            check_global_heaps(contents, f"Cannot load {what} from {filepath}")
        finally:
            if isinstance(contents, mmap.mmap):
                contents.close()
    try:
        return h5py.File(filepath, "r")
    except OSError as error:
        raise CorruptFileError(f"Cannot load {what} from {filepath}: the HDF5 file is truncated "
                               f"or corrupt ({error}).") from None


# --- global heaps ---------------------------------------------------------------------------------
# Variable-length strings (`layer_names`, `weight_names`, Keras 3 `name` attributes) live in
# HDF5 "global heap collections". A damaged collection size can make the HDF5 library loop
# forever while reading such an attribute, out of Python's reach (no timeout or signal can stop
# it), so collections are checked before the library sees the file. Format (HDF5 file format
# specification, "Global Heap"): "GCOL", version 1, 3 reserved bytes, the collection size
# (8 bytes, header included), then objects: index (2), reference count (2), reserved (4),
# size (8), data padded to 8 bytes; object 0 is the free space and takes the rest.
_GLOBAL_HEAP_SIGNATURE = b"GCOL\x01\x00\x00\x00"
_HEAP_OBJECT_HEADER = struct.Struct("<HHIQ")


def check_global_heaps(contents, what):
    """Raise CorruptFileError when a global heap collection in `contents` (bytes or mmap of a
    whole HDF5 file) is inconsistent: running past the end of the file, or objects that do
    not tile the collection exactly."""
    start = contents.find(_GLOBAL_HEAP_SIGNATURE)
    while start >= 0:
        problem = _global_heap_problem(contents, start)
        if problem:
            raise CorruptFileError(f"{what}: the HDF5 global heap at byte {start} is damaged "
                                   f"({problem}); the file is corrupt.")
        start = contents.find(_GLOBAL_HEAP_SIGNATURE, start + len(_GLOBAL_HEAP_SIGNATURE))


def _global_heap_problem(contents, start):
    if start + 16 > len(contents):
        return "truncated header"
    size = struct.unpack_from("<Q", contents, start + 8)[0]
    end = start + size
    if size < 16 or end > len(contents):
        return f"its size {size} runs past the end of the file"
    position = start + 16
    while position + _HEAP_OBJECT_HEADER.size <= end:
        index, _, _, object_size = _HEAP_OBJECT_HEADER.unpack_from(contents, position)
        if index == 0:                        # free space: exactly the rest of the collection
            return None if position + object_size == end else \
                f"its free space ({object_size} bytes) does not fill its end"
        position += _HEAP_OBJECT_HEADER.size + (object_size + 7) // 8 * 8
    # A full collection may end with fewer bytes than an object header: no free-space object.
    return None if position <= end else "its objects run past its end"


def open_zip(filepath):
    """Open a `.keras` archive; members are checked (size, CRC) as `read_member` reads them."""
    filepath = os.fspath(filepath)
    check_readable(filepath)
    try:
        return zipfile.ZipFile(filepath, "r")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
        raise CorruptFileError(f"Cannot load the model from {filepath}: not a valid '.keras' "
                               f"zip archive, the file is truncated or corrupt ({error}).") \
            from None


def read_member(archive, name, filepath, limit):
    """The bytes of one archive member, refused before decompressing when it declares more
    than `limit` bytes (a zip bomb), and checked against its CRC."""
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise CorruptFileError(f"Cannot load the model from {filepath}: the '.keras' archive "
                               f"has no '{name}'.") from None
    if info.file_size > limit:
        raise CorruptFileError(
            f"Cannot load the model from {filepath}: the archive member '{name}' declares "
            f"{info.file_size} bytes, more than the {limit} bytes this model can need.")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
            ValueError, zlib.error) as error:
        raise CorruptFileError(f"Cannot load the model from {filepath}: the member '{name}' of "
                               f"the '.keras' archive is corrupt or unreadable "
                               f"({type(error).__name__}: {error}).") from None
    if len(data) > limit:
        raise CorruptFileError(f"Cannot load the model from {filepath}: the archive member "
                               f"'{name}' is larger than the {limit} bytes this model can need.")
    return data


def open_h5_bytes(data, filepath, member):
    """An HDF5 file held in memory (the weights inside a `.keras` archive)."""
    check_global_heaps(data, f"Cannot load the model from {filepath}: its '{member}'")
    try:
        return h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as error:
        raise CorruptFileError(f"Cannot load the model from {filepath}: its '{member}' is not a "
                               f"readable HDF5 file ({error}).") from None


def parse_json(raw, what):
    """`json.loads` with every failure (bad bytes, bad syntax, absurd nesting) reported as a
    corrupt file; `what` names the file and the part being parsed."""
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as error:
        raise CorruptFileError(f"{what} is not valid JSON ({error}).") from None
    except RecursionError:
        raise CorruptFileError(f"{what} is nested too deeply to be a Keras config.") from None


def deserializing(filepath, build):
    """Run `build()` (a model from a file's config), turning what a malformed config makes the
    Python code trip over into a corrupt-file error naming the file. Deliberate errors of the
    loader (ValueError: unknown layer, safe mode, ...) pass unchanged."""
    try:
        with weights_from_file(filepath, _most_weight_elements(filepath)):
            return build()
    except RecursionError:
        raise CorruptFileError(f"Cannot load the model from {filepath}: its config is nested "
                               "too deeply to be a Keras model config.") from None
    except UnknownClassError:
        raise
    except (TypeError, KeyError, AttributeError, IndexError) as error:
        raise CorruptFileError(f"Cannot load the model from {filepath}: its model config is "
                               f"malformed ({type(error).__name__}: {error}).") from error


def _most_weight_elements(filepath):
    """More elements than any weight stored in `filepath` (a file or a SavedModel directory)
    can have, even compressed (None when its size is unknown)."""
    try:
        path = os.fspath(filepath)
        if os.path.isdir(path):
            size = sum(os.path.getsize(os.path.join(root, name))
                       for root, _, names in os.walk(path) for name in names)
        else:
            size = os.path.getsize(path)
    except (TypeError, OSError):
        return None
    return size * _MAX_COMPRESSION_RATIO + 2 ** 20


# The largest expansion a compression filter can give (deflate tops out near 1032:1): a
# compressed dataset declaring more than this many times the file's size is a forgery.
_MAX_COMPRESSION_RATIO = 1100


def file_size(obj):
    """The size in bytes of the HDF5 file holding `obj` (None when unknown)."""
    try:
        return h5py.h5i.get_file_id(obj.id).get_filesize()
    except (OSError, ValueError, AttributeError, RuntimeError):
        return None


def require_dataset(obj, where):
    """`obj` (what a file holds at a weight's path) must be a dataset, not a group or type."""
    if not isinstance(obj, h5py.Dataset):
        raise CorruptFileError(f"{where} is a {type(obj).__name__}, not a dataset: the file is "
                               "corrupt or not written by Keras.")
    return obj


def check_dataset(dataset, where, size_of_file=None):
    """Refuse a stored array before reading it when it is not a plain numeric dataset whose
    bytes live in this file, or when it declares more data than the file can hold.

    External storage and virtual layouts make HDF5 read other files (any file on the disk);
    a forged size makes the reader allocate gigabytes for a tiny file. `size_of_file` saves
    looking the file size up again for every dataset of one file."""
    require_dataset(dataset, where)
    plist = dataset.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise CorruptFileError(f"{where} is a virtual HDF5 dataset (its data would be read from "
                               "other files): refusing to load it.")
    if plist.get_external_count():
        raise CorruptFileError(f"{where} uses external storage (its data would be read from "
                               "another file): refusing to load it.")
    try:
        dtype = dataset.dtype
    except (ValueError, TypeError) as error:     # a damaged type HDF5 describes but NumPy can't
        raise CorruptFileError(f"{where} has an unreadable data type ({error}).") from None
    if dtype.kind not in "fiub" or dtype.fields is not None or dtype.subdtype is not None:
        raise CorruptFileError(f"{where} holds data of type {dtype}, not numbers: the file is "
                               "corrupt or not written by Keras.")
    size_of_file = size_of_file if size_of_file is not None else file_size(dataset)
    if size_of_file is None:
        return
    declared = dtype.itemsize
    for dim in dataset.shape:
        declared *= dim
    limit = size_of_file * (_MAX_COMPRESSION_RATIO if plist.get_nfilters() else 1)
    if declared > limit:
        raise CorruptFileError(f"{where} declares {declared} bytes of data (shape "
                               f"{dataset.shape}), more than the {size_of_file}-byte file can "
                               "hold: the file is corrupt or forged.")


def read_dataset(dataset, where):
    """The array of `dataset` once `check_dataset` accepted it."""
    check_dataset(dataset, where)
    return dataset[()]


def read_string_attribute(obj, name, where):
    """A list of strings stored as an HDF5 attribute, its declared type and size checked first
    (a forged attribute can make HDF5 read far beyond the file)."""
    try:
        attr = h5py.h5a.open(obj.id, name.encode("utf8"))
        count = attr.get_space().get_simple_extent_npoints()
        type_class = attr.get_type().get_class()
        storage = attr.get_storage_size() if count else 0
    except (KeyError, OSError, ValueError, RuntimeError) as error:
        raise CorruptFileError(f"{where}: the attribute '{name}' cannot be read "
                               f"({error}).") from None
    size_of_file = file_size(obj)
    if size_of_file is not None and (count > size_of_file or storage > size_of_file):
        raise CorruptFileError(f"{where}: the attribute '{name}' declares {count} entries "
                               f"({storage} bytes), more than the {size_of_file}-byte file "
                               "holds.")
    if count == 0:
        return []
    if type_class != h5py.h5t.STRING:
        raise CorruptFileError(f"{where}: the attribute '{name}' holds "
                               f"{attr.get_type().dtype}, not strings.")
    values = obj.attrs[name]
    values = [values] if isinstance(values, (str, bytes)) else list(np.ravel(values))
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


@contextlib.contextmanager
def reading_errors(filepath, what):
    """Turn low-level h5py failures while reading into an error naming the file."""
    try:
        yield
    except CorruptFileError as error:
        if filepath in str(error):
            raise
        raise CorruptFileError(f"Cannot load {what} from {filepath}: {error}") from None
    except NotImplementedError:     # a feature minikeras lacks, not a damaged file
        raise
    except (OSError, KeyError, RuntimeError, TypeError, UnicodeError, OverflowError) as error:
        # UnicodeError: a damaged object name HDF5 hands back undecodable (h5py then fails to
        # encode it again when looking it up).
        raise CorruptFileError(f"Cannot load {what} from {filepath}: the file is truncated, "
                               f"corrupt or not written by Keras ({type(error).__name__}: "
                               f"{error}).") from None
