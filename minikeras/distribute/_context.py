"""The MPI-backed context behind `minikeras.distribute` (through mpi4py)."""
import os
import sys
import time
import traceback

import numpy as np

from ..core import distribution

_MISSING_MPI = ("`minikeras.distribute` requires mpi4py and an MPI library. Install them with "
                "`pip install \"minikeras[mpi]\"` (mpi4py and the MPICH wheel, which provides "
                "`mpirun`), or install mpi4py against your system MPI.")


def _import_mpi():
    try:
        from mpi4py import MPI
    except ImportError as error:
        raise ImportError(_MISSING_MPI) from error
    return MPI


class MPIContext:
    """Rank, size and the collectives over an MPI communicator."""

    def __init__(self, comm, chief_only_output=True):
        self.MPI = _import_mpi()
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        local = comm.Split_type(self.MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = local.Get_rank()
        self.local_size = local.Get_size()
        local.Free()
        self.chief_only_output = chief_only_output

    def allreduce_sum(self, array):
        """The elementwise sum over the ranks of a NumPy array (same shape on every rank)."""
        send = np.ascontiguousarray(array)
        receive = np.empty_like(send)
        self.comm.Allreduce(send, receive, op=self.MPI.SUM)
        return receive

    def allreduce_sum_in_place(self, buffer):
        self.comm.Allreduce(self.MPI.IN_PLACE, buffer, op=self.MPI.SUM)
        return buffer

    def allgather(self, obj):
        return self.comm.allgather(obj)

    def broadcast(self, obj, root=0):
        return self.comm.bcast(obj, root=root)

    def broadcast_array_in_place(self, array, root=0):
        self.comm.Bcast(array, root=root)
        return array

    def abort(self, code=1):
        self.comm.Abort(code)


def init(comm=None, chief_only_output=True, abort_on_error=True):
    """Join the MPI job: afterwards `rank()`, `size()` and the distributed pieces work.

    `comm` defaults to `MPI.COMM_WORLD`. With `abort_on_error` (the default) an uncaught
    exception on any rank prints its traceback and aborts the whole job, so the other ranks
    exit with an error instead of waiting forever in the next allreduce.
    """
    MPI = _import_mpi()
    context = MPIContext(comm if comm is not None else MPI.COMM_WORLD, chief_only_output)
    distribution.set_context(context)
    if abort_on_error and context.size > 1:
        _install_abort_hook(context)
    return context


def _install_abort_hook(context):
    previous = sys.excepthook

    def abort_job(kind, value, tb):
        # One unbuffered write naming the error first: MPI_Abort may kill the job before
        # the launcher has forwarded anything written later.
        summary = "".join(traceback.format_exception_only(kind, value)).strip()
        report = (f"minikeras.distribute: rank {context.rank} of {context.size} failed with "
                  f"{summary}; aborting all ranks.\n"
                  + "".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        os.write(2, report.encode("utf-8", "replace"))
        if previous is not sys.__excepthook__:
            previous(kind, value, tb)
        time.sleep(0.5)        # let the launcher forward the report before the job is killed
        context.abort(1)
    sys.excepthook = abort_job


def shutdown():
    """Leave distributed mode (the MPI library itself is finalised at interpreter exit)."""
    distribution.set_context(None)


def _context():
    context = distribution.get_context()
    if context is None:
        raise ValueError("minikeras.distribute has not been initialized; call "
                         "`minikeras.distribute.init()` first.")
    return context


def is_initialized():
    return distribution.get_context() is not None


def rank():
    """This process' index in the job, 0 ... size() - 1."""
    return _context().rank


def size():
    """The number of processes in the job."""
    return _context().size


def local_rank():
    """This process' index among the processes on the same machine."""
    return _context().local_rank


def local_size():
    return _context().local_size


def is_chief():
    """True on rank 0, the one that writes checkpoints, logs and progress bars."""
    return _context().rank == 0


def allreduce(value, average=True):
    """A NumPy array (or number) summed, or averaged, over the ranks."""
    context = _context()
    array = np.asarray(value)
    total = context.allreduce_sum(array)
    if average:
        total = total / np.asarray(context.size, total.dtype if total.dtype.kind == "f"
                                   else np.float64)
    return total


def allgather(obj):
    """A list with every rank's `obj`, in rank order."""
    return _context().allgather(obj)


def broadcast(obj, root_rank=0):
    """`obj` as the root rank has it, on every rank."""
    return _context().broadcast(obj, root_rank)
