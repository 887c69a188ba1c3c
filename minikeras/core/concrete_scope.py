"""Where only concrete values may flow: a compiled loss or metric function running on a batch.

tf.keras 2 runs those inside its traced train/test function, where a Keras symbolic tensor the
function captured (GDL_code's VAE loss reading the encoder's `mu` / `log_var` outputs) cannot
mix with the graph's tensors: it raises a TypeError. We run them eagerly, where the same mix
would silently build layers (or clash on the batch size), so the layer call says it instead."""
import contextlib
import threading

_STATE = threading.local()


@contextlib.contextmanager
def concrete_values_scope():
    depth = getattr(_STATE, "depth", 0)
    _STATE.depth = depth + 1
    try:
        yield
    finally:
        _STATE.depth = depth


def in_concrete_values_scope():
    return getattr(_STATE, "depth", 0) > 0


def symbolic_in_concrete_scope_error(symbolic):
    """tf.keras 2.21's words (keras_tensor.py, `KerasTensor.__array__`)."""
    return TypeError(
        f"You are passing {symbolic!r}, an intermediate TF-Keras symbolic input/output, to a "
        "TF API that does not allow registering custom dispatchers, such as `tf.cond`, "
        "`tf.function`, gradient tapes, or `tf.map_fn`. TF-Keras Functional model construction "
        "only supports TF API calls that *do* support dispatching, such as `tf.math.add` or "
        "`tf.reshape`. Other APIs cannot be called directly on symbolic Kerasinputs/outputs. "
        "You can work around this limitation by putting the operation in a custom TF-Keras "
        "layer `call` and calling that layer on this symbolic input/output.")
