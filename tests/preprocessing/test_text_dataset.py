"""`text_dataset_from_directory` and the tf.data methods of the datasets `keras.utils` makes,
checked against the files written here and against what tf.keras 2.21 gives (as noted)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.models.dataset import Dataset, EagerArray
from minikeras.utils import text_dataset_from_directory, timeseries_dataset_from_array


@pytest.fixture
def text_tree(tmp_path):
    """neg/ and pos/ with three .txt files each, one in a sub-folder and one non-text file."""
    texts = {}
    for label in ("neg", "pos"):
        (tmp_path / label / "sub").mkdir(parents=True)
        for i in range(3):
            text = f"{label} text número {i} " * (i + 1)
            (tmp_path / label / f"f{i}.txt").write_text(text, encoding="utf-8")
            texts[(label, i)] = text.encode("utf-8")
        (tmp_path / label / "sub" / "deep.txt").write_bytes(b"deep")
        (tmp_path / label / "skip.csv").write_bytes(b"skip")
    return tmp_path, texts


def test_batches_hold_the_file_bytes_and_int32_labels_in_folder_order(text_tree):
    root, texts = text_tree
    ds = text_dataset_from_directory(root, batch_size=4, shuffle=False)
    assert ds.class_names == ["neg", "pos"] and len(ds) == 2
    for batch, label in zip(ds, ("neg", "pos")):
        x, y = batch
        # sub-folders after the folder's own files, names sorted (tf.keras' order)
        assert list(x.numpy()) == [texts[(label, i)] for i in range(3)] + [b"deep"]
        assert y.dtype == np.int32 and y.tolist() == [ds.class_names.index(label)] * 4


def test_max_length_cuts_bytes_and_label_modes(text_tree):
    root, texts = text_tree
    x, y = text_dataset_from_directory(root, batch_size=8, shuffle=False, max_length=12,
                                       label_mode="categorical")[0]
    assert x[0] == texts[("neg", 0)][:12] == b"neg text n\xc3\xba"
    np.testing.assert_array_equal(y, np.eye(2, dtype="float32")[[0] * 4 + [1] * 4])
    _, yb = text_dataset_from_directory(root, batch_size=8, shuffle=False,
                                        label_mode="binary")[0]
    assert yb.shape == (8, 1) and yb.dtype == np.float32
    unlabeled = text_dataset_from_directory(root, labels=None, batch_size=3, shuffle=False)
    assert isinstance(unlabeled[0], np.ndarray) and len(unlabeled) == 3


def test_seeded_shuffle_and_validation_split_partition_the_files(text_tree):
    root, _ = text_tree
    train, val = text_dataset_from_directory(root, batch_size=None, seed=3,
                                             validation_split=0.25, subset="both")
    seen = [x for x, _ in train] + [x for x, _ in val]
    assert len(train) == 6 and len(val) == 2 and len(seen) == 8
    again = text_dataset_from_directory(root, batch_size=None, seed=3,
                                        validation_split=0.25, subset="validation")
    assert [x for x, _ in again] == [x for x, _ in val]


def test_bad_arguments_are_named(text_tree):
    root, _ = text_tree
    with pytest.raises(ValueError, match="label_mode"):
        text_dataset_from_directory(root, label_mode="sparse")
    with pytest.raises(ValueError, match="exactly 2"):
        (root / "third").mkdir()
        text_dataset_from_directory(root, label_mode="binary")
    with pytest.raises(ValueError, match="seed"):
        text_dataset_from_directory(root, validation_split=0.2, subset="training")


def test_map_adapt_and_fit_as_a_keras_text_script_does(text_tree):
    root, _ = text_tree
    raw = text_dataset_from_directory(root, batch_size=2, shuffle=False, label_mode="binary")
    vectorizer = keras.layers.TextVectorization(max_tokens=20, output_sequence_length=5)
    vectorizer.adapt(raw.map(lambda text, label: text))
    # the vocabulary tf.keras 2.21 adapts on the same files
    assert vectorizer.get_vocabulary() == ["", "[UNK]", "text", "número", "pos", "neg", "2",
                                           "1", "deep", "0"]
    train = raw.map(lambda text, label: (vectorizer(text), label)).cache().prefetch(2)
    x, y = train[0]
    assert isinstance(x, np.ndarray) and x.shape == (2, 5) and y.shape == (2, 1)
    model = keras.Sequential([keras.layers.Embedding(20, 4),
                              keras.layers.GlobalAveragePooling1D(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    history = model.fit(train, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and np.isfinite(history.history["loss"]).all()


def test_take_skip_cardinality_shuffle_and_eager_numpy():
    ds = timeseries_dataset_from_array(np.arange(10, dtype="float32"), None,
                                       sequence_length=1, batch_size=3)
    assert int(ds.cardinality()) == 4
    firsts = [float(batch[0, 0]) for batch in ds]
    assert firsts == [0.0, 3.0, 6.0, 9.0]
    assert [float(b[0, 0]) for b in ds.take(2)] == [0.0, 3.0]
    assert [float(b[0, 0]) for b in ds.skip(1)] == [3.0, 6.0, 9.0]
    assert len(ds.take(-1)) == 4 and len(ds.skip(-1)) == 0
    batch = next(iter(ds))
    assert isinstance(batch, EagerArray) and type(batch.numpy()) is np.ndarray
    shuffled = ds.shuffle(8, seed=0, reshuffle_each_iteration=False)
    one, two = ([float(b[0, 0]) for b in shuffled] for _ in range(2))
    assert sorted(one) == firsts and one == two
    with pytest.raises(NotImplementedError, match="filename"):
        ds.cache("somewhere")


def test_fit_keeps_a_dataset_in_its_order_whatever_shuffle_says():
    """tf.keras ignores `fit(shuffle=True)` for a tf.data.Dataset."""
    seen = []

    class Recording(Dataset):
        def __len__(self):
            return 8

        def __getitem__(self, index):
            seen.append(index)
            return np.full((2, 1), index, "float32"), np.zeros((2, 1), "float32")

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(Recording(), epochs=2, shuffle=True, verbose=0)
    assert seen[-16:] == list(range(8)) * 2     # (fit may look at batch 0 first)


def test_split_dataset_sizes_order_and_shuffle_as_tf_keras():
    x, y = np.arange(10), np.arange(10) * 10
    left, right = keras.utils.split_dataset((x, y), left_size=0.75)
    assert len(left) == 8 and len(right) == 2          # round(7.5), then the complement
    assert [(int(a), int(b)) for a, b in left][:2] == [(0, 0), (1, 10)]
    left, right = keras.utils.split_dataset(x, right_size=3, shuffle=True, seed=1)
    # tf.keras 2.21 gives this split for seed 1 (Python's random.shuffle of the samples)
    assert [int(v) for v in left] == [6, 8, 9, 7, 5, 3, 0]
    assert [int(v) for v in right] == [4, 1, 2]
    left, right = keras.utils.split_dataset(x, left_size=2, right_size=3)
    assert [int(v) for v in left] == [0, 1] and [int(v) for v in right] == [7, 8, 9]


def test_split_dataset_rebatches_a_batched_dataset():
    ds = timeseries_dataset_from_array(np.arange(10, dtype="float32"), None,
                                       sequence_length=1, batch_size=4)
    left, right = keras.utils.split_dataset(ds, left_size=0.5)
    assert [b.shape for b in left] == [(4, 1), (1, 1)]
    assert np.concatenate(list(right))[:, 0].tolist() == [5, 6, 7, 8, 9]


@pytest.mark.parametrize("kwargs,error,words", [
    (dict(), ValueError, "At least one"),
    (dict(left_size=11), ValueError, "positive integer smaller than 10"),
    (dict(left_size=1.5), ValueError, "float within the range"),
    (dict(left_size=0.5, right_size=0.7), ValueError, "greater than 1"),
    (dict(left_size="a"), TypeError, "Invalid `left_size` Type"),
    (dict(left_size=0.01), ValueError, "left side dataset split will be empty"),
])
def test_split_dataset_bad_sizes(kwargs, error, words):
    with pytest.raises(error, match=words):
        keras.utils.split_dataset(np.arange(10), **kwargs)
    with pytest.raises(TypeError, match="list/tuple of arrays"):
        keras.utils.split_dataset({"a": np.arange(3)}, left_size=1)
