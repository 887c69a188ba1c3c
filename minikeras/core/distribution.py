"""The data-parallel context: which process (rank) of how many this is, and its collectives.

`minikeras.distribute.init()` installs a context backed by MPI; in a single process there is
none and everything below is a no-op. The engine only reads the context (fit shards array
batches over the ranks, workers stay quiet), so nothing here imports MPI.

A context provides `rank`, `size`, `local_rank`, `chief_only_output`, and the collectives
`allreduce_sum(array) -> array`, `allgather(obj) -> list` and `broadcast(obj, root) -> obj`.
"""

_STATE = {"context": None, "local_samples": None}


def get_context():
    """The installed context, or None when running as a single process."""
    return _STATE["context"]


def set_context(context):
    _STATE["context"] = context
    _STATE["local_samples"] = None


def is_distributed():
    context = _STATE["context"]
    return context is not None and context.size > 1


def note_local_samples(count):
    """Record how many samples this rank holds in the batch being trained on; the distributed
    optimizer weighs this rank's gradients by it, so uneven shards average exactly."""
    _STATE["local_samples"] = int(count)


def take_local_samples():
    """The count recorded for the current batch (None when unknown); reading clears it."""
    count, _STATE["local_samples"] = _STATE["local_samples"], None
    return count
