"""Two batches in flight in `Model.predict`: each of two threads runs whole batches.

On two cores the kernels split every large layer's batch over two Python threads
(`ops/parallel.run_split`); each split pays a wake-up of the worker thread and a wait at its
end (resnet_small predict: 15 splits a batch, 0.7-1.3 ms a wake-up under load). When predict
has at least two batches, the two threads can instead each run whole batches through the
model, with BLAS on one thread and no split inside a batch: no hand-off inside a batch at all.

The main thread reads the input (the data handler is only used here), keeps a few batches
ready, runs batches itself and hands the results to the callbacks in batch order; the worker
thread takes ready batches as it becomes free. Per-batch callbacks (`on_predict_batch_begin`,
`on_predict_batch_end`, the progress bar) are called in batch order on the main thread, when
the batch's result is there. Each batch runs through the same kernels with the same slices
as on the one-batch path (run inline instead of split), so the predictions are the same bits.

Only models known to be safe for it take this route (`in_flight_model`): a Functional or
Sequential model (not a subclass with its own `call`, `__call__` or `predict_step`), built,
whose layers are all of the built-in classes in `_PURE_LAYERS` (exact classes, nested
Functional / Sequential models checked the same way), with built-in activations only, no
activity regularizer, no float dtype other than float32 / float64 and no layer call recorded
with `training=True` (Dropout and BatchNormalization would then draw random numbers or update
their moving statistics). Those layers compute their outputs from their inputs and weights
only, and what the shared caches keep (fusion plans, `WeightsMemo`, route plans, scratch
buffers) is either per thread or the same whichever thread makes it. Left out, and why:
recurrent layers (stateful ones update their states in `call`; the others are loops of small
products, which two threads contesting the GIL run no faster), `Lambda` and user layers (any
Python may run in them), random preprocessing layers, layers that add losses in `call`.
Callbacks must be the built-in progress bar and history or leave the predict batch hooks alone
(a hook that changed the weights between batches would see another order of work), and
`steps_per_execution` must be 1. Batches of fewer than `_MIN_BATCH_FLOPS` run one at a time
(their Python, which the two threads would contest, outweighs their NumPy work). `evaluate`
runs its forward passes so, and the loss and metric updates on the main thread in batch order.

`MINIKERAS_PREDICT_IN_FLIGHT=0` turns the route off.
"""
import collections
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .. import activations
from ..callbacks.callback import Callback
from ..callbacks.history import History
from ..callbacks.progbar_logger import ProgbarLogger
from ..core.nest import flatten
from ..engine.tf_op_layer import SlicingOpLambda, TFOpLambda
from ..layers import (
    Activation, Add, Average, AveragePooling1D, AveragePooling2D, AveragePooling3D,
    BatchNormalization, Concatenate, Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D,
    Conv3DTranspose, Cropping1D, Cropping2D, Cropping3D, Dense, DepthwiseConv1D,
    DepthwiseConv2D, Dot, Dropout, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
    InputLayer, LeakyReLU, MaxPooling1D, MaxPooling2D, MaxPooling3D, Maximum, Minimum, Multiply,
    Permute, ReLU, RepeatVector, Reshape, SeparableConv1D, SeparableConv2D, Softmax, Subtract,
    UpSampling1D, UpSampling2D, UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)
from ..ops import parallel
from . import model_kind

ENABLED = os.environ.get("MINIKERAS_PREDICT_IN_FLIGHT", "1") != "0"

# Exact classes whose inference call is a pure function of inputs and weights.
_PURE_LAYERS = frozenset({
    InputLayer, Dense, Activation, Dropout, Flatten, Reshape, Permute, RepeatVector,
    Conv1D, Conv2D, Conv3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose,
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D,
    MaxPooling1D, MaxPooling2D, MaxPooling3D, AveragePooling1D, AveragePooling2D,
    AveragePooling3D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalAveragePooling3D,
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
    Cropping1D, Cropping2D, Cropping3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D,
    UpSampling1D, UpSampling2D, UpSampling3D, BatchNormalization,
    Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot,
    ReLU, LeakyReLU, Softmax, TFOpLambda, SlicingOpLambda})

# Batches read ahead of the two running ones (inputs only: a few MB at most).
_READ_AHEAD = 2


# Batches of fewer FLOPs (the model's count, `engine/flops.py`) run one at a time: two threads
# then mostly contest the GIL for the per-batch Python (~0.1 ms a batch). Measured, a Dense
# stack predicting 200 batches, both ways interleaved (load ~12, the process at SCHED_FIFO):
# in flight / one at a time 2.09 at 0.06 MFLOP a batch, 1.63 at 3.5, 0.84-1.10 at 7.5-17,
# 0.60 at 34, 0.72 at 171 (the benchmark's mlp); the benchmark's conv nets have 148 (lenet_bn)
# to 13,600 (resnet_small) MFLOP a batch.
_MIN_BATCH_FLOPS = 32e6
# A generator's batches are counted at Keras' default batch size until read.
_DEFAULT_BATCH = 32


def in_flight_model(model, batch_size=None):
    """Whether `model`'s predict may run two batches (of `batch_size` samples) at once (see
    the module docstring)."""
    if not ENABLED or not _own_graph_model(model):
        return False
    if not all(_pure_layer(layer) for layer in model._flatten_layers(include_self=False)):
        return False
    return _flops_per_sample(model) * (batch_size or _DEFAULT_BATCH) >= _MIN_BATCH_FLOPS


def _flops_per_sample(model):
    """The model's FLOPs per sample, kept on the model while its graph is the same."""
    from ..engine.flops import model_flops
    run_plan = model._run_plan
    cached = model.__dict__.get("_in_flight_flops")
    if cached is not None and cached[0] is run_plan and cached[1] == len(run_plan):
        return cached[2]
    try:
        flops = model_flops(model)
    except (TypeError, ValueError):         # shapes the count cannot take (unknown sizes)
        flops = 0
    object.__setattr__(model, "_in_flight_flops", (run_plan, len(run_plan), flops))
    return flops


_PACKAGE = __name__.split(".")[0]
# What runs a graph model's batch: a subclass may override none of them.
_GRAPH_METHODS = ("__call__", "call", "predict_step", "_run_internal_graph")


def _own_graph_model(model):
    """A built Functional or Sequential model running its graph with our own methods, no
    layer call of it recorded with `training=True`."""
    kind = type(model)
    if not model_kind.is_functional(model) or not model.built or \
            getattr(model, "_steps_per_execution", 1) != 1:
        return False
    if any(not getattr(getattr(kind, name), "__module__", "").startswith(_PACKAGE + ".")
           for name in _GRAPH_METHODS):
        return False
    nodes = getattr(model, "_run_plan", None) or ()
    return not any(node.call_kwargs.get("training") for node, _, _ in nodes)


def _pure_layer(layer):
    if model_kind.is_functional(layer):
        return _own_graph_model(layer)
    if type(layer) not in _PURE_LAYERS or not layer.built or \
            getattr(layer, "activity_regularizer", None) is not None:
        return False
    if getattr(layer, "_dtype", None) is not None and layer._dtype.kind == "f" and \
            layer._dtype.itemsize not in (4, 8):
        return False
    activation = getattr(layer, "activation", None)
    return activation is None or getattr(activation, "__module__", None) == activations.__name__


PREDICT_HOOKS = ("on_predict_batch_begin", "on_predict_batch_end")
TEST_HOOKS = ("on_test_batch_begin", "on_test_batch_end")


def plain_callbacks(callbacks, hooks=PREDICT_HOOKS):
    """Whether the batch hooks `hooks` of `callbacks` (a CallbackList) are those of the
    built-in progress bar and history, or not overridden."""
    for callback in callbacks.callbacks:
        kind = type(callback)
        if kind in (ProgbarLogger, History):
            continue
        if any(getattr(kind, hook) is not getattr(Callback, hook) for hook in hooks):
            return False
    return True


def own_test_step(model):
    """Whether `model` evaluates a batch by our own `test_step`, `compute_loss` and
    `compute_metrics` (evaluate then runs the forward pass in flight and the loss and metric
    updates on the main thread, in batch order)."""
    kind = type(model)
    return all(getattr(getattr(kind, name), "__module__", "").startswith(_PACKAGE + ".")
               for name in ("test_step", "compute_loss", "compute_metrics"))


def usable():
    """Whether two threads may run batches now (two cores, BLAS' thread count settable, not
    inside a split)."""
    return ENABLED and parallel.can_split(uses_blas=True)


_pool = None


def _forget_pool_after_fork():
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


class _Failed:
    def __init__(self, error):
        self.error = error


class _Flight:
    """The batches read and not started, the results not yet handed on, and what each thread
    is doing (shared by the two threads under `condition`)."""

    def __init__(self, run_batch):
        self.run_batch = run_batch
        self.condition = threading.Condition()
        self.ready = collections.deque()   # (index, batch) read, not started
        self.results = {}                  # index -> output (or _Failed)
        self.exhausted = False             # the input has no more batches
        self.stopping = False              # an error or interrupt: start nothing more
        self.read_error = None             # raised by the input, after the batches before it
        self.worker_done = False
        self.started = {}                  # thread ident -> (perf_counter, samples) running
        self.seconds_per_sample = None     # of a batch run whole on one thread

    def take(self):
        """The next ready `(index, batch)` this thread should run whole, or None (nothing
        ready; or the last batch, better split over both threads once the other is free)."""
        with self.condition:
            if not self.ready or self.stopping:
                return None
            if self.exhausted and len(self.ready) == 1 and self._leave_last():
                return None
            item = self.ready.popleft()
            self.started[threading.get_ident()] = (time.perf_counter(), _samples(item[1]))
            return item

    def _leave_last(self):
        """Whether the last batch should run split over both threads once they are free:
        when the other thread is free, or will be within half the time this one would take
        for the batch alone."""
        others = [start for ident, start in self.started.items()
                  if ident != threading.get_ident()]
        if not others or self.seconds_per_sample is None:
            return True            # both free (or no time known yet): split it
        begun, samples = others[0]
        remaining = begun + samples * self.seconds_per_sample - time.perf_counter()
        return remaining < 0.5 * _samples(self.ready[0][1]) * self.seconds_per_sample

    def run(self, index, batch):
        start = time.perf_counter()
        try:
            result = self.run_batch(batch)
        except BaseException as error:     # handed to the main thread, raised in order
            result = _Failed(error)
        with self.condition:
            self.started.pop(threading.get_ident(), None)
            if not isinstance(result, _Failed):
                rate = (time.perf_counter() - start) / max(_samples(batch), 1)
                self.seconds_per_sample = rate if self.seconds_per_sample is None else \
                    0.5 * (self.seconds_per_sample + rate)
            else:
                self.stopping = True
            self.results[index] = result
            self.condition.notify_all()

    def worker(self):
        """The worker thread: run ready batches whole until there are none to come."""
        parallel.enter_batch_thread()
        try:
            while True:
                with self.condition:
                    while not self.ready and not (self.exhausted or self.stopping):
                        self.condition.wait()
                item = self.take()
                if item is not None:
                    self.run(*item)
                elif self.exhausted or self.stopping:
                    return                 # nothing to come, or the last batch left to split
        finally:
            parallel.leave_batch_thread()
            with self.condition:
                self.worker_done = True
                self.condition.notify_all()


def _samples(batch):
    """Samples in a batch: the first axis of its first array."""
    for value in flatten(batch):
        shape = getattr(value, "shape", None)
        if shape:
            return int(shape[0])
    return 1


def run_batches(handler, iterator, run_batch, run_split_batch, deliver):
    """Run every batch of `handler`'s epoch (read from `iterator`) on the two threads:
    `run_batch(batch)` runs one whole on the calling thread, `run_split_batch(batch)` one on
    the usual split path (the last batch when both threads are free), and `deliver(step,
    output)` is called on this thread in step order."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="minikeras-batches")
    flight = _Flight(run_batch)
    steps = handler.steps()
    next_to_deliver = 0

    def read_ahead():
        while len(flight.ready) < _READ_AHEAD and not flight.exhausted:
            step = next(steps, None)
            batch = None
            if step is not None:
                try:
                    with handler.catch_stop_iteration():
                        batch = (step, next(iterator))
                except Exception as error:     # raised once the batches before it are out
                    flight.read_error = error
            with flight.condition:
                if batch is None:
                    flight.exhausted = True
                else:
                    flight.ready.append(batch)
                flight.condition.notify_all()

    worker = None
    try:
        read_ahead()
        worker = _pool.submit(flight.worker)
        parallel.enter_batch_thread()
        try:
            while True:
                read_ahead()
                item = flight.take()
                if item is not None:
                    flight.run(*item)
                next_to_deliver = _deliver_ready(flight, next_to_deliver, deliver)
                if item is not None:
                    continue
                with flight.condition:
                    if flight.stopping or (flight.exhausted and not flight.ready and
                                           not flight.started):
                        break
                    if flight.exhausted and flight.worker_done:
                        break              # the last batch is left for the split path
                    if next_to_deliver not in flight.results:
                        flight.condition.wait(0.05)   # woken by every result; the timeout is a safety net
        finally:
            parallel.leave_batch_thread()
            with flight.condition:
                flight.stopping = flight.stopping or not flight.exhausted
                flight.condition.notify_all()
            if worker is not None:
                worker.result()
    except BaseException:
        with flight.condition:
            flight.stopping = True
            flight.condition.notify_all()
        raise
    next_to_deliver = _deliver_ready(flight, next_to_deliver, deliver)
    for step, batch in list(flight.ready):    # the last batch, when it was left to split
        deliver(step, run_split_batch(batch))
    if flight.read_error is not None:
        raise flight.read_error


def _deliver_ready(flight, next_step, deliver):
    """Hand the results from `next_step` on, in order, while they are there; raise a batch's
    error in its turn. Returns the next step to deliver."""
    while True:
        with flight.condition:
            result = flight.results.pop(next_step, None)
        if result is None:
            return next_step
        if isinstance(result, _Failed):
            raise result.error
        deliver(next_step, result)
        next_step += 1
