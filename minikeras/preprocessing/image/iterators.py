"""Batch iterators of Keras 2's ImageDataGenerator: `Iterator`, `NumpyArrayIterator`,
`DirectoryIterator`.

They are `keras.utils.Sequence`s (so `fit` takes them) and also endless Python iterators
(`next(it)`). With a `seed`, NumPy's global random state is reseeded before every batch with
`seed + total_batches_seen`, and the shuffle and the random transforms draw from it, so the
batches equal tf.keras' batch for batch.
"""
import os
import threading
import warnings

import numpy as np

from ...core import config
from ...utils import image_utils
from ...models.data_utils import Sequence


class Iterator(Sequence):
    """Base class: `n` samples in batches of `batch_size`, reshuffled at every epoch when
    `shuffle`. Subclasses implement `_get_batches_of_transformed_samples(index_array)`."""

    white_list_formats = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")

    def __init__(self, n, batch_size, shuffle, seed):
        self.n = n
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self.index_generator = self._flow_index()

    def _set_index_array(self):
        self.index_array = np.random.permutation(self.n) if self.shuffle else np.arange(self.n)

    def _reseed(self):
        if self.seed is not None:
            np.random.seed(self.seed + self.total_batches_seen)

    def __getitem__(self, idx):
        if idx >= len(self):
            raise ValueError(f"Asked to retrieve element {idx}, but the Sequence has length "
                             f"{len(self)}")
        self._reseed()
        self.total_batches_seen += 1
        if self.index_array is None:
            self._set_index_array()
        index_array = self.index_array[self.batch_size * idx:self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array)

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def on_epoch_end(self):
        self._set_index_array()

    def reset(self):
        self.batch_index = 0

    def _flow_index(self):
        """Endless index batches; a new epoch (new order) starts after the short last batch."""
        self.reset()
        while True:
            self._reseed()
            if self.batch_index == 0:
                self._set_index_array()
            start = (self.batch_index * self.batch_size) % self.n if self.n else 0
            if self.n > start + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0
            self.total_batches_seen += 1
            yield self.index_array[start:start + self.batch_size]

    def __iter__(self):
        return self

    def __next__(self):
        return self.next()

    def next(self):
        with self.lock:
            index_array = next(self.index_generator)
        return self._get_batches_of_transformed_samples(index_array)

    def _get_batches_of_transformed_samples(self, index_array):
        raise NotImplementedError

    def _save_batch(self, batch_x, index_array, hash_bound):
        """Writes the augmented images (rescaled to 0..255); the random file-name suffix is a
        draw from NumPy's global stream, as in Keras."""
        for i, j in enumerate(index_array):
            img = image_utils.array_to_img(batch_x[i], self.data_format, scale=True)
            name = (f"{self.save_prefix}_{j}_{np.random.randint(hash_bound)}."
                    f"{self.save_format}")
            img.save(os.path.join(self.save_to_dir, name))


def _split_misc_inputs(x):
    """`x` may be `(images, extra)` or `(images, [extras...])`: extras ride along unchanged."""
    if not isinstance(x, (tuple, list)):
        return x, []
    extras = x[1] if isinstance(x[1], list) else [x[1]]
    images, extras = x[0], [np.asarray(e) for e in extras]
    for extra in extras:
        if len(images) != len(extra):
            raise ValueError("All of the arrays in `x` should have the same length. Found a "
                             f"pair with: len(x[0]) = {len(images)}, len(x[?]) = {len(extra)}")
    return images, extras


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from arrays: `(x, y)`, `(x, y, sample_weight)` or `x`.
    With `subset`, the first `validation_split` fraction is the 'validation' part."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, data_format=None, save_to_dir=None,
                 save_prefix="", save_format="png", subset=None, ignore_class_split=False,
                 dtype=None):
        data_format = data_format or config.image_data_format()
        self.dtype = dtype or config.floatx()
        x, x_misc = _split_misc_inputs(x)
        if y is not None and len(x) != len(y):
            raise ValueError("`x` (images tensor) and `y` (labels) should have the same length. "
                             f"Found: x.shape = {np.asarray(x).shape}, y.shape = "
                             f"{np.asarray(y).shape}")
        if sample_weight is not None and len(x) != len(sample_weight):
            raise ValueError("`x` (images tensor) and `sample_weight` should have the same "
                             f"length. Found: x.shape = {np.asarray(x).shape}, "
                             f"sample_weight.shape = {np.asarray(sample_weight).shape}")
        if subset is not None:
            x, x_misc, y, sample_weight = self._take_subset(
                subset, image_data_generator._validation_split, ignore_class_split,
                x, x_misc, y, sample_weight)
        self.x = np.asarray(x, dtype=self.dtype)
        self.x_misc = x_misc
        if self.x.ndim != 4:
            # two arguments, as tf.keras raises it: the message prints as their tuple
            raise ValueError("Input data in `NumpyArrayIterator` should have rank 4. You passed "
                             "an array with shape", self.x.shape)
        channels_axis = 3 if data_format == "channels_last" else 1
        if self.x.shape[channels_axis] not in {1, 3, 4}:
            warnings.warn(
                f'NumpyArrayIterator is set to use the data format convention "{data_format}" '
                f"(channels on axis {channels_axis}), i.e. expected either 1, 3, or 4 channels "
                f"on axis {channels_axis}. However, it was passed an array with shape "
                f"{self.x.shape} ({self.x.shape[channels_axis]} channels).")
        self.y = None if y is None else np.asarray(y)
        self.sample_weight = None if sample_weight is None else np.asarray(sample_weight)
        self.image_data_generator = image_data_generator
        self.data_format = data_format
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        super().__init__(self.x.shape[0], batch_size, shuffle, seed)

    @staticmethod
    def _take_subset(subset, validation_split, ignore_class_split, x, x_misc, y, sample_weight):
        if subset not in {"training", "validation"}:
            raise ValueError(f'Invalid subset name: {subset}; expected "training" or '
                             '"validation".')
        split = int(len(x) * validation_split)
        if (y is not None and not ignore_class_split
                and not np.array_equal(np.unique(y[:split]), np.unique(y[split:]))):
            raise ValueError("Training and validation subsets have different number of classes "
                             "after the split. If your numpy arrays are sorted by the label, you "
                             "might want to shuffle them.")
        part = slice(None, split) if subset == "validation" else slice(split, None)

        def cut(a):
            return None if a is None else a[part]
        # Keras leaves sample_weight uncut (misaligned with x); it is cut with x here.
        return cut(x), [np.asarray(cut(e)) for e in x_misc], cut(y), cut(sample_weight)

    def _get_batches_of_transformed_samples(self, index_array):
        generator = self.image_data_generator
        batch_x = self.x[index_array].astype(self.dtype)
        if generator._can_augment_batch(batch_x):
            batch_x = generator._augment_batch(batch_x)
        else:
            for i, j in enumerate(index_array):
                params = generator.get_random_transform(self.x[j].shape)
                image = generator.apply_transform(self.x[j].astype(self.dtype), params)
                batch_x[i] = generator.standardize(image)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, 1e4)
        extras = [extra[index_array] for extra in self.x_misc]
        inputs = [batch_x] + extras if extras else batch_x
        if self.y is None:
            return inputs
        if self.sample_weight is None:
            return inputs, self.y[index_array]
        return inputs, self.y[index_array], self.sample_weight[index_array]


def _iter_valid_files(directory, white_list_formats, follow_links):
    """(folder, file name) of every image below `directory`: folders in sorted order, files
    sorted inside each, extensions compared case-insensitively."""
    suffixes = tuple("." + f for f in white_list_formats)
    for root, _, files in sorted(os.walk(directory, followlinks=follow_links),
                                 key=lambda entry: entry[0]):
        for name in sorted(files):
            if name.lower().endswith(".tiff"):
                warnings.warn('Using ".tiff" files with multiple bands will cause distortion. '
                              "Please verify your output.")
            if name.lower().endswith(suffixes):
                yield root, name


def list_class_files(directory, white_list_formats, split, class_index, follow_links):
    """File names relative to the parent of `directory` (`class/sub/img.png`), restricted to the
    `split` fraction `(start, stop)` of the sorted list when given."""
    class_name = os.path.basename(directory)
    found = list(_iter_valid_files(directory, white_list_formats, follow_links))
    if split:
        count = len(found)
        found = found[int(split[0] * count):int(split[1] * count)]
    return [os.path.join(class_name, os.path.relpath(os.path.join(root, name), directory))
            for root, name in found], [class_index] * len(found)


class BatchFromFiles(Iterator):
    """Shared by the file iterators: loading, augmenting and labelling a batch of files.
    Subclasses set `_filepaths`, `classes`, `class_indices`, `class_mode` (and `_targets`,
    `_sample_weight` where they apply)."""

    _sample_weight = None

    def _set_processing_attrs(self, image_data_generator, target_size, color_mode, data_format,
                              save_to_dir, save_prefix, save_format, subset, interpolation,
                              keep_aspect_ratio):
        self.image_data_generator = image_data_generator
        self.target_size = tuple(target_size)
        self.keep_aspect_ratio = keep_aspect_ratio
        channels = {"rgba": 4, "rgb": 3, "grayscale": 1}
        if color_mode not in channels:
            raise ValueError(f'Invalid color mode: {color_mode}; expected "rgb", "rgba", or '
                             '"grayscale".')
        self.color_mode = color_mode
        self.data_format = data_format
        if data_format == "channels_last":
            self.image_shape = self.target_size + (channels[color_mode],)
        else:
            self.image_shape = (channels[color_mode],) + self.target_size
        self.save_to_dir = save_to_dir
        self.save_prefix = save_prefix
        self.save_format = save_format
        self.interpolation = interpolation
        self.subset = subset
        self.split = None
        if subset is not None:
            validation_split = image_data_generator._validation_split
            if subset == "validation":
                self.split = (0, validation_split)
            elif subset == "training":
                self.split = (validation_split, 1)
            else:
                raise ValueError(f'Invalid subset name: {subset};expected "training" or '
                                 '"validation"')

    @property
    def filepaths(self):
        return self._filepaths

    @property
    def labels(self):
        if self.class_mode in {"multi_output", "raw"}:
            return self._targets
        return self.classes

    @property
    def sample_weight(self):
        return self._sample_weight

    def _load(self, path):
        img = image_utils.load_img(path, color_mode=self.color_mode,
                                   target_size=self.target_size,
                                   interpolation=self.interpolation,
                                   keep_aspect_ratio=self.keep_aspect_ratio)
        x = image_utils.img_to_array(img, data_format=self.data_format)
        img.close()
        return x

    def _labels_for(self, batch_x, index_array):
        if self.class_mode == "input":
            return batch_x.copy()
        if self.class_mode in {"binary", "sparse"}:
            return np.asarray([self.classes[i] for i in index_array], dtype=self.dtype)
        if self.class_mode == "categorical":
            # a sample's class may be a list of classes (multi-label): all of them are set
            batch_y = np.zeros((len(batch_x), len(self.class_indices)), dtype=self.dtype)
            for row, i in enumerate(index_array):
                batch_y[row, self.classes[i]] = 1.0
            return batch_y
        if self.class_mode == "multi_output":
            return [output[index_array] for output in self.labels]
        if self.class_mode == "raw":
            return self.labels[index_array]
        return None

    def _get_batches_of_transformed_samples(self, index_array):
        generator = self.image_data_generator
        batch_x = np.zeros((len(index_array),) + self.image_shape, dtype=self.dtype)
        for i, j in enumerate(index_array):
            x = self._load(self._filepaths[j])
            if generator:
                params = generator.get_random_transform(x.shape)
                x = generator.standardize(generator.apply_transform(x, params))
            batch_x[i] = x
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, 1e7)
        batch_y = self._labels_for(batch_x, index_array)
        if batch_y is None:
            return batch_x
        if self.sample_weight is None:
            return batch_x, batch_y
        return batch_x, batch_y, self.sample_weight[index_array]


class DirectoryIterator(BatchFromFiles):
    """Batches of augmented images read from `directory/<class>/...` image files."""

    allowed_class_modes = {"categorical", "binary", "sparse", "input", None}

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical", batch_size=32,
                 shuffle=True, seed=None, data_format=None, save_to_dir=None, save_prefix="",
                 save_format="png", follow_links=False, subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype=None):
        self.dtype = dtype or config.floatx()
        self._set_processing_attrs(image_data_generator, target_size, color_mode,
                                   data_format or config.image_data_format(), save_to_dir,
                                   save_prefix, save_format, subset, interpolation,
                                   keep_aspect_ratio)
        self.directory = directory
        if class_mode not in self.allowed_class_modes:
            raise ValueError(f"Invalid class_mode: {class_mode}; expected one of: "
                             f"{self.allowed_class_modes}")
        self.class_mode = class_mode
        if not classes:
            classes = [name for name in sorted(os.listdir(directory))
                       if os.path.isdir(os.path.join(directory, name))]
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes))))
        self.filenames, labels = [], []
        for name in classes:
            names, indices = list_class_files(os.path.join(directory, name),
                                              self.white_list_formats, self.split,
                                              self.class_indices[name], follow_links)
            self.filenames += names
            labels += indices
        self.samples = len(self.filenames)
        self.classes = np.asarray(labels, dtype="int32").reshape(self.samples)
        print(f"Found {self.samples} images belonging to {self.num_classes} classes.")
        self._filepaths = [os.path.join(directory, name) for name in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)
