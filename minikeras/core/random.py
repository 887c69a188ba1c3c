"""The global random state behind initializers, Dropout and shuffling."""
import random as _py_random

import numpy as np

_GLOBAL = {"rng": np.random.default_rng()}


def global_rng():
    return _GLOBAL["rng"]


def set_random_seed(seed):
    """Seed Python, NumPy and minikeras' own generator: same seed, same run."""
    if not isinstance(seed, (int, np.integer)):
        raise ValueError(f"Expected `seed` argument to be an integer. Received: seed={seed}")
    _py_random.seed(seed)
    np.random.seed(seed)
    _GLOBAL["rng"] = np.random.default_rng(seed)


def make_rng(seed=None):
    """A generator of its own for a seeded object; the global one otherwise."""
    if seed is None:
        return global_rng()
    return np.random.default_rng(seed)
