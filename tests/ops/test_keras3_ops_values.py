"""keras.ops functions whose Keras 2 backend twins compute otherwise (hard_sigmoid,
hard_silu, gelu's approximate default, softmax / log_softmax axes, moments, top_k, ...) give
Keras 3.15's numbers, dtypes and shapes. Fixture: tests/fixtures/keras3_ops_values (Keras
3.15 with peer_recipes/fid2/keras3_ops_values.py on the same inputs)."""
import os

import numpy as np
import pytest

from minikeras import activations, ops

EXPECTED = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_ops_values",
                                "keras3_ops_values.npz"))
x, x3 = EXPECTED["x"], EXPECTED["x3"]

CASES = {
    "hard_sigmoid": lambda: ops.hard_sigmoid(x),
    "nn.hard_sigmoid": lambda: ops.nn.hard_sigmoid(x),
    "hard_silu": lambda: ops.hard_silu(x),
    "hard_swish": lambda: ops.hard_swish(x),
    "nn.hard_silu": lambda: ops.nn.hard_silu(x),
    "gelu": lambda: ops.gelu(x),
    "gelu_exact": lambda: ops.gelu(x, approximate=False),
    "softmax": lambda: ops.softmax(x3),
    "softmax_axis1": lambda: ops.softmax(x3, axis=1),
    "log_softmax": lambda: ops.log_softmax(x3),
    "log_softmax_axis0": lambda: ops.log_softmax(x3, axis=0),
    "moments_mean": lambda: ops.moments(x3, axes=[0, 1])[0],
    "moments_var": lambda: ops.moments(x3, axes=[0, 1])[1],
    "moments_keepdims_var": lambda: ops.moments(x3, axes=[1], keepdims=True)[1],
    "top_k_values": lambda: ops.top_k(x, 2)[0],
    "top_k_indices": lambda: ops.top_k(x, 2)[1],
    "elu": lambda: ops.elu(x),
    "elu_alpha": lambda: ops.elu(x, alpha=0.5),
    "selu": lambda: ops.selu(x),
    "leaky_relu": lambda: ops.leaky_relu(x),
    "relu6": lambda: ops.relu6(x),
    "silu": lambda: ops.silu(x),
    "swish": lambda: ops.swish(x),
    "softplus": lambda: ops.softplus(x),
    "softsign": lambda: ops.softsign(x),
    "log_sigmoid": lambda: ops.log_sigmoid(x),
    "celu": lambda: ops.celu(x),
    "glu": lambda: ops.glu(x3),
    "hard_tanh": lambda: ops.hard_tanh(x),
    "hard_shrink": lambda: ops.hard_shrink(x),
    "soft_shrink": lambda: ops.soft_shrink(x),
    "squareplus": lambda: ops.squareplus(x),
    "sparse_plus": lambda: ops.sparse_plus(x),
    "sparse_sigmoid": lambda: ops.sparse_sigmoid(x),
    "tanh_shrink": lambda: ops.tanh_shrink(x),
    "threshold": lambda: ops.threshold(x, 0.5, -1.0),
    "logsumexp": lambda: ops.logsumexp(x3, axis=-1),
    "normalize": lambda: ops.normalize(x3),
    "normalize_l1": lambda: ops.normalize(x3, axis=1, order=1),
    "std": lambda: ops.std(x3, axis=1),
    "var": lambda: ops.var(x3, axis=1),
    "clip": lambda: ops.clip(x, -1, 1),
    "argmax": lambda: ops.argmax(x),
    "argmax_axis": lambda: ops.argmax(x, axis=-1),
    "one_hot": lambda: ops.one_hot(np.array([0, 2, 1]), 3),
    "binary_crossentropy": lambda: ops.binary_crossentropy(ops.sigmoid(x), ops.sigmoid(x * 0.5)),
    "categorical_crossentropy": lambda: ops.categorical_crossentropy(ops.softmax(x), ops.softmax(x * 0.5)),
    "sparse_categorical_crossentropy": lambda: ops.sparse_categorical_crossentropy(np.array([0, 2, 1]), ops.softmax(x)),
    "categorical_crossentropy_logits": lambda: ops.categorical_crossentropy(ops.softmax(x), x * 0.5, from_logits=True),
    "batch_normalization": lambda: ops.batch_normalization(x3, np.zeros(4, "float32") + 0.1, np.ones(4, "float32") * 2, axis=-1, offset=np.ones(4, "float32"), scale=np.full(4, 0.5, "float32")),
    "rms_normalization": lambda: ops.rms_normalization(x3),
    "layer_normalization": lambda: ops.layer_normalization(x3),
    "sigmoid": lambda: ops.sigmoid(x),
    "mean_int": lambda: ops.mean(np.array([1, 2, 4])),
    "round_half": lambda: ops.round(np.array([0.5, 1.5, 2.5, -0.5], "float32")),
    "erf": lambda: ops.erf(x),
    "relu": lambda: ops.relu(x),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_keras_ops_compute_keras3_values(name):
    got = np.asarray(CASES[name]())
    want = EXPECTED[name]
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_keras2_hard_sigmoid_activation_stays_keras2():
    np.testing.assert_allclose(activations.hard_sigmoid(x).numpy(),
                               np.clip(0.2 * x + 0.5, 0, 1), atol=1e-6)
    assert not np.allclose(activations.hard_sigmoid(x).numpy(), EXPECTED["nn.hard_sigmoid"])
