"""Keras 3's `data_format="channels_first"` for the image preprocessing layers.

tf.keras 2's image preprocessing layers work on channels-last images only; Keras 3's take a
`data_format`, and its `.keras` files record it. A layer decorated here accepts that argument
and, for channels-first images (`(batch, channels, height, width)` or unbatched
`(channels, height, width)`), moves the channel axis last, runs its channels-last `call`, and
moves it back. Its config names `data_format` only when it is "channels_first", so tf.keras
configs stay as they were.
"""
import functools

from ... import ops

_FORMATS = (None, "channels_last", "channels_first")


def _to_last(rank):
    return (0, 2, 3, 1) if rank == 4 else (1, 2, 0)


def _to_first(rank):
    return (0, 3, 1, 2) if rank == 4 else (2, 0, 1)


def _move_shape(shape, perm):
    shape = tuple(shape)
    return tuple(shape[axis] for axis in perm) if len(shape) in (3, 4) else shape


def _move(tensor, perm_of_rank):
    rank = len(tensor.shape)
    return ops.transpose(tensor, perm_of_rank(rank)) if rank in (3, 4) else tensor


def keras3_data_format(cls):
    """Give the image layer `cls` Keras 3's `data_format` argument (see the module docstring)."""
    init, call = cls.__init__, cls.call
    output_shape, get_config = cls.compute_output_shape, cls.get_config

    @functools.wraps(init)
    def __init__(self, *args, data_format=None, **kwargs):
        if data_format not in _FORMATS:
            raise ValueError("The `data_format` argument must be one of \"channels_first\", "
                             f"\"channels_last\". Received: data_format={data_format!r}")
        init(self, *args, **kwargs)
        self._channels_first = data_format == "channels_first"

    @functools.wraps(call)
    def call_any_format(self, inputs, *args, **kwargs):
        if not getattr(self, "_channels_first", False):
            return call(self, inputs, *args, **kwargs)
        return _move(call(self, _move(inputs, _to_last), *args, **kwargs), _to_first)

    @functools.wraps(output_shape)
    def compute_output_shape(self, input_shape):
        if not getattr(self, "_channels_first", False):
            return output_shape(self, input_shape)
        rank = len(tuple(input_shape))
        moved = output_shape(self, _move_shape(input_shape, _to_last(rank)))
        return _move_shape(moved, _to_first(rank))

    @functools.wraps(get_config)
    def config_with_format(self):
        config = get_config(self)
        if getattr(self, "_channels_first", False):
            config["data_format"] = "channels_first"
        return config

    cls.__init__, cls.call = __init__, call_any_format
    cls.compute_output_shape, cls.get_config = compute_output_shape, config_with_format
    return cls
