"""`keras.utils.get_file`: a file from Keras' cache (`~/.keras/<cache_subdir>/`), downloaded
only when missing or when its hash does not match.

A download goes to a temporary file beside its target and is renamed into place only once it
is complete and its hash checked (the saving floor's `atomic_write`), so an interrupted or
corrupted download never leaves a file in the cache that a later call would trust.
"""
import hashlib
import os
import pathlib
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from urllib.parse import urlsplit

from ..callbacks.progbar import Progbar
from ..saving.file_io import atomic_write

_CHUNK = 65535


def keras_cache_dir(cache_dir=None):
    """`cache_dir`, else `$KERAS_HOME`, else `~/.keras`; `/tmp/.keras` when not writable."""
    if cache_dir is None:
        cache_dir = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"),
                                                                  ".keras")
    cache_dir = os.path.expanduser(cache_dir)
    try:
        os.makedirs(cache_dir, exist_ok=True)
    except OSError:
        pass   # not creatable: fall back below
    if not os.access(cache_dir, os.W_OK):
        cache_dir = os.path.join("/tmp", ".keras")
    return cache_dir


def _hasher(algorithm, file_hash=None):
    """'sha256', 'md5', or 'auto' (sha256 for a 64-digit hash, else md5)."""
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return hashlib.sha256()
    return hashlib.md5()


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """The hex digest of a file ('sha256', 'md5' or 'auto', which means sha256)."""
    hasher = _hasher("sha256" if algorithm == "auto" else algorithm)
    with open(fpath, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """Whether the file's sha256/md5 digest equals `file_hash`."""
    hasher = _hasher(algorithm, file_hash)
    name = "sha256" if hasher.name == "sha256" else "md5"
    return str(hash_file(fpath, name, chunk_size)) == str(file_hash)


def _inside(root, name):
    target = os.path.realpath(os.path.join(root, name))
    return os.path.commonpath([os.path.realpath(root), target]) == os.path.realpath(root)


def _safe_tar_members(archive, root):
    """Members that stay inside `root` (no absolute paths, no `..`, no links leading out)."""
    for member in archive.getmembers():
        if not _inside(root, member.name):
            continue
        if (member.issym() or member.islnk()) and not _inside(
                root, os.path.join(os.path.dirname(member.name), member.linkname)):
            continue
        yield member


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extracts a tar (any compression) or zip archive into `path`; returns whether
    `file_path` was an archive of an accepted format ('auto' = 'tar' then 'zip')."""
    if archive_format is None:
        return False
    formats = ["tar", "zip"] if archive_format == "auto" else archive_format
    formats = [formats] if isinstance(formats, str) else formats
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in formats:
        if kind == "tar" and tarfile.is_tarfile(file_path):
            with tarfile.open(file_path) as archive:
                archive.extractall(path, members=list(_safe_tar_members(archive, path)))
            return True
        if kind == "zip" and zipfile.is_zipfile(file_path):
            with zipfile.ZipFile(file_path) as archive:
                archive.extractall(path)   # zipfile drops absolute paths and `..` itself
            return True
    return False


class _DownloadProgress:
    """`urlretrieve`'s report hook drawing Keras' progress bar."""

    def __init__(self):
        self.progbar = None

    def __call__(self, block_num, block_size, total_size):
        if self.progbar is None:
            self.progbar = Progbar(None if total_size == -1 else total_size)
        current = block_num * block_size
        target = self.progbar.target
        self.progbar.update(current if target is None else min(current, target))


def _download(origin, fpath, file_hash, hash_algorithm):
    """Downloads into a temporary file beside `fpath` (saving's `atomic_write`), renamed over
    `fpath` only when complete and valid: a network error, Ctrl-C or a bad hash removes it."""
    print(f"Downloading data from {origin}")
    with atomic_write(fpath, create_parents=True) as partial:
        try:
            urllib.request.urlretrieve(origin, partial, _DownloadProgress())
        except urllib.error.HTTPError as error:
            raise OSError(_fetch_failure(origin, error.code, error.msg, fpath)) from error
        except urllib.error.URLError as error:
            raise OSError(_fetch_failure(origin, error.errno, error.reason, fpath)) from error
        if file_hash is not None and not validate_file(partial, file_hash, hash_algorithm):
            name = _hasher(hash_algorithm, file_hash).name
            raise ValueError(f"Incomplete or corrupted file detected. The {name} file hash "
                             f"does not match the provided value of {file_hash}.")


def _fetch_failure(origin, code, reason, fpath):
    return (f"URL fetch failure on {origin}: {code} -- {reason}. The file is not in the "
            f"cache either: download {origin} yourself and save it as {fpath}.")


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None):
    """The path of `fname` in Keras' cache (`<cache_dir>/<cache_subdir>/fname`), downloaded
    from `origin` first when it is missing or fails the `file_hash` check (sha256, or md5).

    `untar=True` extracts `fname + '.tar.gz'` to the folder `fname` and returns that folder;
    `extract=True` extracts a tar/zip archive beside it (the archive's path is returned).

    Example:

        path = keras.utils.get_file(
            "mnist.npz", "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz")
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    datadir = os.path.join(keras_cache_dir(cache_dir), cache_subdir)
    os.makedirs(datadir, exist_ok=True)
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: '{origin}'."
                             "Please specify the `fname` as the input param.")
    if untar:
        if fname.endswith(".tar.gz"):
            fname = str(pathlib.Path(fname).with_suffix("").with_suffix(""))
        untar_fpath = os.path.join(datadir, fname)
        fpath = untar_fpath + ".tar.gz"
    else:
        fpath = os.path.join(datadir, fname)

    if untar and os.path.isdir(untar_fpath) and not os.path.exists(fpath):
        return untar_fpath   # already extracted (tf.keras would download the archive again)
    download = not os.path.exists(fpath)
    if not download and file_hash is not None and not validate_file(fpath, file_hash,
                                                                     hash_algorithm):
        name = _hasher(hash_algorithm, file_hash).name
        print(f"A local file was found, but it seems to be incomplete or outdated because the "
              f"{name} file hash does not match the original value of {file_hash} so we will "
              "re-download the data.")
        download = True
    if download:
        _download(origin, fpath, file_hash, hash_algorithm)

    if untar:
        if not os.path.exists(untar_fpath):
            _extract_atomically(fpath, datadir, "tar")
        return untar_fpath
    if extract:
        _extract_atomically(fpath, datadir, archive_format)
    return fpath


def _move_into(source, target):
    """Move the entries of the folder `source` into the folder `target`, merging folders that
    exist in both as extracting there does (tf.keras' `extractall`): the archive's files
    replace files of the same names, other files in `target` stay."""
    for entry in os.listdir(source):
        moved, existing = os.path.join(source, entry), os.path.join(target, entry)
        if os.path.isdir(moved) and not os.path.islink(moved) and \
                os.path.isdir(existing) and not os.path.islink(existing):
            _move_into(moved, existing)
        else:       # a file over a folder or a folder over a file fails, as it does in tf
            os.replace(moved, existing)


def _extract_atomically(archive, datadir, archive_format):
    """Extracts into a temporary folder, then moves each top-level entry into `datadir`, so
    an interrupted extraction leaves no half-filled folder behind."""
    staging = tempfile.mkdtemp(prefix=".extract.", dir=datadir)
    try:
        extract_archive(archive, staging, archive_format)
        _move_into(staging, datadir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
