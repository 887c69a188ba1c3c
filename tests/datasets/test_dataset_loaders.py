"""The dataset loaders read small cache files written here in Keras' formats.

The real files' hashes are pinned in the loaders; each test points the loader's hash at the
file it wrote (a wrong hash would make the loader try to download the real one)."""
import gzip
import hashlib
import io
import os
import pickle
import tarfile
import urllib.error
import urllib.request

import numpy as np
import pytest

import minikeras as keras
from minikeras.datasets import (boston_housing, cifar10, cifar100, digits, fashion_mnist, imdb,
                                mnist, reuters)


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty Keras home (`$KERAS_HOME`) with no network."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(url, filename, reporthook=None):
        raise urllib.error.URLError("offline test")
    monkeypatch.setattr(urllib.request, "urlretrieve", offline)
    (tmp_path / "datasets").mkdir()
    return tmp_path / "datasets"


def write_npz(cache, name, module, monkeypatch, attribute="FILE_HASH", **arrays):
    path = str(cache / name)
    np.savez(path, **arrays)
    monkeypatch.setattr(module, attribute, sha256(path))
    return path


def ragged(rows):
    out = np.empty(len(rows), dtype=object)
    out[:] = [list(r) for r in rows]
    return out


def test_mnist_returns_the_cached_arrays(cache, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 5, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 2, dtype=np.uint8)}
    write_npz(cache, "mnist.npz", mnist, monkeypatch, **arrays)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    for got, key in [(x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"),
                     (y_test, "y_test")]:
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == arrays[key].dtype


def test_offline_without_cache_names_the_file_and_url(cache):
    with pytest.raises(OSError) as info:
        mnist.load_data()
    message = str(info.value)
    assert "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz" in message
    assert os.path.join(str(cache), "mnist.npz") in message
    assert not os.path.exists(cache / "mnist.npz")


def write_idx(path, array, magic):
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as handle:
        handle.write(header + array.tobytes())


def test_fashion_mnist_reads_the_gzipped_idx_files(cache):
    folder = cache / "fashion-mnist"
    folder.mkdir()
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    y_train = np.array([9, 0, 4], np.uint8)
    x_test = rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)
    y_test = np.array([1, 2], np.uint8)
    write_idx(folder / "train-labels-idx1-ubyte.gz", y_train, 2049)
    write_idx(folder / "train-images-idx3-ubyte.gz", x_train, 2051)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", y_test, 2049)
    write_idx(folder / "t10k-images-idx3-ubyte.gz", x_test, 2051)
    (a, b), (c, d) = fashion_mnist.load_data()
    for got, want in [(a, x_train), (b, y_train), (c, x_test), (d, y_test)]:
        np.testing.assert_array_equal(got, want)


def cifar_pickle(images, labels, label_key):
    return pickle.dumps({b"data": images.reshape(len(images), -1),
                         label_key.encode(): labels, b"batch_label": b"x"}, protocol=2)


def write_tar_gz(path, members):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_cifar10_extracts_and_stacks_the_batches(cache, monkeypatch):
    rng = np.random.default_rng(2)
    batches = [(rng.integers(0, 256, (2, 3, 32, 32), dtype=np.uint8), [i, 9 - i])
               for i in range(6)]
    members = {f"cifar-10-batches-py/data_batch_{i + 1}": cifar_pickle(x, y, "labels")
               for i, (x, y) in enumerate(batches[:5])}
    members["cifar-10-batches-py/test_batch"] = cifar_pickle(*batches[5], "labels")
    archive = str(cache / "cifar-10-batches-py.tar.gz")
    write_tar_gz(archive, members)
    monkeypatch.setattr(cifar10, "FILE_HASH", sha256(archive))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    expected_x = np.concatenate([x for x, _ in batches[:5]]).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(x_train, expected_x)
    np.testing.assert_array_equal(y_train.ravel(), sum((y for _, y in batches[:5]), []))
    assert y_train.shape == (10, 1) and y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_test, batches[5][0].transpose(0, 2, 3, 1))
    assert y_test.dtype == np.uint8
    keras.backend.set_image_data_format("channels_first")
    try:
        (x_train_cf, _), _ = cifar10.load_data()   # from the extracted folder now
    finally:
        keras.backend.set_image_data_format("channels_last")
    np.testing.assert_array_equal(x_train_cf, np.concatenate([x for x, _ in batches[:5]]))


def test_cifar100_label_modes(cache, monkeypatch):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 256, (3, 3, 32, 32), dtype=np.uint8)

    def both(fine, coarse):
        return pickle.dumps({b"data": x.reshape(3, -1), b"fine_labels": fine,
                             b"coarse_labels": coarse}, protocol=2)
    archive = str(cache / "cifar-100-python.tar.gz")
    write_tar_gz(archive, {"cifar-100-python/train": both([5, 50, 99], [1, 2, 3]),
                           "cifar-100-python/test": both([7, 8, 9], [4, 5, 6])})
    monkeypatch.setattr(cifar100, "FILE_HASH", sha256(archive))
    (x_train, fine), _ = cifar100.load_data()
    _, (_, coarse_test) = cifar100.load_data(label_mode="coarse")
    np.testing.assert_array_equal(x_train, x.transpose(0, 2, 3, 1))
    np.testing.assert_array_equal(fine, [[5], [50], [99]])
    np.testing.assert_array_equal(coarse_test, [[4], [5], [6]])
    with pytest.raises(ValueError, match='`label_mode` must be one of `"fine"`, `"coarse"`'):
        cifar100.load_data(label_mode="medium")


def test_boston_housing_shuffles_with_the_seed_and_splits(cache, monkeypatch):
    x = np.arange(30, dtype=np.float64).reshape(10, 3)
    y = np.arange(10, dtype=np.float64) * 1.5
    write_npz(cache, "boston_housing.npz", boston_housing, monkeypatch, x=x, y=y)
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data(test_split=0.3, seed=5)
    order = np.random.RandomState(5).permutation(10)
    np.testing.assert_array_equal(x_train, x[order[:7]])
    np.testing.assert_array_equal(y_test, y[order[7:]])


IMDB_TRAIN = [[1, 2, 3], [4, 5], [6, 7, 8, 9], [2, 2]]
IMDB_TEST = [[9, 1], [3, 3, 3, 3, 3]]


def write_imdb(cache, monkeypatch):
    write_npz(cache, "imdb.npz", imdb, monkeypatch, x_train=ragged(IMDB_TRAIN),
              y_train=np.array([0, 1, 1, 0]), x_test=ragged(IMDB_TEST),
              y_test=np.array([1, 0]))


def keras_order(seed):
    rng = np.random.RandomState(seed)
    train = rng.permutation(len(IMDB_TRAIN))
    return train, rng.permutation(len(IMDB_TEST))


def test_imdb_default_rules(cache, monkeypatch):
    write_imdb(cache, monkeypatch)
    (x_train, y_train), (x_test, y_test) = imdb.load_data()
    train_order, test_order = keras_order(113)
    # start_char 1, indices + 3; num_words defaults to the largest index (12), which is
    # therefore out of range and becomes oov_char 2
    shifted = [[1] + [w + 3 for w in IMDB_TRAIN[i]] for i in train_order]
    expected = [[w if w < 12 else 2 for w in seq] for seq in shifted]
    assert x_train.dtype == object and x_train.shape == (4,)
    assert list(x_train) == expected
    np.testing.assert_array_equal(y_train, np.array([0, 1, 1, 0])[train_order])
    assert list(x_test) == [[1] + [w + 3 if w + 3 < 12 else 2 for w in IMDB_TEST[i]]
                            for i in test_order]
    np.testing.assert_array_equal(y_test, np.array([1, 0])[test_order])


def test_imdb_num_words_skip_top_maxlen_and_no_oov(cache, monkeypatch):
    write_imdb(cache, monkeypatch)
    (x_train, y_train), _ = imdb.load_data(num_words=8, skip_top=5, maxlen=4, seed=0,
                                           oov_char=None, index_from=2, start_char=None)
    train_order, _ = keras_order(0)
    kept = [i for i in train_order if len(IMDB_TRAIN[i]) < 4]
    assert list(x_train) == [[w + 2 for w in IMDB_TRAIN[i] if 5 <= w + 2 < 8] for i in kept]
    np.testing.assert_array_equal(y_train, np.array([0, 1, 1, 0])[kept])
    with pytest.raises(ValueError, match="no sequence was kept. Increase maxlen"):
        imdb.load_data(maxlen=1)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        imdb.load_data(num_wordz=3)


def test_imdb_word_index_offline_error_names_the_file(cache):
    with pytest.raises(OSError, match="imdb_word_index.json"):
        imdb.get_word_index()


def test_reuters_split_and_rules(cache, monkeypatch):
    xs = [[1, 2], [3], [4, 5, 6], [7, 8], [9]]
    labels = np.array([0, 3, 45, 2, 1])
    write_npz(cache, "reuters.npz", reuters, monkeypatch, x=ragged(xs), y=labels)
    (x_train, y_train), (x_test, y_test) = reuters.load_data(test_split=0.4, num_words=10)
    order = np.random.RandomState(113).permutation(5)
    sequences = [[1] + [w + 3 if w + 3 < 10 else 2 for w in xs[i]] for i in order]
    assert list(x_train) == sequences[:3] and list(x_test) == sequences[3:]
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), labels[order])
    assert len(reuters.get_label_names()) == 46


def test_digits_still_loads():
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    assert x_train.shape[1:] == (8, 8) and len(x_train) + len(x_test) == 1797
