"""Where the published weight files live: Keras' cache `$KERAS_HOME/models/` (default
`~/.keras/models/`) first, then a download into that cache when the network allows it.

A file already in the cache is used as it is (it may be a user's own copy); a download is
written to a temporary file and renamed, so an interrupted one leaves nothing behind.
"""
import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request

CACHE_SUBDIR = "models"
DOWNLOAD_TIMEOUT_SECONDS = 30


def keras_home():
    """`$KERAS_HOME`, else `~/.keras` (as Keras: `/tmp/.keras` when home is not writable)."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    home = os.path.join(os.path.expanduser("~"), ".keras")
    if not os.access(os.path.dirname(home), os.W_OK):
        return os.path.join("/tmp", ".keras")
    return home


def cache_path(file_name):
    return os.path.join(keras_home(), CACHE_SUBDIR, file_name)


def fetch(file_name, origin, what="the weights", file_hash=None):
    """The local path of `file_name`, downloading it from `origin` when it is not cached."""
    path = cache_path(file_name)
    if os.path.exists(path):
        return path
    try:
        _download(origin, path, file_hash)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise FileNotFoundError(
            f"Cannot load {what}: {file_name} is not in Keras' cache and downloading it failed "
            f"({error}). Download it from {origin} and put it at {path} (or pass the path of "
            "your copy as `weights=`).") from None
    return path


def _download(origin, path, file_hash):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, tmp_path = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, \
                urllib.request.urlopen(origin, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            shutil.copyfileobj(response, out)
        if file_hash is not None and _md5(tmp_path) != file_hash:
            raise ValueError(f"the downloaded file's md5 is not {file_hash}")
        os.replace(tmp_path, path)
    finally:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
