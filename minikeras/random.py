"""`keras.random` (Keras 3): random tensors drawn from an integer seed, a `SeedGenerator` or
the global generator (see `minikeras/ops/random.py`)."""
from .ops.random import (  # noqa: F401
    SeedGenerator, beta, binomial, categorical, dropout, gamma, normal, randint, shuffle,
    truncated_normal, uniform,
)
