"""`DataFrameIterator`: batches of augmented images listed in a table (Keras 2's
`flow_from_dataframe`).

The table is a pandas DataFrame or anything indexable by column name with equal-length
columns (a dict of lists works); only the named columns are read, once, into lists.
"""
import collections
import os
import warnings

import numpy as np

from ...core import config
from .iterators import BatchFromFiles

UNLABELLED_MODES = ("input", "multi_output", "raw", None)


def validate_filename(filename, white_list_formats):
    """Whether `filename` has an accepted image extension and is an existing file."""
    return filename.lower().endswith(white_list_formats) and os.path.isfile(filename)


def _is_numeric(values):
    """Whether a column holds numbers only (a pandas numeric dtype)."""
    try:
        return np.issubdtype(np.asarray(values).dtype, np.number)
    except ValueError:   # ragged: lists in the column
        return False


def _read_columns(dataframe, names):
    return {name: list(dataframe[name]) for name in names if name is not None}


class DataFrameIterator(BatchFromFiles):
    """Batches from the files named in `dataframe[x_col]` (relative to `directory`), labelled
    by `dataframe[y_col]` per `class_mode`, weighted by `dataframe[weight_col]`."""

    allowed_class_modes = {"binary", "categorical", "input", "multi_output", "raw", "sparse",
                           None}

    def __init__(self, dataframe, directory=None, image_data_generator=None, x_col="filename",
                 y_col="class", weight_col=None, target_size=(256, 256), color_mode="rgb",
                 classes=None, class_mode="categorical", batch_size=32, shuffle=True, seed=None,
                 data_format="channels_last", save_to_dir=None, save_prefix="",
                 save_format="png", subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, dtype="float32", validate_filenames=True):
        self._set_processing_attrs(image_data_generator, target_size, color_mode,
                                   data_format or config.image_data_format(), save_to_dir,
                                   save_prefix, save_format, subset, interpolation,
                                   keep_aspect_ratio)
        self.directory = directory or ""
        self.class_mode = class_mode
        self.dtype = dtype
        y_cols = y_col if isinstance(y_col, list) else [y_col]
        columns = _read_columns(dataframe, [x_col, weight_col] + (
            y_cols if class_mode is not None and class_mode != "input" else []))
        self._check_params(columns, dataframe, x_col, y_col, weight_col, classes)
        rows = list(range(len(columns[x_col])))
        if validate_filenames:
            rows = self._valid_rows(columns[x_col], rows, x_col)
        if class_mode not in UNLABELLED_MODES:
            rows, labels, classes = self._filter_classes(columns[y_col], rows, classes, y_col)
            self.class_indices = dict(zip(classes, range(len(classes))))
        if self.split:
            count = len(rows)
            rows = rows[int(self.split[0] * count):int(self.split[1] * count)]
        if class_mode not in UNLABELLED_MODES:
            self.classes = [self._class_index(labels[r]) for r in rows]
        self.filenames = [columns[x_col][r] for r in rows]
        if weight_col:
            self._sample_weight = np.asarray(columns[weight_col])[rows]
        if class_mode == "multi_output":
            self._targets = [np.array([columns[c][r] for r in rows]) for c in y_cols]
        if class_mode == "raw":
            table = np.array([[columns[c][r] for c in y_cols] for r in rows])
            self._targets = table if isinstance(y_col, list) else table.reshape(len(rows))
        self.samples = len(self.filenames)
        checked = "validated" if validate_filenames else "non-validated"
        if class_mode in UNLABELLED_MODES:
            print(f"Found {self.samples} {checked} image filenames.")
        else:
            print(f"Found {self.samples} {checked} image filenames belonging to "
                  f"{len(classes)} classes.")
        self._filepaths = [os.path.join(self.directory, name) for name in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _check_params(self, columns, dataframe, x_col, y_col, weight_col, classes):
        mode = self.class_mode
        if mode not in self.allowed_class_modes:
            raise ValueError(f"Invalid class_mode: {mode}; expected one of: "
                             f"{self.allowed_class_modes}")
        if mode == "multi_output" and not isinstance(y_col, list):
            raise TypeError(f'If class_mode="{mode}", y_col must be a list. Received '
                            f"{type(y_col).__name__}.")
        if not all(isinstance(v, str) for v in columns[x_col]):
            raise TypeError(f"All values in column x_col={x_col} must be strings.")
        if mode in {"binary", "sparse"} and not all(isinstance(v, str) for v in columns[y_col]):
            raise TypeError(f'If class_mode="{mode}", y_col="{y_col}" column values must be '
                            "strings.")
        if mode == "binary":
            if classes and len(set(classes)) != 2:
                raise ValueError('If class_mode="binary" there must be 2 classes. '
                                 f"{len(set(classes))} class/es were given.")
            if not classes and len(set(columns[y_col])) != 2:
                raise ValueError('If class_mode="binary" there must be 2 classes. Found '
                                 f"{len(set(columns[y_col]))} classes.")
        if mode == "categorical" and not all(isinstance(v, (str, list, tuple))
                                             for v in columns[y_col]):
            raise TypeError(f'If class_mode="{mode}", y_col="{y_col}" column values must be '
                            "type string, list or tuple.")
        if classes and mode in UNLABELLED_MODES:
            warnings.warn(f'`classes` will be ignored given the class_mode="{mode}"')
        if weight_col and not _is_numeric(columns[weight_col]):
            raise TypeError(f"Column weight_col={weight_col} must be numeric.")

    def _valid_rows(self, filenames, rows, x_col):
        kept = [r for r in rows if validate_filename(os.path.join(self.directory, filenames[r]),
                                                     self.white_list_formats)]
        if len(kept) != len(rows):
            warnings.warn(f'Found {len(rows) - len(kept)} invalid image filename(s) in '
                          f'x_col="{x_col}". These filename(s) will be ignored.')
        return kept

    @staticmethod
    def _filter_classes(column, rows, classes, y_col):
        """Rows whose label (or some label of a list) is among `classes` (default: every label
        seen, sorted); given `classes` keep their order."""
        if not classes:
            seen = set()
            for r in rows:
                value = column[r]
                if isinstance(value, (list, tuple)):
                    seen.update(value)
                else:
                    seen.add(value)
            return rows, column, sorted(seen)
        classes = list(collections.OrderedDict.fromkeys(classes))
        labels = list(column)
        for r in rows:
            value = column[r]
            if isinstance(value, (list, tuple)):
                labels[r] = [c for c in value if c in classes] or None
            elif isinstance(value, str):
                labels[r] = value if value in classes else None
            else:
                raise TypeError(f"Expect string, list or tuple but found {type(value)} in "
                                f"{y_col} column ")
        return [r for r in rows if labels[r] is not None], labels, classes

    def _class_index(self, label):
        if isinstance(label, (list, tuple)):
            return [self.class_indices[c] for c in label]
        return self.class_indices[label]
