"""Enqueuers (`keras.utils.OrderedEnqueuer`, `GeneratorEnqueuer`, `SequenceEnqueuer`): a
background thread fills a bounded queue with batches while the caller consumes them.

Batches are made on one producer thread whatever `workers` says, so their order is always the
sequence's (shuffled per epoch when asked) or the generator's; `use_multiprocessing=True` is
accepted and served by the same thread (NumPy batch code releases the GIL; the batches and
their order are what a process pool would give).
"""
import queue
import random
import threading

_POLL_SECONDS = 0.1


class SequenceEnqueuer:
    """Base class: `start(workers, max_queue_size)`, `get()` (a generator of batches),
    `stop()`, `is_running()`. Subclasses write `_produce(put)`, which calls `put(batch)` for
    every batch and returns when there is nothing more (or `put` returns False: stopping)."""

    def __init__(self, sequence, use_multiprocessing=False):
        self.sequence = sequence
        self.use_multiprocessing = use_multiprocessing
        self.queue = None
        self._thread = None
        self._stop_event = threading.Event()
        self._done = object()

    def is_running(self):
        return self._thread is not None and not self._stop_event.is_set()

    def start(self, workers=1, max_queue_size=10):
        if workers < 1:
            raise ValueError(f"`workers` must be at least 1. Received: workers={workers}")
        self.queue = queue.Queue(max(int(max_queue_size), 1))
        self._stop_event.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _put(self, item):
        """Queue `item`, waiting for room; False once `stop()` was called."""
        while not self._stop_event.is_set():
            try:
                self.queue.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def _run(self):
        try:
            self._produce(self._put)
        except BaseException as error:           # re-raised in the consumer by get()
            self._put(_Failure(error))
            return
        self._put(self._done)

    def get(self):
        """Yield the queued batches until the producer finishes or `stop()` is called; an
        exception raised while making a batch is raised here."""
        while self.is_running() or (self.queue is not None and not self.queue.empty()):
            try:
                item = self.queue.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            if item is self._done:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def stop(self, timeout=None):
        """Stop the producer and wait for it (at most `timeout` seconds)."""
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self.queue = None

    def _produce(self, put):
        raise NotImplementedError


class _Failure:
    def __init__(self, error):
        self.error = error


class OrderedEnqueuer(SequenceEnqueuer):
    """Batches of a `keras.utils.Sequence` in order, epoch after epoch (the sequence's
    `on_epoch_end` runs between epochs); `shuffle=True` shuffles the batch order per epoch.

    Example:

        enqueuer = keras.utils.OrderedEnqueuer(my_sequence, shuffle=True)
        enqueuer.start(workers=1, max_queue_size=10)
        batches = enqueuer.get()
        x, y = next(batches)
        enqueuer.stop()
    """

    def __init__(self, sequence, use_multiprocessing=False, shuffle=False):
        super().__init__(sequence, use_multiprocessing)
        self.shuffle = shuffle

    def _produce(self, put):
        while True:
            order = list(range(len(self.sequence)))
            if self.shuffle:
                random.shuffle(order)
            for index in order:
                if not put(self.sequence[index]):
                    return
            self.sequence.on_epoch_end()


class GeneratorEnqueuer(SequenceEnqueuer):
    """Items of a Python generator, produced ahead on a background thread until it ends.

    Example:

        enqueuer = keras.utils.GeneratorEnqueuer(batch_generator())
        enqueuer.start(max_queue_size=4)
        for x, y in enqueuer.get():
            ...
    """

    def __init__(self, generator, use_multiprocessing=False, random_seed=None):
        super().__init__(generator, use_multiprocessing)
        self.random_seed = random_seed

    def _produce(self, put):
        for item in self.sequence:
            if not put(item):
                return
