"""Helpers shared by Cropping, ZeroPadding and UpSampling: per-axis pairs and axis positions."""
from .. import conv_utils


_LARGEST_SIZE = 2 ** 48      # as engine/argument_checks.MAX_ELEMENTS


_ORDINALS = ("1st", "2nd", "3rd")

# tf.keras' refusal of a value that is neither an int nor a sequence, per (name, rank)
_EITHER_FORMS = {
    ("cropping", 2): "a tuple of 2 ints (symmetric_height_crop, symmetric_width_crop), or a "
                     "tuple of 2 tuples of 2 ints ((top_crop, bottom_crop), (left_crop, "
                     "right_crop))",
    ("cropping", 3): "a tuple of 3 ints (symmetric_dim1_crop, symmetric_dim2_crop, "
                     "symmetric_dim3_crop), or a tuple of 3 tuples of 2 ints ((left_dim1_crop, "
                     "right_dim1_crop), (left_dim2_crop, right_dim2_crop), (left_dim3_crop, "
                     "right_dim2_crop))",
    ("padding", 2): "a tuple of 2 ints (symmetric_height_pad, symmetric_width_pad), or a tuple "
                    "of 2 tuples of 2 ints ((top_pad, bottom_pad), (left_pad, right_pad))",
    ("padding", 3): "a tuple of 3 ints (symmetric_dim1_pad, symmetric_dim2_pad, "
                    "symmetric_dim3_pad), or a tuple of 3 tuples of 2 ints ((left_dim1_pad, "
                    "right_dim1_pad), (left_dim2_pad, right_dim2_pad), (left_dim3_pad, "
                    "right_dim2_pad))",
}


def normalize_pairs(value, rank, name):
    """An int, a tuple of `rank` ints or `rank` (before, after) pairs -> tuple of pairs, refused
    in tf.keras' words (its Cropping / ZeroPadding constructors)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0 or value > _LARGEST_SIZE:
            raise ValueError(f"`{name}` must be non-negative and at most {_LARGEST_SIZE}. "
                             f"Received: {name}={value}.")
        return ((value, value),) * rank
    if rank == 1:   # one (before, after) pair
        return (conv_utils.normalize_tuple(value, 2, name, allow_zero=True),)
    if not hasattr(value, "__len__"):
        raise ValueError(f"`{name}` should be either an int, {_EITHER_FORMS[name, rank]}. "
                         f"Received: {value}.")
    if len(value) != rank:
        count = "two" if rank == 2 else rank
        raise ValueError(f"`{name}` should have {count} elements. Received: {value}.")
    return tuple(conv_utils.normalize_tuple(item, 2, f"{_ORDINALS[axis]} entry of {name}",
                                            allow_zero=True)
                 for axis, item in enumerate(value))


def spatial_axes(rank, data_format):
    start = 2 if data_format == "channels_first" else 1
    return tuple(range(start, start + rank))
