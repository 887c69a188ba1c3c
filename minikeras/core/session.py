"""Session state: automatic names (`dense`, `dense_1`, ...), the learning phase, and the caches
`clear_session()` empties. Everything that lives for the length of a session is kept here."""
import contextlib
import re

_NAME_UIDS = {}
_LEARNING_PHASE = [0]
_CACHES_TO_CLEAR = []   # functions registered by lower-level modules (e.g. ops' scratch buffers)


def register_session_cache(clear):
    """Have `clear_session()` call `clear()` (a cache that must not outlive the session)."""
    _CACHES_TO_CLEAR.append(clear)


def clear_session():
    """Reset the automatic layer names (`dense`, `dense_1`, ...), the learning phase and caches."""
    _NAME_UIDS.clear()
    _LEARNING_PHASE[0] = 0
    for clear in _CACHES_TO_CLEAR:
        clear()


def get_uid(prefix=""):
    _NAME_UIDS[prefix] = _NAME_UIDS.get(prefix, 0) + 1
    return _NAME_UIDS[prefix]


def unique_object_name(prefix):
    """`dense`, then `dense_1`, `dense_2`, ... within a session."""
    uid = get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


@contextlib.contextmanager
def fresh_name_counters():
    """Automatic names counted from zero inside, the session's counters untouched: what
    tf.keras' objects created while tracing a `tf.function` (a fresh graph) get, e.g. the
    `metrics=["AUC"]` of every compile are named `auc`, not `auc_1`, `auc_2`, ..."""
    saved = dict(_NAME_UIDS)
    _NAME_UIDS.clear()
    try:
        yield
    finally:
        _NAME_UIDS.clear()
        _NAME_UIDS.update(saved)


def to_snake_case(name):
    """`BatchNormalization` -> `batch_normalization`, `ReLU` -> `re_lu`, `Conv2D` -> `conv2d`."""
    words = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    snake = re.sub("([a-z])([A-Z])", r"\1_\2", words).lower()
    return snake if snake[0] != "_" else "private" + snake


def learning_phase():
    return _LEARNING_PHASE[0]


def set_learning_phase(value):
    if value not in (0, 1):
        raise ValueError(f"Expected learning phase to be 0 or 1, got {value}")
    _LEARNING_PHASE[0] = value
