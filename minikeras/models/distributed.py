"""What `fit` does differently on the ranks of a data-parallel run (see minikeras.distribute)."""
from ..core import distribution
from ..callbacks import CSVLogger, ModelCheckpoint, RemoteMonitor, TensorBoard

# Callbacks that write files or send reports: one copy of their output is wanted, the chief's.
CHIEF_ONLY_CALLBACKS = (ModelCheckpoint, CSVLogger, TensorBoard, RemoteMonitor)


def callbacks_for_this_rank(callbacks, verbose):
    """On ranks other than the chief, drop the writing callbacks and the progress bar (unless
    the context says every rank writes, or a callback has `all_ranks = True`)."""
    context = distribution.get_context()
    if context is None or context.size == 1 or context.rank == 0 \
            or not context.chief_only_output:
        return callbacks, verbose
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        return callbacks, 0          # an explicit CallbackList is the caller's business
    kept = [c for c in (callbacks or [])
            if not isinstance(c, CHIEF_ONLY_CALLBACKS) or getattr(c, "all_ranks", False)]
    return kept, 0
