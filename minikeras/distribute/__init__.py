"""Data-parallel training over MPI, the Horovod way: every process (rank) holds the whole model,
computes gradients on its shard of each batch, one allreduce averages them, and every rank
applies the same update.

Change a Keras script in three places and start it with `mpirun -n 4 python train.py`:

    import minikeras.distribute as dist
    dist.init()
    model.compile(optimizer=dist.DistributedOptimizer(keras.optimizers.Adam()), ...)
    model.fit(x, y, batch_size=32,            # per rank: the global batch is 32 x size()
              callbacks=[dist.BroadcastGlobalVariablesCallback(0),
                         dist.MetricAverageCallback()])

Needs the optional extra `minikeras[mpi]` (mpi4py and the MPICH wheel, which brings `mpirun`).

Data sharding rules:
- Arrays passed to `fit`: every rank walks the same (rank 0's) shuffled order; each global
  batch of `batch_size x size()` samples is split into `size()` consecutive shares, rank r
  taking share r. A last global batch with fewer samples than ranks is dropped.
- A `keras.utils.Sequence`: every rank walks the same (rank 0's) batch order and takes batches
  r, r + size(), r + 2 size(), ...; the `len(seq) % size()` batches left over are skipped that
  epoch, so every rank runs the same number of steps.
- A Python generator is not sharded: each rank draws from its own generator (make each yield a
  different shard), and `steps_per_epoch` must be given so that the ranks stay in step.
- `evaluate` and `predict` are not sharded: each rank runs on all the data it is given.
Only the chief (rank 0) prints progress and runs `ModelCheckpoint`, `CSVLogger`, `TensorBoard`
and `RemoteMonitor`, unless `init(chief_only_output=False)` or the callback has `all_ranks=True`.
"""
from ._context import (  # noqa: F401
    init, shutdown, rank, size, local_rank, local_size, is_chief, is_initialized, allreduce,
    allgather, broadcast,
)
from .optimizer import DistributedOptimizer  # noqa: F401
from .callbacks import (  # noqa: F401
    BroadcastGlobalVariablesCallback, MetricAverageCallback, broadcast_variables,
)
from ..layers.normalization.sync_batch_normalization import SyncBatchNormalization  # noqa: F401
