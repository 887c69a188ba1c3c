"""`keras.utils.get_file` against a local HTTP server on 127.0.0.1 started by the test."""
import hashlib
import http.server
import io
import os
import tarfile
import threading
import urllib.error
import urllib.request
import zipfile

import pytest

from minikeras.utils import get_file
from minikeras.utils import file_utils

PAYLOAD = b"minikeras " * 5000


class Handler(http.server.BaseHTTPRequestHandler):
    files = {}

    def do_GET(self):
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        if self.path.startswith("/truncated"):
            # promises the whole file, sends a third, then hangs up
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 3])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY"):   # talk to 127.0.0.1 directly
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    Handler.files = {"/data.bin": PAYLOAD, "/truncated.bin": PAYLOAD}
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def cache_files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


def test_downloads_once_then_reads_the_cache(server, tmp_path, capsys):
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    path = get_file("data.bin", origin=server + "/data.bin", file_hash=sha,
                    cache_dir=str(tmp_path))
    assert path == os.path.join(str(tmp_path), "datasets", "data.bin")
    assert open(path, "rb").read() == PAYLOAD
    assert "Downloading data from " + server + "/data.bin" in capsys.readouterr().out
    Handler.files = {}   # the server forgets the file: the cache must be used
    assert get_file("data.bin", origin=server + "/data.bin", file_hash=sha,
                    cache_dir=str(tmp_path)) == path
    assert "Downloading" not in capsys.readouterr().out


def test_md5_hash_and_name_from_the_url(server, tmp_path):
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    path = get_file(origin=server + "/data.bin", md5_hash=md5, cache_dir=str(tmp_path),
                    cache_subdir="models")
    assert path == os.path.join(str(tmp_path), "models", "data.bin")


def test_hash_mismatch_is_refused_and_nothing_is_cached(server, tmp_path):
    with pytest.raises(ValueError, match="Incomplete or corrupted file detected. The sha256 "
                                         "file hash does not match"):
        get_file("data.bin", origin=server + "/data.bin", file_hash="0" * 64,
                 cache_dir=str(tmp_path))
    assert cache_files(str(tmp_path)) == []


def test_stale_cached_file_is_downloaded_again(server, tmp_path, capsys):
    target = tmp_path / "datasets" / "data.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(b"old")
    path = get_file("data.bin", origin=server + "/data.bin",
                    file_hash=hashlib.sha256(PAYLOAD).hexdigest(), cache_dir=str(tmp_path))
    assert open(path, "rb").read() == PAYLOAD
    assert "hash does not match the original value" in capsys.readouterr().out


def test_interrupted_download_leaves_no_partial_file(server, tmp_path):
    with pytest.raises(OSError, match="URL fetch failure on .*truncated.bin"):
        get_file("truncated.bin", origin=server + "/truncated.bin", cache_dir=str(tmp_path))
    assert cache_files(str(tmp_path)) == []


def test_keyboard_interrupt_leaves_no_partial_file(server, tmp_path, monkeypatch):
    def interrupted(url, filename, reporthook=None):
        with open(filename, "wb") as handle:
            handle.write(PAYLOAD[:100])
        raise KeyboardInterrupt
    monkeypatch.setattr(urllib.request, "urlretrieve", interrupted)
    with pytest.raises(KeyboardInterrupt):
        get_file("data.bin", origin=server + "/data.bin", cache_dir=str(tmp_path))
    assert cache_files(str(tmp_path)) == []


def test_offline_without_cache_names_the_file_and_the_url(tmp_path, monkeypatch):
    def offline(url, filename, reporthook=None):
        raise urllib.error.URLError("no network")
    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    origin = "https://example.invalid/some/archive.npz"
    expected_path = os.path.join(str(tmp_path), "datasets", "archive.npz")
    with pytest.raises(OSError) as info:
        get_file("archive.npz", origin=origin, cache_dir=str(tmp_path))
    assert origin in str(info.value) and expected_path in str(info.value)


def test_missing_file_on_server_reports_http_status(server, tmp_path):
    with pytest.raises(OSError, match="404"):
        get_file("nothere.bin", origin=server + "/nothere.bin", cache_dir=str(tmp_path))


def test_keras_home_is_the_default_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home"))
    path = get_file("data.bin", origin=server + "/data.bin")
    assert path == os.path.join(str(tmp_path / "home"), "datasets", "data.bin")


def tar_gz_bytes(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_untar_extracts_the_folder(server, tmp_path):
    Handler.files["/pack.tar.gz"] = tar_gz_bytes({"pack/a.txt": b"A", "pack/sub/b.txt": b"B"})
    path = get_file("pack", origin=server + "/pack.tar.gz", untar=True, cache_dir=str(tmp_path))
    assert path == os.path.join(str(tmp_path), "datasets", "pack")
    assert open(os.path.join(path, "sub", "b.txt")).read() == "B"


def test_extract_zip_and_unsafe_tar_members_are_skipped(server, tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("z/inside.txt", "zip")
    Handler.files["/z.zip"] = buffer.getvalue()
    get_file("z.zip", origin=server + "/z.zip", extract=True, cache_dir=str(tmp_path))
    assert (tmp_path / "datasets" / "z" / "inside.txt").read_text() == "zip"
    Handler.files["/evil.tar.gz"] = tar_gz_bytes({"../escaped.txt": b"x", "ok.txt": b"y"})
    get_file("evil.tar.gz", origin=server + "/evil.tar.gz", extract=True,
             cache_dir=str(tmp_path / "c"))
    assert (tmp_path / "c" / "datasets" / "ok.txt").read_text() == "y"
    assert not (tmp_path / "c" / "escaped.txt").exists()


def test_origin_is_required():
    with pytest.raises(ValueError, match='Please specify the "origin" argument'):
        get_file("x")


def test_validate_file_picks_the_algorithm_from_the_hash_length(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    assert file_utils.validate_file(str(path), hashlib.sha256(b"abc").hexdigest())
    assert file_utils.validate_file(str(path), hashlib.md5(b"abc").hexdigest())
    assert not file_utils.validate_file(str(path), hashlib.md5(b"abd").hexdigest())
