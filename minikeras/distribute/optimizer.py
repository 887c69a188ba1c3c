"""DistributedOptimizer: any optimizer, with its gradients averaged over the ranks first."""
import copy

import numpy as np

from ..core import distribution
from ..optimizers.base import Optimizer
from ._context import divide_by_total_weight


class _AveragedGradients:
    """Mixed in before an optimizer class: `apply_gradients` averages every gradient over the
    ranks (one fused allreduce per step) before the optimizer clips and applies them, so every
    rank computes the same new weights."""

    def apply_gradients(self, grads_and_vars, name=None, skip_gradients_aggregation=False,
                        **kwargs):
        pairs = list(grads_and_vars)
        local_samples = distribution.take_local_samples()
        context = distribution.get_context()
        if context is not None and context.size > 1 and not skip_gradients_aggregation:
            pairs = average_gradients(pairs, context, local_samples)
        return super().apply_gradients(pairs, name=name, **kwargs)


def average_gradients(pairs, context, local_samples=None):
    """`(gradient, variable)` pairs with each gradient replaced by its average over the ranks.

    All gradients travel in one flat float32 buffer, in the (identical) variable order, with
    this rank's weight appended: rank r contributes `n_r * g_r` and `n_r`, where `n_r` is the
    number of samples it trained on, so the result is the gradient of the global batch's mean
    loss even when the shares differ. Without a sample count every rank weighs 1.
    """
    weight = 1.0 if local_samples is None else float(local_samples)
    present = [(i, np.asarray(getattr(g, "data", g))) for i, (g, _) in enumerate(pairs)
               if g is not None]
    sizes = [g.size for _, g in present]
    packing_buffer = getattr(context, "packing_buffer", None)     # MPIContext has one
    length = sum(sizes) + 1
    buffer = packing_buffer(length) if packing_buffer else np.empty(length, np.float32)
    offset = 0
    for (_, gradient), count in zip(present, sizes):
        np.multiply(gradient.reshape(-1), np.float32(weight), out=buffer[offset:offset + count])
        offset += count
    buffer[-1] = weight
    average_packed = getattr(context, "average_packed", None)
    if average_packed is not None:
        buffer = average_packed(buffer)
    else:
        context.allreduce_sum_in_place(buffer)
        buffer = divide_by_total_weight(buffer)
    averaged = list(pairs)
    offset = 0
    for (index, gradient), count in zip(present, sizes):
        variable = pairs[index][1]
        values = buffer[offset:offset + count].reshape(gradient.shape)
        averaged[index] = (values.astype(gradient.dtype, copy=False), variable)
        offset += count
    return averaged


def DistributedOptimizer(optimizer, name=None, compression=None, sparse_as_dense=False,
                         backward_passes_per_step=1, op="average",
                         gradient_predivide_factor=1.0, **kwargs):
    """Wrap `optimizer` so its gradients are averaged over all ranks before each update.

    The result is an instance of the same optimizer class (same config, same saved form) with
    an allreduce in front of `apply_gradients`; it keeps the wrapped optimizer's state. The
    Horovod arguments are accepted; values other than the defaults raise NotImplementedError
    (`sparse_as_dense` changes nothing: gradients are always dense here).

    Example:

        opt = minikeras.distribute.DistributedOptimizer(keras.optimizers.SGD(0.01))
        model.compile(optimizer=opt, loss="mse")
    """
    if kwargs:
        raise TypeError(f"DistributedOptimizer() got unexpected keyword arguments {list(kwargs)}")
    if not isinstance(optimizer, Optimizer):
        raise ValueError("DistributedOptimizer expects a minikeras optimizer instance. "
                         f"Received: optimizer={optimizer!r}")
    _require_default("compression", compression, None)
    _require_default("backward_passes_per_step", backward_passes_per_step, 1)
    _require_default("op", op if isinstance(op, str) else repr(op), "average")
    _require_default("gradient_predivide_factor", gradient_predivide_factor, 1.0)
    if isinstance(optimizer, _AveragedGradients):
        return optimizer
    base = type(optimizer)
    distributed_class = type(base.__name__, (_AveragedGradients, base),
                             {"__module__": base.__module__, "__doc__": base.__doc__})
    wrapped = copy.copy(optimizer)
    wrapped.__class__ = distributed_class
    if name is not None:
        wrapped.name = name
    return wrapped


def _require_default(argument, value, default):
    if value != default and not (isinstance(value, str) and value.lower() == default):
        raise NotImplementedError(f"DistributedOptimizer does not support `{argument}`="
                                  f"{value!r}; only the default ({default!r}) is implemented.")
