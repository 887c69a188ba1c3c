"""OrderedEnqueuer / GeneratorEnqueuer: the batches, in order, from a background thread."""
import numpy as np
import pytest

import minikeras as keras


class Numbered(keras.utils.Sequence):
    def __init__(self, count):
        self.count = count
        self.epochs_ended = 0

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        return np.full((2,), index, np.float32)

    def on_epoch_end(self):
        self.epochs_ended += 1


def _take(iterator, count):
    return [next(iterator) for _ in range(count)]


def test_ordered_enqueuer_repeats_epochs_in_order():
    sequence = Numbered(3)
    enqueuer = keras.utils.OrderedEnqueuer(sequence)
    enqueuer.start(workers=2, max_queue_size=2)
    batches = _take(enqueuer.get(), 7)
    enqueuer.stop()
    assert [int(b[0]) for b in batches] == [0, 1, 2, 0, 1, 2, 0]
    assert sequence.epochs_ended >= 2
    assert not enqueuer.is_running()


def test_ordered_enqueuer_shuffles_each_epoch_as_a_permutation():
    enqueuer = keras.utils.OrderedEnqueuer(Numbered(6), shuffle=True)
    enqueuer.start()
    batches = _take(enqueuer.get(), 12)
    enqueuer.stop()
    first, second = [int(b[0]) for b in batches[:6]], [int(b[0]) for b in batches[6:]]
    assert sorted(first) == sorted(second) == list(range(6))


def test_generator_enqueuer_ends_with_the_generator():
    enqueuer = keras.utils.GeneratorEnqueuer((i * i for i in range(5)))
    enqueuer.start(max_queue_size=1)
    assert list(enqueuer.get()) == [0, 1, 4, 9, 16]
    enqueuer.stop()


def test_errors_in_batch_code_reach_the_consumer():
    def broken():
        yield 1
        raise RuntimeError("bad batch")

    enqueuer = keras.utils.GeneratorEnqueuer(broken())
    enqueuer.start()
    batches = enqueuer.get()
    assert next(batches) == 1
    with pytest.raises(RuntimeError, match="bad batch"):
        next(batches)
    enqueuer.stop()


def test_bad_worker_count():
    with pytest.raises(ValueError, match="workers"):
        keras.utils.OrderedEnqueuer(Numbered(2)).start(workers=0)
