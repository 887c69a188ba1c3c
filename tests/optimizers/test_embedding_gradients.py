"""Embedding gradients as tf.keras treats them (tf.IndexedSlices: one row per lookup): gradient
clipping (clipnorm, global_clipnorm, clipvalue) sees each lookup's row before duplicate ids
are summed, and the legacy optimizers' sparse kernels leave the rows not looked up alone.
Numbers from tf.keras 2.21 (tests/fixtures/trainfuzz, recipe record_regressions.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES, load_fixture_module
from minikeras.core.tensor import GradientTape
from minikeras.ops.embedding import embedding_lookup, lookup_rows
from minikeras.ops.math import sum as reduce_sum

HERE = os.path.join(FIXTURES, "trainfuzz")
cases = load_fixture_module("trainfuzz_regression_cases", "trainfuzz", "regression_cases.py")
with open(os.path.join(HERE, "regressions.json")) as f:
    FACTS = json.load(f)
ARRAYS = np.load(os.path.join(HERE, "regressions.npz"))


@pytest.mark.parametrize("name", sorted(cases.EMBEDDING_OPTIMIZERS))
def test_embedding_training_matches_tf_keras(name):
    key = f"embedding__{name}"
    x, y = cases.embedding_data()
    model = cases.embedding_model(keras)
    n_weights = len(model.get_weights())
    model.set_weights([ARRAYS[f"{key}__init{k}"] for k in range(n_weights)])
    model.compile(optimizer=cases.make_optimizer(keras, name), loss="mse")
    history = model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], FACTS[key]["loss"], rtol=1e-5)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{key}__final{k}"], rtol=1e-5, atol=1e-6,
                                   err_msg=model.weights[k].name)
    variables = model.optimizer.variables
    variables = variables() if callable(variables) else variables
    assert [v.name for v in variables] == FACTS[key]["opt_names"]
    for k, v in enumerate(variables):
        if name.startswith("sgd") and "/m/" in v.name:
            continue   # plain SGD: tf.keras' m holds the last -lr*g, which we do not write
        np.testing.assert_allclose(keras.backend.get_value(v), ARRAYS[f"{key}__opt{k}"],
                                   rtol=1e-5, atol=1e-6, err_msg=v.name)


@pytest.mark.parametrize("name", cases.SHARED_EMBEDDING_OPTIMIZERS)
def test_shared_embedding_concatenates_its_lookups_as_tf_keras(name):
    """One Embedding looked up from two inputs: the tape's sum of the two gradients keeps
    both lookups' rows (tf.keras concatenates the IndexedSlices), so clipping sees them all."""
    key = f"shared__{name}"
    x, y = cases.shared_embedding_data()
    model = cases.shared_embedding_model(keras)
    n_weights = len(model.get_weights())
    model.set_weights([ARRAYS[f"{key}__init{k}"] for k in range(n_weights)])
    model.compile(optimizer=cases.make_optimizer(keras, name), loss="mse")
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], FACTS[key]["loss"], rtol=1e-5)
    for k, w in enumerate(model.get_weights()):
        np.testing.assert_allclose(w, ARRAYS[f"{key}__final{k}"], rtol=1e-5, atol=1e-6,
                                   err_msg=model.weights[k].name)


def _two_lookup_steps(optimizer):
    """Row 0 looked up in the first step only, row 1 in the second: row 0 after both."""
    table = keras.Variable(np.ones((3, 2), "float32"), name="table")
    for ids in ([0], [1]):
        with GradientTape() as tape:
            loss = reduce_sum(embedding_lookup(table, np.array(ids)))
        optimizer.apply_gradients(zip(tape.gradient(loss, [table]), [table]))
    return table.data[0]


def test_rows_not_looked_up_keep_their_momentum_in_legacy_sgd_only():
    """OptimizerV2's sparse momentum kernel leaves row 0 alone in the second step; the
    current SGD's sparse update decays the momentum everywhere (row 0 moves on)."""
    np.testing.assert_allclose(_two_lookup_steps(keras.optimizers.legacy.SGD(0.1, momentum=0.9)),
                               [0.9, 0.9])
    np.testing.assert_allclose(_two_lookup_steps(keras.optimizers.SGD(0.1, momentum=0.9)),
                               [0.9 - 0.09, 0.9 - 0.09], rtol=1e-6)


def test_lookup_rows_only_for_an_unchanged_lookup_gradient():
    table = keras.Variable(np.arange(12, dtype="float32").reshape(4, 3), name="t")
    ids = np.array([[1, 1], [3, 1]])
    with GradientTape() as tape:
        loss = reduce_sum(embedding_lookup(table, ids) * 2.0)
    (grad,) = tape.gradient(loss, [table])
    flat_ids, rows = lookup_rows(grad)
    np.testing.assert_array_equal(flat_ids, [1, 1, 3, 1])
    np.testing.assert_allclose(rows, np.full((4, 3), 2.0))
    np.testing.assert_allclose(grad.data[1], [6.0, 6.0, 6.0])
    assert lookup_rows(grad.data + 0) is None    # any other array is a plain dense gradient

    with GradientTape() as tape:   # two lookups of one table: rows concatenated
        loss = reduce_sum(embedding_lookup(table, ids)) + \
            reduce_sum(embedding_lookup(table, np.array([0])) * 3.0)
    (grad,) = tape.gradient(loss, [table])
    flat_ids, rows = lookup_rows(grad)
    assert sorted(flat_ids.tolist()) == [0, 1, 1, 1, 3]
    assert rows.shape == (5, 3)
    np.testing.assert_allclose(grad.data[:, 0], [3.0, 3.0, 0.0, 1.0])
