"""Text formatting for ``Model.summary()``, matching tf.keras 2.x output.

This module only deals with strings: the model code collects one row per
layer and hands the rows to :func:`format_summary`, which produces exactly
the lines tf.keras 2.x (the ``tf_keras`` package) prints.

Layout rules reproduced here:

* Sequential-like models: ``line_length=65``, column ends at
  ``[0.45, 0.85, 1.0]`` of the line (header ``Layer (type)``, ``Output Shape``,
  ``Param #``).
* Functional models with non-linear connectivity: ``line_length=98``, column
  ends at ``[0.3, 0.6, 0.7, 1.0]`` and a fourth column ``Connected to``.
* Positions whose last entry is ``<= 1`` are fractions of the line length,
  truncated with ``int``.
* ``show_trainable=True`` widens the line by 11 characters and appends a
  ``Trainable`` column (``Y``/``N``) ending at the new line length.
* Every column except the last is followed by two blank characters and one
  more character is reserved to align the next column; text that does not
  fit is continued on the following physical line.  When the part that fits
  contains ``"),"``, ``"},"``, ``"],"`` or ``"',"`` the cell is broken right
  after the earliest such marker instead.
* Each layer row is followed by a blank separator line; nested layers (rows
  with ``nested_level > 0``) are framed with ``|`` and ``¯`` lines.
"""

import numbers

__all__ = [
    "format_summary",
    "format_shape",
    "readable_memory_size",
    "compute_positions",
]

_SEQUENTIAL_LINE_LENGTH = 65
_SEQUENTIAL_POSITIONS = (0.45, 0.85, 1.0)
_FUNCTIONAL_LINE_LENGTH = 98
_FUNCTIONAL_POSITIONS = (0.3, 0.6, 0.7, 1.0)
_TRAINABLE_EXTRA_WIDTH = 11
_FLOPS_EXTRA_WIDTH = 15   # minikeras' `show_flops` column

# Markers after which a too-long cell is preferably broken.
_BREAK_MARKERS = ("),", "},", "],", "',")

_MEMORY_UNITS = ("Byte", "KB", "MB", "GB", "TB", "PB")


# ---------------------------------------------------------------------------
# Small formatting helpers
# ---------------------------------------------------------------------------
def readable_memory_size(num_bytes):
    """Human readable size with two decimals, e.g. ``"14.02 KB"``.

    The value is divided by 1024 while it is at least 1024 (units Byte, KB,
    MB, GB, TB, PB); ``0`` gives ``"0.00 Byte"``, ``1024`` gives ``"1.00 KB"``.
    """
    size = float(num_bytes)
    last = len(_MEMORY_UNITS) - 1
    for index, unit in enumerate(_MEMORY_UNITS):
        if size / 1024 < 1 or index == last:
            return f"{size:.2f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _is_dim(value):
    return value is None or (
        isinstance(value, numbers.Integral) and not isinstance(value, bool)
    )


def _as_dim(value):
    return None if value is None else int(value)


def _shape_to_python(shape):
    """Turn shapes / nested structures of shapes into plain Python objects
    whose ``repr`` is what tf.keras prints (tuples of ``int``/``None``)."""
    if hasattr(shape, "as_list") and callable(shape.as_list):
        try:
            shape = shape.as_list()
        except ValueError:  # unknown rank
            return "?"
        if shape is None:
            return "?"
    if isinstance(shape, dict):
        return {key: _shape_to_python(value) for key, value in shape.items()}
    if isinstance(shape, (list, tuple)):
        if all(_is_dim(dim) for dim in shape):
            # A single shape (JSON turns tuples into lists).
            return tuple(_as_dim(dim) for dim in shape)
        converted = [_shape_to_python(item) for item in shape]
        return tuple(converted) if isinstance(shape, tuple) else converted
    if hasattr(shape, "shape") and not isinstance(shape, (str, bytes)):
        return _shape_to_python(tuple(shape.shape))
    return shape


def format_shape(shape):
    """Format an output shape the way tf.keras prints it.

    * ``(None, 64)`` / ``[None, 64]`` -> ``"(None, 64)"``
    * ``(None, 5)`` style 1-tuples -> ``"(None,)"``
    * a list of shapes ``[[None, 16, 16, 8]]`` -> ``"[(None, 16, 16, 8)]"``
    * strings (``"multiple"``, ``"?"``) are returned unchanged.
    """
    if shape is None:
        return "?"
    if isinstance(shape, str):
        return shape
    return str(_shape_to_python(shape))


def compute_positions(functional=False, line_length=None, positions=None,
                      show_trainable=False, show_flops=False):
    """Return ``(line_length, positions, headers)`` as tf.keras computes them.

    ``positions`` given as fractions (last entry ``<= 1``) are multiplied by
    the line length and truncated; absolute positions are used as given.
    """
    if functional:
        line_length = line_length or _FUNCTIONAL_LINE_LENGTH
        positions = list(positions or _FUNCTIONAL_POSITIONS)
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    else:
        line_length = line_length or _SEQUENTIAL_LINE_LENGTH
        positions = list(positions or _SEQUENTIAL_POSITIONS)
        headers = ["Layer (type)", "Output Shape", "Param #"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    else:
        positions = [int(p) for p in positions]
    if show_flops:
        line_length += _FLOPS_EXTRA_WIDTH
        positions.append(line_length)
        headers.append("FLOPs")
    if show_trainable:
        line_length += _TRAINABLE_EXTRA_WIDTH
        positions.append(line_length)
        headers.append("Trainable")
    return line_length, positions, headers


# ---------------------------------------------------------------------------
# Row layout
# ---------------------------------------------------------------------------
def _cell_width(col, positions, nested_level):
    """Number of characters of column ``col`` that fit on one line, and the
    number of blank characters that follow it."""
    last = col == len(positions) - 1
    start = positions[col - 1] if col > 0 else 0
    gap = 0 if last else 2
    width = positions[col] - start - gap
    if not last:
        width -= 1  # one character aligns the start of the next column
    if col == 0:
        width -= nested_level
    return width, gap


def _take_chunk(text, width):
    """Split ``text`` into (piece printed on this line, rest)."""
    # A non-positive width would never consume anything; always make progress.
    width = max(width, 1)
    piece = text[:width]
    breaks = [piece.find(m) + len(m) for m in _BREAK_MARKERS if m in piece]
    if breaks:
        width = min(breaks)
    return text[:width], text[width:]


def _layout_row(cells, positions, nested_level=0):
    """Render one logical row into one or more physical lines."""
    if len(cells) > len(positions):
        # tf.keras indexes `positions` by column: an IndexError
        raise IndexError("list index out of range")
    remaining = [str(cell) for cell in cells]
    lines = []
    last_col = len(positions) - 1
    while any(remaining):
        line = ""
        for col in range(len(remaining)):
            width, gap = _cell_width(col, positions, nested_level)
            piece, remaining[col] = _take_chunk(remaining[col], width)
            if col == 0:
                line += "|" * nested_level + " "
            line += piece + " " * gap
            target = positions[col]
            if nested_level and col == last_col:
                target -= nested_level
            line += " " * (target - len(line))
        lines.append(line + "|" * nested_level)
    return lines


def readable_flops(count):
    """``1234567`` -> ``"1.23 MFLOPs"`` (powers of 1000)."""
    value = float(count)
    for unit in ("", "K", "M", "G", "T"):
        if value < 1000 or unit == "T":
            return f"{value:.2f} {unit}FLOPs"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def _flops_total_line(total, uncounted):
    line = f"Total FLOPs: {total} per sample ({readable_flops(total)})"
    if uncounted:
        line += f", {uncounted} layer{'s' if uncounted > 1 else ''} not counted (?)"
    return line


def _separator(char, line_length, bars):
    """A full-width line of ``char`` framed by ``bars`` ``|`` on each side."""
    return "|" * bars + char * (line_length - 2 * bars) + "|" * bars


# ---------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------
def _row_cells(row, functional, show_trainable, show_flops=False):
    name = f"{row['name']} ({row.get('class_name', row.get('class'))})"
    shape = row.get("output_shape", "multiple")
    if not isinstance(shape, str):
        shape = format_shape(shape)
    cells = [name, shape, row.get("params", 0)]
    if functional:
        connected = row.get("connected_to", [])
        if connected is None:
            connected = []
        if not isinstance(connected, str):
            connected = str([str(c) for c in connected])
        cells.append(connected)
    if show_flops:
        flops = row.get("flops")
        cells.append("?" if flops is None else flops)
    if show_trainable:
        trainable = row.get("trainable", True)
        if trainable is None:
            cells.append("")
        else:
            cells.append("Y" if trainable else "N")
    return cells


def format_summary(model_name, rows, total_params, trainable_params,
                   non_trainable_params, functional=False, line_length=None,
                   positions=None, show_trainable=False, print_fn=None,
                   bytes_per_param=4, trainable_bytes=None,
                   non_trainable_bytes=None, flops=None):
    """Produce the ``model.summary()`` text of tf.keras 2.x.

    Args:
        model_name: name printed in the ``Model: "<name>"`` title.
        rows: one dict per layer, in display order::

                {"name": "dense", "class_name": "Dense",
                 "output_shape": "(None, 64)",   # or a shape / list of shapes
                 "params": 1344,                  # int, or a str like "0 (unused)"
                 "connected_to": ["input_1[0][0]"],  # functional only
                 "trainable": True,               # used by show_trainable
                 "nested_level": 0}               # >0 for expand_nested rows

            Rows of an expanded nested model follow their parent row with
            ``nested_level`` one higher.  A missing ``trainable`` counts as
            ``True``; ``None`` leaves the Trainable cell empty.
        total_params, trainable_params, non_trainable_params: the counts
            printed on the totals lines (``total_params=None`` means
            ``trainable_params + non_trainable_params``).
        functional: use the functional layout with a ``Connected to`` column.
        line_length, positions: as in tf.keras (fractions if the last
            position is ``<= 1``).
        show_trainable: add the ``Trainable`` column.
        print_fn: called once per line (default ``print``).
        bytes_per_param: bytes per parameter for the memory sizes (float32: 4).
        trainable_bytes, non_trainable_bytes: explicit memory sizes in bytes,
            overriding ``params * bytes_per_param`` (for mixed dtypes).
        flops: ``(total FLOPs, number of layers without a count)`` to add
            minikeras' FLOPs column (each row's ``"flops"``, ``None`` printed
            as ``?``) and total line; ``None`` (default) prints tf.keras' table.

    Returns:
        The list of printed lines.
    """
    if print_fn is None:
        print_fn = print
    line_length, positions, headers = compute_positions(
        functional, line_length, positions, show_trainable, flops is not None
    )

    lines = []
    emit = lines.append

    emit(f'Model: "{model_name}"')
    emit("_" * line_length)
    lines.extend(_layout_row(headers, positions))
    emit("=" * line_length)

    rows = list(rows)
    levels = [int(row.get("nested_level", 0) or 0) for row in rows]
    for index, row in enumerate(rows):
        level = levels[index]
        next_level = levels[index + 1] if index + 1 < len(rows) else 0
        lines.extend(
            _layout_row(_row_cells(row, functional, show_trainable, flops is not None),
                        positions, level)
        )
        if index + 1 < len(rows) and next_level > level:
            if next_level != level + 1:
                raise ValueError(
                    f"row {index + 1} jumps from nesting level {level} "
                    f"to {next_level}"
                )
            # Opening frame of the expanded nested model.
            emit(_separator("¯", line_length, level + 1))
            continue
        # A plain (non-expanded) layer: blank separator unless it is the
        # last layer of the nested model it belongs to.
        if not (level > 0 and next_level < level):
            emit(_separator(" ", line_length, level))
        # Close every nested model that ends here.  tf.keras prints no blank
        # separator after the closing line of an expanded model.
        for closed in range(level, next_level, -1):
            emit(_separator("¯", line_length, closed - 1))

    emit("=" * line_length)

    if trainable_bytes is None:
        trainable_bytes = trainable_params * bytes_per_param
    if non_trainable_bytes is None:
        non_trainable_bytes = non_trainable_params * bytes_per_param
    if total_params is None:
        total_params = trainable_params + non_trainable_params
    total_bytes = trainable_bytes + non_trainable_bytes

    emit(f"Total params: {total_params} ({readable_memory_size(total_bytes)})")
    emit(f"Trainable params: {trainable_params} "
         f"({readable_memory_size(trainable_bytes)})")
    emit(f"Non-trainable params: {non_trainable_params} "
         f"({readable_memory_size(non_trainable_bytes)})")
    if flops is not None:
        emit(_flops_total_line(*flops))
    emit("_" * line_length)

    for line in lines:
        print_fn(line)
    return lines
