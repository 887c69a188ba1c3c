"""Which elements each part of a gathered optimizer update covers (optimizers/base.py
`_run_pending_updates`): a part [lo, hi) of the split updates the same share of every large
variable (each thread the rows of a kernel gradient its part of the product wrote), and of the
small gathered variables laid end to end; any split gives the numbers of one pass."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.optimizers import base

LARGE = [(300, 500), (200000,)]           # at least base._OWN_SHARE_ELEMENTS each
SMALL = [(100, 200), (30000,)]            # gathered (16k+), split as one


def _variables(shapes):
    return [keras.Variable(np.zeros(shape, np.float32), name=f"v{i}")
            for i, shape in enumerate(shapes)]


def _first_part_only(fraction, monkeypatch):
    """Patch the optimizers' split to run only the part [0, fraction * size)."""
    def first_part(work, size, min_items=0):
        work(0, int(size * fraction))
    monkeypatch.setattr(base, "split_flat", first_part)


@pytest.mark.parametrize("fraction", [0.5, 0.3, 0.7])
def test_a_part_updates_the_same_share_of_each_large_variable(fraction, monkeypatch):
    _first_part_only(fraction, monkeypatch)
    variables = _variables(LARGE + SMALL)
    grads = [np.ones(v.shape, np.float32) for v in variables]
    keras.optimizers.SGD(1.0).apply_gradients(zip(grads, variables))
    total = sum(v.numpy().size for v in variables)
    lo, hi = 0, int(total * fraction)
    for variable in variables[:len(LARGE)]:
        flat = variable.numpy().reshape(-1)
        size = flat.size
        first, last = size * lo // total, size * hi // total
        assert np.all(flat[first:last] == -1) and np.all(flat[last:] == 0)
    # the small ones: their share of the split, laid end to end
    small = np.concatenate([v.numpy().reshape(-1) for v in variables[len(LARGE):]])
    last = small.size * hi // total
    assert np.all(small[:last] == -1) and np.all(small[last:] == 0)


@pytest.mark.parametrize("make_optimizer", [
    lambda: keras.optimizers.Adam(1e-3),
    lambda: keras.optimizers.Adam(1e-2, amsgrad=True),
    lambda: keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
], ids=["adam", "amsgrad", "nesterov"])
@pytest.mark.parametrize("fraction", [0.3, 0.5, 0.7])
def test_any_split_gives_the_numbers_of_one_pass(make_optimizer, fraction, monkeypatch):
    shapes = LARGE + [(9,)] + SMALL
    rng = np.random.default_rng(3)
    starts = [rng.standard_normal(shape).astype(np.float32) for shape in shapes]
    steps = [[rng.standard_normal(shape).astype(np.float32) for shape in shapes]
             for _ in range(3)]
    results = []
    for split in (False, True):
        if split:
            def two_parts(work, size, min_items=0):
                cut = int(size * fraction)
                work(cut, size)             # the worker's part may run first
                work(0, cut)
            monkeypatch.setattr(base, "split_flat", two_parts)
        variables = [keras.Variable(start.copy(), name=f"v{i}") for i, start in enumerate(starts)]
        optimizer = make_optimizer()
        for grads in steps:
            optimizer.apply_gradients(zip(grads, variables))
        results.append([v.numpy() for v in variables + list(optimizer.variables[1:])])
    for whole, parts in zip(*results):
        np.testing.assert_array_equal(whole, parts)
