"""Large variables are updated in cache-sized chunks: the result must be exactly what one
whole-array update gives, for every optimizer that chunks."""
import numpy as np
import pytest

import minikeras as keras
from minikeras.optimizers import base


def _run(optimizer, chunk, monkeypatch, steps=3):
    monkeypatch.setattr(base, "_UPDATE_CHUNK", chunk)
    rng = np.random.default_rng(7)
    # 3 * 50_000 elements: several chunks of the default size and a ragged last one
    variable = keras.Variable(rng.standard_normal((3, 50_000)).astype("float32"))
    small = keras.Variable(rng.standard_normal((5,)).astype("float32"))
    for _ in range(steps):
        grads = [rng.standard_normal(v.shape).astype("float32") for v in (variable, small)]
        optimizer.apply_gradients(zip(grads, [variable, small]))
    return variable.numpy(), small.numpy(), [v.numpy() for v in optimizer.variables]


@pytest.mark.parametrize("make", [
    lambda: keras.optimizers.Adam(learning_rate=0.01),
    lambda: keras.optimizers.Adam(learning_rate=0.01, amsgrad=True),
    lambda: keras.optimizers.AdamW(learning_rate=0.01),
    lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
    lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True),
    lambda: keras.optimizers.legacy.Adam(learning_rate=0.01),
], ids=["adam", "amsgrad", "adamw", "momentum", "nesterov", "legacy_adam"])
def test_chunked_update_equals_whole_update(make, monkeypatch):
    chunked = _run(make(), 1 << 16, monkeypatch)
    whole = _run(make(), 1 << 30, monkeypatch)
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_array_equal(chunked[1], whole[1])
    for a, b in zip(chunked[2], whole[2]):
        np.testing.assert_array_equal(a, b)


def test_chunked_adam_matches_closed_form(monkeypatch):
    """One Adam step from zero slots: w -= lr * g / (|g| + eps * ...) in closed form."""
    monkeypatch.setattr(base, "_UPDATE_CHUNK", 1000)
    rng = np.random.default_rng(3)
    start = rng.standard_normal(4321).astype("float32")
    gradient = rng.standard_normal(4321).astype("float32")
    variable = keras.Variable(start.copy())
    keras.optimizers.Adam(learning_rate=0.01).apply_gradients([(gradient, variable)])
    m = 0.1 * gradient.astype(np.float64)
    v = 0.001 * gradient.astype(np.float64) ** 2
    alpha = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = start - alpha * m / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-5, atol=1e-7)
