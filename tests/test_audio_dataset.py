"""keras.utils.audio_dataset_from_directory on 16-bit WAV files written here.

Checked by hand against tf_keras 2.21 on the same kind of tree: batch shapes (each batch padded
to its longest clip), values (int16 / 32768), label modes and class names agreed.
"""
import wave

import numpy as np
import pytest

import minikeras as keras


def _write_tree(root, lengths_by_class, channels=1):
    rng = np.random.default_rng(0)
    clips = {}
    for name, lengths in lengths_by_class.items():
        (root / name).mkdir()
        for i, length in enumerate(lengths):
            samples = rng.integers(-32768, 32767, size=(length, channels)).astype("<i2")
            path = root / name / f"{i}.wav"
            with wave.open(str(path), "wb") as handle:
                handle.setnchannels(channels)
                handle.setsampwidth(2)
                handle.setframerate(16000)
                handle.writeframes(samples.tobytes())
            clips[(name, i)] = samples.astype(np.float32) / 32768
    return clips


def test_batches_are_padded_to_their_longest_clip(tmp_path):
    clips = _write_tree(tmp_path, {"no": [50, 70], "yes": [60]})
    dataset = keras.utils.audio_dataset_from_directory(tmp_path, batch_size=3, shuffle=False)
    assert dataset.class_names == ["no", "yes"]
    audio, labels = dataset[0]
    assert audio.shape == (3, 70, 1) and audio.dtype == np.float32
    np.testing.assert_array_equal(labels, [0, 0, 1])
    np.testing.assert_array_equal(audio[0, :50], clips[("no", 0)])
    np.testing.assert_array_equal(audio[0, 50:], 0)
    np.testing.assert_array_equal(audio[2, :60], clips[("yes", 0)])


def test_output_sequence_length_cuts_and_pads_every_clip(tmp_path):
    clips = _write_tree(tmp_path, {"a": [50, 70], "b": [60]}, channels=2)
    dataset = keras.utils.audio_dataset_from_directory(
        tmp_path, batch_size=None, shuffle=False, output_sequence_length=60,
        label_mode="categorical")
    shapes = [np.shape(audio) for audio, _ in dataset]
    assert shapes == [(60, 2)] * 3
    audio, label = dataset[1]
    np.testing.assert_array_equal(audio, clips[("a", 1)][:60])
    np.testing.assert_array_equal(label, [1.0, 0.0])


def test_training_on_the_dataset(tmp_path):
    _write_tree(tmp_path, {"a": [40] * 3, "b": [40] * 3})
    train, val = keras.utils.audio_dataset_from_directory(
        tmp_path, batch_size=2, validation_split=0.5, subset="both", seed=1,
        label_mode="binary")
    model = keras.Sequential([keras.layers.Input((40, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile("sgd", "binary_crossentropy")
    history = model.fit(train, validation_data=val, epochs=1, verbose=0)
    assert np.isfinite(history.history["val_loss"][0])


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(ragged=True, output_sequence_length=10), ValueError, "ragged"),
    (dict(ragged=True), NotImplementedError, "ragged"),
    (dict(sampling_rate=1.5), ValueError, "integer"),
    (dict(sampling_rate=0), ValueError, "higher than 0"),
    (dict(sampling_rate=8000), NotImplementedError, "sampling_rate"),
    (dict(label_mode="sparse"), ValueError, "label_mode"),
])
def test_bad_arguments(tmp_path, kwargs, error, words):
    _write_tree(tmp_path, {"a": [10]})
    with pytest.raises(error, match=words):
        keras.utils.audio_dataset_from_directory(tmp_path, **kwargs)


def test_only_16_bit_files_are_read(tmp_path):
    (tmp_path / "a").mkdir()
    with wave.open(str(tmp_path / "a" / "x.wav"), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(8000)
        handle.writeframes(bytes(20))
    dataset = keras.utils.audio_dataset_from_directory(tmp_path, shuffle=False)
    with pytest.raises(ValueError, match="16-bit"):
        dataset[0]
