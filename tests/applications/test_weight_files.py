"""weight_files.fetch: Keras' cache first, else a download (from a local HTTP server started
here) written atomically and checked against its md5; failures name the file and the URL."""
import functools
import hashlib
import http.server
import os
import threading

import pytest

from minikeras.applications import weight_files


@pytest.fixture
def server(tmp_path):
    """Serve tmp_path/served on 127.0.0.1; yields (directory, base URL)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def test_download_into_the_cache_then_reuse_it(server, keras_home):
    served, url = server
    payload = os.urandom(100_000)
    (served / "weights.h5").write_bytes(payload)
    md5 = hashlib.md5(payload).hexdigest()
    path = weight_files.fetch("weights.h5", url + "weights.h5", file_hash=md5)
    assert path == str(keras_home / "models" / "weights.h5")
    with open(path, "rb") as f:
        assert f.read() == payload
    (served / "weights.h5").unlink()   # the second call must not need the server
    assert weight_files.fetch("weights.h5", url + "weights.h5", file_hash=md5) == path
    assert os.listdir(keras_home / "models") == ["weights.h5"]


def test_hash_mismatch_is_refused_and_leaves_nothing(server, keras_home):
    served, url = server
    (served / "weights.h5").write_bytes(b"not the published file")
    with pytest.raises(FileNotFoundError, match="md5 file hash does not match the provided "
                                                "value of 0123456789abcdef"):
        weight_files.fetch("weights.h5", url + "weights.h5", file_hash="0123456789abcdef")
    assert os.listdir(keras_home / "models") == []


def test_missing_remote_file_names_file_url_and_cache_path(server, keras_home):
    _, url = server
    with pytest.raises(FileNotFoundError) as info:
        weight_files.fetch("absent.h5", url + "absent.h5", what="the test weights")
    message = str(info.value)
    assert message.startswith("Cannot load the test weights: absent.h5 is not in Keras' cache")
    assert url + "absent.h5" in message
    assert str(keras_home / "models" / "absent.h5") in message
    assert os.listdir(keras_home / "models") == []


def test_keras_home_default(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert weight_files.cache_path("x.h5") == str(tmp_path / ".keras" / "models" / "x.h5")
