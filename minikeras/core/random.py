"""The global random state behind initializers, Dropout and shuffling."""
import random as _py_random

import numpy as np

from . import session
from .philox import stateful_counters_used

_GLOBAL = {"rng": np.random.default_rng(), "seed": None,
           # tf.keras' `backend._SEED_GENERATOR.generator`: the Python generator unseeded
           # initializers pick their seeds from once `set_random_seed` ran (else `random`'s)
           "seed_generator": None}
# tf's stateful random ops keep one Philox counter per (op, seeds), advanced by every call
# and reset when tf clears its kernel cache (clear_session, a new global seed)
_STATEFUL_COUNTERS = {}
session.register_session_cache(_STATEFUL_COUNTERS.clear)
_DEFAULT_GRAPH_SEED = 87654321      # tf's first seed when no global seed is set
_MAXINT32 = 2 ** 31 - 1


def global_rng():
    return _GLOBAL["rng"]


def set_random_seed(seed):
    """Seed Python, NumPy and minikeras' own generator: same seed, same run."""
    if not isinstance(seed, int):   # tf.keras' check: a NumPy integer is refused too
        raise ValueError("Expected `seed` argument to be an integer. "
                         f"Received: seed={seed} (of type {type(seed)})")
    _py_random.seed(seed)
    np.random.seed(seed)
    _GLOBAL["rng"] = np.random.default_rng(seed)
    _GLOBAL["seed"] = int(seed)     # tf.random.set_seed's global seed
    _GLOBAL["seed_generator"] = _py_random.Random(seed)
    _STATEFUL_COUNTERS.clear()


def draw_initializer_seed():
    """The seed tf.keras 2.21 draws for an unseeded initializer at its first call
    (`RandomGenerator._create_seed`): from Python's `random`, or from the generator
    `set_random_seed` made. Our values come from NumPy; the draw keeps a script's own
    `random.shuffle` / `random.random` after building a model where tf.keras leaves them."""
    generator = _GLOBAL["seed_generator"] or _py_random
    return generator.randint(1, int(1e9))


def seed_generator_set():
    """Whether `set_random_seed` has run (tf.keras' `_SEED_GENERATOR` then exists)."""
    return _GLOBAL["seed_generator"] is not None


def make_rng(seed=None):
    """A generator of its own for a seeded object; the global one otherwise."""
    if seed is None:
        return global_rng()
    return np.random.default_rng(seed)


def stateful_op_seeds(op, op_seed, size):
    """`(key seed, op seed, first counter)` of a call of tf's stateful random op `op` drawing
    `size` values with `op_seed` (tf.keras' K.random_* pick `np.random.randint(10e6)` for
    None), and moves that op's counter past them, as tf does."""
    drawn = op_seed is None
    if drawn:
        op_seed = np.random.randint(int(10e6))
    key_seed = _DEFAULT_GRAPH_SEED if _GLOBAL["seed"] is None else _GLOBAL["seed"] % _MAXINT32
    op_seed = int(op_seed) % _MAXINT32
    if key_seed == 0 and op_seed == 0:
        op_seed = _MAXINT32         # tf: (0, 0) would mean "nondeterministic"
    stream = (op, key_seed, op_seed)
    first = _STATEFUL_COUNTERS.get(stream, 0)
    # an unseeded call starts a fresh stream: keeping its counter would grow the table by one
    # entry a call (a VAE's sampling layer calls it every step)
    if not drawn or stream in _STATEFUL_COUNTERS:
        _STATEFUL_COUNTERS[stream] = first + stateful_counters_used(size)
    return key_seed, op_seed, first
