"""Where only concrete values may flow: a compiled loss or metric function running on a batch.

tf.keras 2 runs those inside its traced train/test function, where a Keras symbolic tensor the
function captured (GDL_code's VAE loss reading the encoder's `mu` / `log_var` outputs) cannot
mix with the graph's tensors: it raises a TypeError. We run them eagerly, where the same mix
would silently build layers (or clash on the batch size), so the layer call says it instead."""
import contextlib
import itertools
import threading

_STATE = threading.local()
_SERIALS = itertools.count()    # KerasTensors number themselves in creation order


def next_symbolic_serial():
    return next(_SERIALS)


@contextlib.contextmanager
def concrete_values_scope():
    depth = getattr(_STATE, "depth", 0)
    if depth == 0:
        _STATE.start = next(_SERIALS)
    _STATE.depth = depth + 1
    try:
        yield
    finally:
        _STATE.depth = depth


def made_before_concrete_scope(serial):
    """A KerasTensor the running loss captured (made before it started). One the loss makes
    itself (a perceptual loss building its feature model from `Input`s) is legitimate."""
    return getattr(_STATE, "depth", 0) > 0 and serial < _STATE.start


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
