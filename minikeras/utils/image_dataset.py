"""`keras.utils.image_dataset_from_directory`: image files as batches `fit` accepts."""
import numpy as np

from . import dataset_utils
from .image_utils import load_img, open_image, resize_images, smart_resize

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
CHANNELS = {"rgb": 3, "rgba": 4, "grayscale": 1}
# tf.image.resize's methods (half-pixel centres, no antialiasing), all computed here
RESIZE_METHODS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                  "gaussian", "mitchellcubic")


def _check_interpolation(interpolation):
    interpolation = interpolation.lower()
    if interpolation not in RESIZE_METHODS:
        raise NotImplementedError(
            f"Value not recognized for `interpolation`: {interpolation}. Supported values "
            f"are: dict_keys({list(RESIZE_METHODS)})")
    return interpolation


def _grayscale(path):
    """8-bit gray as TensorFlow decodes a colour PNG with `channels=1` (libpng's fixed-point
    weights 9797, 19234, 3737 over 2^15, truncated), which differs from Pillow's 'L'."""
    img = open_image(path)
    if img.mode in ("L", "I;16", "I"):
        return np.asarray(img)
    rgb = np.asarray(img.convert("RGB")).astype(np.uint32)
    gray = (9797 * rgb[..., 0] + 19234 * rgb[..., 1] + 3737 * rgb[..., 2]) >> 15
    return gray.astype(np.uint8)


def load_image(path, image_size, color_mode, interpolation, crop_to_aspect_ratio=False):
    """One image file decoded to `color_mode` and resized as tf.image.resize does: float32,
    the file's uint8 for nearest."""
    if color_mode == "grayscale":
        image = _grayscale(path)
    else:
        image = np.asarray(load_img(path, color_mode=color_mode))
    if image.ndim == 2:
        image = image[:, :, None]
    if crop_to_aspect_ratio:
        return smart_resize(image, image_size, interpolation)
    return resize_images(image[None], image_size, interpolation)[0]


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False, **kwargs):
    """Batches `(images, labels)` from `directory/<class>/*` image files (bmp, gif, jpeg,
    jpg, png): images float32 `(batch, *image_size, channels)`, labels int32 ('int'),
    float32 one-hot ('categorical') or float32 (batch, 1) ('binary'). Returns a `Sequence` of
    batches with `class_names` and `file_paths` (a pair of them for `subset='both'`).

    Example:

        train = image_dataset_from_directory("photos", validation_split=0.2,
                                             subset="training", seed=1, image_size=(64, 64))
        model.fit(train, epochs=3)
    """
    if "smart_resize" in kwargs:
        crop_to_aspect_ratio = kwargs.pop("smart_resize")
    if kwargs:
        raise TypeError(f"Unknown keywords argument(s): {tuple(kwargs.keys())}")
    dataset_utils.check_label_arguments(labels, label_mode, class_names, "image files",
                                        "images")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if color_mode not in CHANNELS:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    interpolation = _check_interpolation(interpolation)

    def make_part(paths, part_labels, names, reshuffle, part_seed):
        return _ImageBatches(paths, part_labels, label_mode, len(names), names, image_size,
                             color_mode, interpolation, crop_to_aspect_ratio, batch_size,
                             reshuffle, part_seed)
    return dataset_utils.directory_datasets(
        directory, labels, label_mode, class_names, ALLOWLIST_FORMATS, shuffle, seed,
        validation_split, subset, follow_links, make_part, "images")


class _ImageBatches(dataset_utils.BatchDataset):
    """Images read and resized per batch (nothing is held in memory between batches)."""

    def __init__(self, paths, labels, label_mode, num_classes, class_names, image_size,
                 color_mode, interpolation, crop_to_aspect_ratio, batch_size, reshuffle, seed):
        self.class_names = class_names
        self.file_paths = list(paths)
        labels_by_file = None if label_mode is None else \
            dataset_utils.label_array(labels, label_mode, num_classes)

        def make_batch(indices, single):
            images = np.stack([load_image(self.file_paths[i], tuple(image_size), color_mode,
                                          interpolation, crop_to_aspect_ratio)
                               for i in indices])
            batch = images if labels_by_file is None else (images, labels_by_file[indices])
            if single:
                return batch[0] if labels_by_file is None else (images[0], batch[1][0])
            return batch
        super().__init__(len(paths), batch_size, make_batch,
                         reshuffle_seed=seed if reshuffle else None)
