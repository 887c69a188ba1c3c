"""Callbacks of a data-parallel run: start every rank from the root's weights, average logs."""
import numpy as np

from ..callbacks import Callback
from ._context import _context


class BroadcastGlobalVariablesCallback(Callback):
    """At the start of training, copy the model's weights and the optimizer's state from
    `root_rank` to every rank, so all ranks start identical (put it in every rank's `fit`).

    The ranks first compare their weight names and shapes, and all raise the same ValueError
    if they built different models.
    """

    def __init__(self, root_rank=0, device=""):
        super().__init__()
        self.root_rank = root_rank
        self.device = device   # accepted for Horovod compatibility; there is only the CPU

    def on_train_begin(self, logs=None):
        variables = list(self.model.weights)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "build"):
            optimizer.build(self.model.trainable_weights)   # create the slots to broadcast
            optimizer._built = True
            variables += [v for v in optimizer.variables if all(v is not w for w in variables)]
        broadcast_variables(variables, self.root_rank)


def broadcast_variables(variables, root_rank=0):
    """Overwrite each Variable with the root rank's value, after checking that every rank
    holds variables of the same shapes and dtypes, in the same order."""
    context = _context()
    signature = [(tuple(v.shape), str(v.dtype)) for v in variables]
    signatures = context.allgather(signature)
    root = signatures[root_rank]
    for rank, theirs in enumerate(signatures):
        if theirs != root:
            raise ValueError(_disagreement_message(rank, theirs, root_rank, root))
    for variable in variables:
        value = np.array(variable.data, order="C")   # a C-ordered copy, 0-d kept 0-d
        context.broadcast_array_in_place(value, root_rank)
        variable.assign(value)


def _disagreement_message(rank, theirs, root_rank, root):
    if len(theirs) != len(root):
        detail = f"rank {rank} has {len(theirs)} variables, rank {root_rank} has {len(root)}"
    else:
        first = next(i for i, (a, b) in enumerate(zip(theirs, root)) if a != b)
        detail = (f"variable {first} has (shape, dtype) {theirs[first]} on rank {rank} but "
                  f"{root[first]} on rank {root_rank}")
    return ("The ranks disagree on the model, so its weights cannot be broadcast: " + detail +
            ". Every rank must build the same model.")


class MetricAverageCallback(Callback):
    """Replace each epoch's metric values by their average over the ranks. Put it before any
    callback that reads the logs (EarlyStopping, ModelCheckpoint, CSVLogger)."""

    def __init__(self, device=""):
        super().__init__()
        self.device = device

    def on_epoch_end(self, epoch, logs=None):
        if not logs:
            return
        context = _context()
        names = sorted(k for k, v in logs.items() if isinstance(v, (int, float, np.number)))
        values = np.asarray([float(logs[k]) for k in names], np.float64)
        averaged = context.allreduce_sum(values) / context.size
        for name, value in zip(names, averaged):
            logs[name] = float(value)
