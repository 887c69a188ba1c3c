"""`keras.utils.audio_dataset_from_directory`: WAV files as batches `fit` accepts."""
import wave

import numpy as np

from . import dataset_utils

ALLOWED_FORMATS = (".wav",)


def read_wav(path, output_sequence_length=None):
    """A 16-bit PCM WAV file as float32 `(samples, channels)` in [-1, 1), as tf.audio.decode_wav:
    cut or zero-padded to `output_sequence_length` samples when given."""
    with wave.open(str(path), "rb") as handle:
        width, channels = handle.getsampwidth(), handle.getnchannels()
        frames = handle.readframes(handle.getnframes())
    if width != 2:
        raise ValueError(f"Can only read 16-bit WAV files; {path} has {8 * width}-bit samples.")
    audio = np.frombuffer(frames, dtype="<i2").reshape(-1, channels)
    audio = audio.astype(np.float32) / np.float32(32768)
    if output_sequence_length is not None:
        audio = _to_length(audio, output_sequence_length)
    return audio


def _to_length(audio, length):
    if len(audio) >= length:
        return audio[:length]
    return np.concatenate([audio, np.zeros((length - len(audio), audio.shape[1]), audio.dtype)])


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size=32, sampling_rate=None,
                                 output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 follow_links=False):
    """Batches `(audio, labels)` from `directory/<class>/*.wav` (16-bit PCM): audio float32
    `(batch, samples, channels)`, each batch zero-padded to its longest file (or every file cut
    or padded to `output_sequence_length`); labels as `image_dataset_from_directory` gives them.
    Returns a `Sequence` of batches with `class_names` (a pair for `subset='both'`).

    Example:

        train, val = audio_dataset_from_directory("speech_commands", validation_split=0.2,
                                                  subset="both", seed=0,
                                                  output_sequence_length=16000)
    """
    dataset_utils.check_label_arguments(labels, label_mode, class_names, "audio files",
                                        "audio samples")
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if ragged:
        raise NotImplementedError("audio_dataset_from_directory(ragged=True) is not supported: "
                                  "minikeras has no ragged tensors.")
    _check_sampling_rate(sampling_rate)
    if labels is None or label_mode is None:
        labels, label_mode = None, None

    def make_part(paths, part_labels, names, reshuffle, part_seed):
        return _AudioBatches(paths, part_labels, label_mode, names, output_sequence_length,
                             batch_size, reshuffle, part_seed)
    return dataset_utils.directory_datasets(
        directory, labels, label_mode, class_names, ALLOWED_FORMATS, shuffle, seed,
        validation_split, subset, follow_links, make_part, "audio files")


def _check_sampling_rate(sampling_rate):
    if sampling_rate is None:
        return
    if not isinstance(sampling_rate, int):
        raise ValueError("`sampling_rate` should have an integer value. "
                         f"Received: sampling_rate={sampling_rate}")
    if sampling_rate <= 0:
        raise ValueError("`sampling_rate` should be higher than 0. "
                         f"Received: sampling_rate={sampling_rate}")
    raise NotImplementedError("audio_dataset_from_directory(sampling_rate=...) is not supported: "
                              "tf.keras resamples with tensorflow-io, which minikeras does not "
                              "use. Resample the files beforehand.")


class _AudioBatches(dataset_utils.BatchDataset):
    """Files read per batch (nothing is held in memory between batches)."""

    def __init__(self, paths, labels, label_mode, class_names, output_sequence_length,
                 batch_size, reshuffle, seed):
        self.class_names = class_names
        self.file_paths = list(paths)
        labels_by_file = None if label_mode is None else \
            dataset_utils.label_array(labels, label_mode, len(class_names))

        def make_batch(indices, single):
            clips = [read_wav(self.file_paths[i], output_sequence_length) for i in indices]
            audio = clips[0] if single else _pad_to_longest(clips)
            if labels_by_file is None:
                return audio
            batch_labels = labels_by_file[indices]
            return (audio, batch_labels[0]) if single else (audio, batch_labels)
        super().__init__(len(paths), batch_size, make_batch,
                         reshuffle_seed=seed if reshuffle else None)


def _pad_to_longest(clips):
    channels = {clip.shape[1] for clip in clips}
    if len(channels) > 1:
        raise ValueError(f"The audio files of a batch have different channel counts: "
                         f"{sorted(channels)}.")
    longest = max(len(clip) for clip in clips)
    return np.stack([_to_length(clip, longest) for clip in clips])
