"""Helpers shared by Cropping, ZeroPadding and UpSampling: per-axis pairs and axis positions."""
from .. import conv_utils


_LARGEST_SIZE = 2 ** 48      # as engine/argument_checks.MAX_ELEMENTS


def normalize_pairs(value, rank, name):
    """An int, a tuple of `rank` ints or `rank` (before, after) pairs -> tuple of pairs."""
    if isinstance(value, bool) or not isinstance(value, (int, tuple, list)):
        raise TypeError(f"`{name}` must be an int, a tuple of {rank} ints or a tuple of {rank} "
                        f"tuples of 2 ints. Received: {name}={value!r}")
    if isinstance(value, int):
        if value < 0 or value > _LARGEST_SIZE:
            raise ValueError(f"`{name}` must be non-negative and at most {_LARGEST_SIZE}. "
                             f"Received: {name}={value}.")
        return ((value, value),) * rank
    value = tuple(value)
    if rank == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
        value = (tuple(value),)
    if len(value) != rank:
        raise ValueError(f"`{name}` should have {rank} elements. Received: {name}={value}.")
    pairs = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, tuple, list)):
            raise TypeError(f"`{name}` entries must be ints or pairs of ints. Received: "
                            f"{name}={value!r}")
        if isinstance(item, int):
            pairs.append((item, item))
        else:
            pairs.append(conv_utils.normalize_tuple(item, 2, f"{name}[i]", allow_zero=True))
    for pair in pairs:
        if min(pair) < 0:
            raise ValueError(f"`{name}` must be non-negative. Received: {name}={value}.")
    return tuple(pairs)


def spatial_axes(rank, data_format):
    start = 2 if data_format == "channels_first" else 1
    return tuple(range(start, start + rank))
