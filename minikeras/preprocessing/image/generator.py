"""Keras 2's `ImageDataGenerator`: random augmentation and normalization of image batches.

Random parameters come from NumPy's global random state (`np.random`) in tf.keras' order and
number of draws, so a seeded run reproduces tf.keras' augmented batches.
"""
import operator
import warnings

import numpy as np

from ...core import config
from . import affine_sampling, transforms
from .dataframe_iterator import DataFrameIterator
from .iterators import DirectoryIterator, NumpyArrayIterator

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def _zoom_bounds(zoom_range):
    """A number z means [1 - z, 1 + z]; a pair is taken as it is."""
    if isinstance(zoom_range, (float, int)):
        return [1 - zoom_range, 1 + zoom_range]
    if (hasattr(zoom_range, "__len__") and len(zoom_range) == 2
            and all(isinstance(v, (float, int)) for v in zoom_range)):
        return [zoom_range[0], zoom_range[1]]
    raise ValueError("`zoom_range` should be a float or a tuple or list of two floats. "
                     f"Received: {zoom_range}")


def _is_discrete_range(shift_range):
    """An int (or a 1-D list of values) is a set of pixel shifts to choose from; a float is
    the half-width of a uniform interval (Keras tells them apart with `np.random.choice`)."""
    if np.ndim(shift_range) == 1:
        return True
    try:
        operator.index(np.asarray(shift_range).item())
    except TypeError:
        return False
    return True


def _draw_shift(shift_range, size):
    """One shift in pixels; values below 1 are fractions of `size`."""
    if _is_discrete_range(shift_range):
        shift = np.random.choice(shift_range)
        shift *= np.random.choice([-1, 1])
    else:
        shift = np.random.uniform(-shift_range, shift_range)
    if np.max(shift_range) < 1:
        shift *= size
    return shift


class ImageDataGenerator:
    """Generates batches of image data with real-time augmentation (Keras 2).

    Example:
    >>> x = np.random.default_rng(0).uniform(0, 255, (8, 6, 6, 3)).astype("float32")
    >>> datagen = ImageDataGenerator(rotation_range=20, width_shift_range=0.2,
    ...                              horizontal_flip=True, featurewise_center=True)
    >>> datagen.fit(x)
    >>> batch_x, batch_y = next(datagen.flow(x, np.arange(8), batch_size=4, seed=1))
    >>> batch_x.shape, batch_x.dtype
    ((4, 6, 6, 3), dtype('float32'))

    `model.fit(datagen.flow(x, y, batch_size=32), epochs=5)` trains on augmented batches.
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False, samplewise_std_normalization=False,
                 zca_whitening=False, zca_epsilon=1e-6, rotation_range=0,
                 width_shift_range=0.0, height_shift_range=0.0, brightness_range=None,
                 shear_range=0.0, zoom_range=0.0, channel_shift_range=0.0,
                 fill_mode="nearest", cval=0.0, horizontal_flip=False, vertical_flip=False,
                 rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype=None):
        data_format = data_format or config.image_data_format()
        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = rotation_range
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.shear_range = shear_range
        self.channel_shift_range = channel_shift_range
        self.fill_mode = self._checked_fill_mode(fill_mode)
        self.cval = cval
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.dtype = dtype or config.floatx()
        self.interpolation_order = self._checked_order(interpolation_order)
        self._set_data_format(data_format)
        if validation_split and not 0 < validation_split < 1:
            raise ValueError("`validation_split` must be strictly between 0 and 1.  Received: "
                             f"{validation_split}")
        self._validation_split = validation_split
        self.mean = None
        self.std = None
        self.zca_whitening_matrix = None
        self.zoom_range = _zoom_bounds(zoom_range)
        self._resolve_normalization_flags()
        if brightness_range is not None and (
                not isinstance(brightness_range, (tuple, list)) or len(brightness_range) != 2):
            raise ValueError("`brightness_range should be tuple or list of two floats. "
                             f"Received: {brightness_range}")
        self.brightness_range = brightness_range

    @staticmethod
    def _checked_fill_mode(fill_mode):
        # Keras passes the mode to SciPy unchecked (which fails at the first transform).
        if fill_mode not in FILL_MODES:
            raise ValueError(f"`fill_mode` should be one of {FILL_MODES}. Received: "
                             f"{fill_mode}")
        return fill_mode

    @staticmethod
    def _checked_order(order):
        if not isinstance(order, (int, np.integer)) or not 0 <= order <= 5:
            raise ValueError("`interpolation_order` should be an integer spline order in 0..5. "
                             f"Received: {order}")
        return int(order)

    def _set_data_format(self, data_format):
        if data_format not in {"channels_last", "channels_first"}:
            raise ValueError('`data_format` should be `"channels_last"` (channel after row and '
                             'column) or `"channels_first"` (channel before row and column). '
                             f"Received: {data_format}")
        self.data_format = data_format
        if data_format == "channels_first":
            self.channel_axis, self.row_axis, self.col_axis = 1, 2, 3
        else:
            self.channel_axis, self.row_axis, self.col_axis = 3, 1, 2

    def _resolve_normalization_flags(self):
        """ZCA implies featurewise centring and replaces featurewise std normalization; each
        std normalization implies its centring (with Keras' warnings)."""
        def override(flag, because):
            warnings.warn(f"This ImageDataGenerator specifies `{because}`, which overrides "
                          f"setting of `{flag}`.")
        if self.zca_whitening:
            if not self.featurewise_center:
                self.featurewise_center = True
                override("featurewise_center", "zca_whitening")
            if self.featurewise_std_normalization:
                self.featurewise_std_normalization = False
                override("featurewise_std_normalization", "zca_whitening")
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            override("featurewise_center", "featurewise_std_normalization")
        if self.samplewise_std_normalization and not self.samplewise_center:
            self.samplewise_center = True
            override("samplewise_center", "samplewise_std_normalization")

    # --- iterators ------------------------------------------------------------------------
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None, seed=None,
             save_to_dir=None, save_prefix="", save_format="png", ignore_class_split=False,
             subset=None):
        """A `NumpyArrayIterator` of augmented, standardized batches of `x` (and `y`,
        `sample_weight`)."""
        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle, sample_weight=sample_weight,
            seed=seed, data_format=self.data_format, save_to_dir=save_to_dir,
            save_prefix=save_prefix, save_format=save_format,
            ignore_class_split=ignore_class_split, subset=subset, dtype=self.dtype)

    def flow_from_directory(self, directory, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32, shuffle=True,
                            seed=None, save_to_dir=None, save_prefix="", save_format="png",
                            follow_links=False, subset=None, interpolation="nearest",
                            keep_aspect_ratio=False):
        """A `DirectoryIterator` over `directory/<class>/*` image files."""
        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode,
            keep_aspect_ratio=keep_aspect_ratio, classes=classes, class_mode=class_mode,
            data_format=self.data_format, batch_size=batch_size, shuffle=shuffle, seed=seed,
            save_to_dir=save_to_dir, save_prefix=save_prefix, save_format=save_format,
            follow_links=follow_links, subset=subset, interpolation=interpolation,
            dtype=self.dtype)

    def flow_from_dataframe(self, dataframe, directory=None, x_col="filename", y_col="class",
                            weight_col=None, target_size=(256, 256), color_mode="rgb",
                            classes=None, class_mode="categorical", batch_size=32, shuffle=True,
                            seed=None, save_to_dir=None, save_prefix="", save_format="png",
                            subset=None, interpolation="nearest", validate_filenames=True,
                            **kwargs):
        """A `DataFrameIterator` over the files named in `dataframe[x_col]` (a pandas
        DataFrame or a dict of equal-length columns)."""
        self._warn_legacy_dataframe_kwargs(kwargs)
        if class_mode == "other":
            warnings.warn('`class_mode` "other" is deprecated, please use `class_mode` "raw".',
                          DeprecationWarning)
            class_mode = "raw"
        return DataFrameIterator(
            dataframe, directory, self, x_col=x_col, y_col=y_col, weight_col=weight_col,
            target_size=target_size, color_mode=color_mode, classes=classes,
            class_mode=class_mode, data_format=self.data_format, batch_size=batch_size,
            shuffle=shuffle, seed=seed, save_to_dir=save_to_dir, save_prefix=save_prefix,
            save_format=save_format, subset=subset, interpolation=interpolation,
            validate_filenames=validate_filenames, dtype=self.dtype)

    @staticmethod
    def _warn_legacy_dataframe_kwargs(kwargs):
        messages = {
            "has_ext": "has_ext is deprecated, filenames in the dataframe have to match the "
                       "exact filenames in disk.",
            "sort": "sort is deprecated, batches will be created in thesame order than the "
                    "filenames provided if shuffleis set to False.",
            "drop_duplicates": "drop_duplicates is deprecated, you can drop duplicates by using "
                               "the pandas.DataFrame.drop_duplicates method.",
        }
        unknown = set(kwargs) - set(messages)
        if unknown:
            raise TypeError(f"Unrecognized keyword arguments: {sorted(unknown)}")
        for name in kwargs:
            warnings.warn(messages[name], DeprecationWarning)

    # --- normalization --------------------------------------------------------------------
    def standardize(self, x):
        """Applies preprocessing_function, rescale, samplewise then featurewise normalization
        and ZCA, in Keras' order; float arrays are changed in place (ZCA returns a new one)."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self._fitted("mean", "featurewise_center"):
                x -= self.mean
        if self.featurewise_std_normalization:
            if self._fitted("std", "featurewise_std_normalization"):
                x /= self.std + 1e-6
        if self.zca_whitening:
            if self._fitted("zca_whitening_matrix", "zca_whitening"):
                flat = x.reshape(-1, np.prod(x.shape[-3:]))
                x = np.reshape(flat @ self.zca_whitening_matrix, x.shape)
        return x

    def _fitted(self, attribute, flag):
        if getattr(self, attribute) is not None:
            return True
        warnings.warn(f"This ImageDataGenerator specifies `{flag}`, but it hasn't been fit on "
                      "any training data. Fit it first by calling `.fit(numpy_data)`.")
        return False

    def fit(self, x, augment=False, rounds=1, seed=None):
        """Computes the featurewise mean, std and ZCA matrix from sample images `x` (rank 4),
        after rescaling and, with `augment`, `rounds` random transforms of every image."""
        x = np.asarray(x, dtype=self.dtype)
        if x.ndim != 4:
            raise ValueError(f"Input to `.fit()` should have rank 4. Got array with shape: "
                             f"{x.shape}")
        channels = x.shape[self.channel_axis]
        if channels not in {1, 3, 4}:
            warnings.warn(
                "Expected input to be images (as Numpy array) following the data format "
                f'convention "{self.data_format}" (channels on axis {self.channel_axis}), i.e. '
                f"expected either 1, 3 or 4 channels on axis {self.channel_axis}. However, it "
                f"was passed an array with shape {x.shape} ({channels} channels).")
        if seed is not None:
            np.random.seed(seed)
        x = np.copy(x)
        if self.rescale:
            x *= self.rescale
        if augment:
            x = self._augmented_rounds(x, rounds)
        per_channel = [1, 1, 1]
        per_channel[self.channel_axis - 1] = channels
        spatial_axes = (0, self.row_axis, self.col_axis)
        if self.featurewise_center:
            self.mean = np.reshape(np.mean(x, axis=spatial_axes), per_channel)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.reshape(np.std(x, axis=spatial_axes), per_channel)
            x /= self.std + 1e-6
        if self.zca_whitening:
            self.zca_whitening_matrix = self._zca_matrix(x)

    def _augmented_rounds(self, x, rounds):
        out = np.zeros((rounds * x.shape[0],) + x.shape[1:], dtype=self.dtype)
        for r in range(rounds):
            for i in range(x.shape[0]):
                out[i + r * x.shape[0]] = self.random_transform(x[i])
        return out

    def _zca_matrix(self, x):
        """U diag(sqrt(n) / (s + epsilon)) U^T from the SVD of the flattened samples."""
        n = len(x)
        u, s, _ = np.linalg.svd(np.reshape(x, (n, -1)).T, full_matrices=False)
        return (u * (np.sqrt(n) / (s + self.zca_epsilon))).dot(u.T)

    # --- random transforms ----------------------------------------------------------------
    def get_random_transform(self, img_shape, seed=None):
        """Random transform parameters for an image of `img_shape` (a dict as
        `apply_transform` takes it). Draws, in order: rotation, height shift, width shift,
        shear, two zooms, two flips (always), channel shift, brightness."""
        if seed is not None:
            np.random.seed(seed)
        theta = 0
        if self.rotation_range:
            theta = np.random.uniform(-self.rotation_range, self.rotation_range)
        tx = ty = 0
        if self.height_shift_range:
            tx = _draw_shift(self.height_shift_range, img_shape[self.row_axis - 1])
        if self.width_shift_range:
            ty = _draw_shift(self.width_shift_range, img_shape[self.col_axis - 1])
        shear = 0
        if self.shear_range:
            shear = np.random.uniform(-self.shear_range, self.shear_range)
        zx = zy = 1
        if not (self.zoom_range[0] == 1 and self.zoom_range[1] == 1):
            zx, zy = np.random.uniform(self.zoom_range[0], self.zoom_range[1], 2)
        flip_horizontal = (np.random.random() < 0.5) * self.horizontal_flip
        flip_vertical = (np.random.random() < 0.5) * self.vertical_flip
        channel_shift_intensity = None
        if self.channel_shift_range != 0:
            channel_shift_intensity = np.random.uniform(-self.channel_shift_range,
                                                        self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = np.random.uniform(self.brightness_range[0], self.brightness_range[1])
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                "flip_horizontal": flip_horizontal, "flip_vertical": flip_vertical,
                "channel_shift_intensity": channel_shift_intensity, "brightness": brightness}

    def apply_transform(self, x, transform_parameters):
        """Applies `transform_parameters` (keys as `get_random_transform` returns; missing keys
        mean no change) to one image: affine warp, channel shift, flips, brightness."""
        params = transform_parameters
        row_axis, col_axis = self.row_axis - 1, self.col_axis - 1
        channel_axis = self.channel_axis - 1
        x = transforms.apply_affine_transform(
            x, params.get("theta", 0), params.get("tx", 0), params.get("ty", 0),
            params.get("shear", 0), params.get("zx", 1), params.get("zy", 1),
            row_axis=row_axis, col_axis=col_axis, channel_axis=channel_axis,
            fill_mode=self.fill_mode, cval=self.cval, order=self.interpolation_order)
        return self._apply_after_warp(x, params)

    def _apply_after_warp(self, x, params):
        """The rest of `apply_transform` after the affine warp: channel shift, flips,
        brightness."""
        row_axis, col_axis = self.row_axis - 1, self.col_axis - 1
        channel_axis = self.channel_axis - 1
        if params.get("channel_shift_intensity") is not None:
            x = transforms.apply_channel_shift(x, params["channel_shift_intensity"],
                                               channel_axis)
        if params.get("flip_horizontal", False):
            x = transforms.flip_axis(x, col_axis)
        if params.get("flip_vertical", False):
            x = transforms.flip_axis(x, row_axis)
        if params.get("brightness") is not None:
            x = self._brightness(x, params["brightness"], channel_axis)
        return x

    def _can_augment_batch(self, images):
        """Whether `_augment_batch` gives what `random_transform` + `standardize` image by
        image give: the warp at a spline order the NumPy sampler has, on float32 / float64
        images, and no user code (a preprocessing function, overridden methods) that could
        draw from `np.random` between two images' draws."""
        own = ImageDataGenerator
        cls = type(self)
        return (self.interpolation_order in affine_sampling.SUPPORTED_ORDERS
                and images.dtype in (np.float32, np.float64) and images.ndim == 4
                and self.preprocessing_function is None
                and cls.get_random_transform is own.get_random_transform
                and cls.apply_transform is own.apply_transform
                and cls.standardize is own.standardize)

    def _augment_batch(self, images):
        """`standardize(apply_transform(image, get_random_transform(image.shape)))` for each
        of `images` (a fresh float array, (batch, ...) in this generator's data format), with
        the affine warps of the whole batch done by one NumPy sampler (the same pixels as
        SciPy's per-channel `affine_transform`, to float32 round-off) instead of one SciPy
        call per channel per image. The random draws are the same, in the same order."""
        draws = self._batch_draws(images)
        if draws is None:
            params = [self.get_random_transform(image.shape) for image in images]
            warped = self._warp_batch(images, params)
            for i, image in enumerate(warped):
                images[i] = self.standardize(self._apply_after_warp(image, params[i]))
            return images
        if draws.keys() <= {"tx", "ty", "flip_horizontal", "flip_vertical"}:
            images = self._shift_batch(images, draws.get("tx"), draws.get("ty"))
        else:
            params = [{name: values[i] for name, values in draws.items()}
                      for i in range(len(images))]
            images = self._warp_batch(images, params)
        for name, axis in (("flip_horizontal", self.col_axis), ("flip_vertical", self.row_axis)):
            flipped = np.flatnonzero(draws[name])
            if flipped.size:
                images[flipped] = np.flip(images[flipped], axis)
        for i, image in enumerate(images):
            images[i] = self.standardize(image)
        return images

    def _batch_draws(self, images):
        """`get_random_transform`'s parameters for every image of `images` from one draw of
        doubles, `{name: values}` (the shifts, rotation, shear, zooms drawn and the two flips,
        as 0/1), when each of its draws is one double (`uniform` is `low + (high - low) * u`
        on the u that `random()` gives: the same numbers in the same order). None when a
        draw is not (an integer shift range's `np.random.choice`) or when a channel shift
        or brightness is drawn (left to `_apply_after_warp` image by image)."""
        if self.channel_shift_range != 0 or self.brightness_range is not None:
            return None
        ranges = []                       # (name, low, high, pixels) in draw order
        if self.rotation_range:
            ranges.append(("theta", -self.rotation_range, self.rotation_range, 1))
        for name, shift_range, axis in (("tx", self.height_shift_range, self.row_axis),
                                        ("ty", self.width_shift_range, self.col_axis)):
            if not shift_range:
                continue
            if _is_discrete_range(shift_range):
                return None
            size = images.shape[axis] if np.max(shift_range) < 1 else 1
            ranges.append((name, -shift_range, shift_range, size))
        if self.shear_range:
            ranges.append(("shear", -self.shear_range, self.shear_range, 1))
        if not (self.zoom_range[0] == 1 and self.zoom_range[1] == 1):
            ranges += [(name, self.zoom_range[0], self.zoom_range[1], 1) for name in ("zx", "zy")]
        names = [r[0] for r in ranges] + ["flip_horizontal", "flip_vertical"]
        u = np.random.random((len(images), len(names)))
        draws = {}
        for column, (name, low, high, size) in enumerate(ranges):
            low, high = float(low), float(high)
            draws[name] = (low + (high - low) * u[:, column]) * size
        draws["flip_horizontal"] = (u[:, -2] < 0.5) * bool(self.horizontal_flip)
        draws["flip_vertical"] = (u[:, -1] < 0.5) * bool(self.vertical_flip)
        return draws

    def _shift_batch(self, images, tx, ty):
        """`images` shifted by the drawn `tx` and `ty` (arrays, None when not drawn), as
        `_warp_batch` with shift-only matrices: `sampling_matrix`'s offset is then `(t + o)
        - o` (its products about the centre o are exact), and, as there, tx (drawn from the
        height shift range, centred on the rows) moves columns and ty rows."""
        count = len(images)
        rows, cols = images.shape[self.row_axis], images.shape[self.col_axis]
        offsets = np.zeros((count, 2))
        moved = np.zeros(count, bool)
        for column, shift, size in ((1, tx, rows), (0, ty, cols)):
            if shift is not None:
                centre = float(size) / 2 - 0.5
                offsets[:, column] = -centre + (shift + centre)
                moved |= shift != 0
        moved = np.flatnonzero(moved)
        if not moved.size:
            return images
        subset = images[moved]
        channels_first = self.channel_axis == 1
        if channels_first:
            subset = np.ascontiguousarray(np.moveaxis(subset, 1, -1))
        identity = np.broadcast_to(np.eye(2), (moved.size, 2, 2))
        warped = affine_sampling.affine_sample(
            subset, identity, offsets[moved], order=self.interpolation_order,
            fill_mode=self.fill_mode, cval=self.cval)
        images[moved] = np.moveaxis(warped, -1, 1) if channels_first else warped
        return images

    def _warp_batch(self, images, params):
        channels_first = self.channel_axis == 1
        rows, cols = images.shape[self.row_axis], images.shape[self.col_axis]
        matrices = [transforms.sampling_matrix(p.get("theta", 0), p.get("tx", 0), p.get("ty", 0),
                                               p.get("shear", 0), p.get("zx", 1), p.get("zy", 1),
                                               rows, cols)
                    for p in params]
        moved = [i for i, matrix in enumerate(matrices) if matrix is not None]
        if not moved:
            return images
        subset = images[moved]
        if channels_first:
            subset = np.ascontiguousarray(np.moveaxis(subset, 1, -1))
        stacked = np.stack([matrices[i] for i in moved])
        warped = affine_sampling.affine_sample(
            subset, stacked[:, :2, :2], stacked[:, :2, 2], order=self.interpolation_order,
            fill_mode=self.fill_mode, cval=self.cval)
        images[moved] = np.moveaxis(warped, -1, 1) if channels_first else warped
        return images

    @staticmethod
    def _brightness(x, factor, channel_axis):
        # Pillow sees channels last; tf.keras misreads channels-first images here.
        if channel_axis == 0:
            return np.moveaxis(transforms.apply_brightness_shift(
                np.moveaxis(x, 0, -1), factor, False), -1, 0)
        return transforms.apply_brightness_shift(x, factor, False)

    def random_transform(self, x, seed=None):
        """`x` with freshly drawn random transform parameters applied."""
        return self.apply_transform(x, self.get_random_transform(x.shape, seed))
