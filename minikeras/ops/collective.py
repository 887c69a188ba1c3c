"""Differentiable collectives over the ranks of a data-parallel run.

In a single process these are the identity. With several ranks, `cross_replica_sum` adds a
tensor over all ranks. Every rank then back-propagates only its own loss, while the optimizer
averages the ranks' gradients with weights `w_r = n_r / N` (their share of the global batch).
For the weighted average to be the gradient of the global-batch loss, the gradient flowing
back into rank r's summand must be `sum_q(w_q g_q) / w_r`.
"""
import numpy as np

from ..core import distribution
from ..core.tensor import record
from .math import as_array


def cross_replica_sum(x, weight=1.0):
    """`x` summed over every rank; `weight` is this rank's share of the global batch."""
    context = distribution.get_context()
    xd = as_array(x)
    if context is None or context.size == 1:
        return record(xd.copy(), (x,), lambda g, needs: (g,))
    total = context.allreduce_sum(xd)

    def backward(g, needs):
        scaled = np.ascontiguousarray(g * np.asarray(weight, g.dtype))
        return (context.allreduce_sum(scaled) / np.asarray(weight, g.dtype),)
    return record(total.astype(xd.dtype, copy=False), (x,), backward)


def replica_total(value):
    """A plain (non-differentiable) number summed over the ranks."""
    context = distribution.get_context()
    if context is None or context.size == 1:
        return value
    return context.allreduce_sum(np.asarray([value], np.float64))[0].item()
