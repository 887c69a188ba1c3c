"""Central finite differences against the tape's gradients (run in float64)."""
import numpy as np

import minikeras as keras
from minikeras.core.tensor import Tensor


def numeric_gradient(fn, array, eps=1e-6):
    """d sum(fn()) / d array by central differences; `fn` reads `array` (mutated in place)."""
    if not array.flags.c_contiguous:
        raise ValueError("numeric_gradient perturbs `array` through a flat view: pass a "
                         "C-contiguous array (a reshape of any other layout is a copy)")
    grad = np.zeros_like(array, dtype=np.float64)
    flat = array.reshape(-1)
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = float(np.sum(np.asarray(fn(), dtype=np.float64)))
        flat[i] = original - eps
        minus = float(np.sum(np.asarray(fn(), dtype=np.float64)))
        flat[i] = original
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def _scalar_of(output, weights):
    """Weighted sum of every output, so each element's gradient matters."""
    total = None
    for out, w in zip(output if isinstance(output, (list, tuple)) else [output], weights):
        term = keras.ops.sum(keras.ops.multiply(out, w))
        total = term if total is None else keras.ops.add(total, term)
    return total


def check_gradients(fn, inputs, rtol=1e-5, atol=1e-7, extra_variables=(), seed=0):
    """Compare tape gradients of `sum(w * fn(*inputs))` with finite differences for every
    float input array and every variable in `extra_variables`. Requires float64 arrays."""
    rng = np.random.default_rng(seed)
    # C-contiguous copies: the finite differences perturb them in place through a flat view.
    arrays = [np.array(a, dtype=np.float64, order="C") if np.asarray(a).dtype.kind == "f"
              else np.asarray(a) for a in inputs]
    probe = fn(*[Tensor(a) for a in arrays])
    outs = probe if isinstance(probe, (list, tuple)) else [probe]
    weights = [rng.standard_normal(np.shape(o.data if isinstance(o, Tensor) else o)) for o in outs]

    def value():
        return _scalar_of(fn(*[Tensor(a) for a in arrays]), weights).data

    tensors = [Tensor(a) for a in arrays]
    with keras.GradientTape() as tape:
        for t in tensors:
            if t.dtype.kind == "f":
                tape.watch(t)
        loss = _scalar_of(fn(*tensors), weights)
    targets = [t for t in tensors if t.dtype.kind == "f"] + list(extra_variables)
    grads = tape.gradient(loss, targets)
    float_arrays = [a for a in arrays if a.dtype.kind == "f"] + [v.data for v in extra_variables]
    for array, grad in zip(float_arrays, grads):
        expected = numeric_gradient(value, array)
        got = np.zeros_like(expected) if grad is None else np.asarray(grad.data)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol)


def check_layer_gradients(layer, inputs, training=False, rtol=1e-5, atol=1e-7, **call_kwargs):
    """Gradient of a layer's output w.r.t. its inputs and all its trainable weights (float64)."""
    assert keras.backend.floatx() == "float64", "use the `float64` fixture"
    many = isinstance(inputs, (list, tuple))

    def fn(*xs):
        return layer(list(xs) if many else xs[0], training=training, **call_kwargs) \
            if layer._call_accepts_training else layer(list(xs) if many else xs[0], **call_kwargs)
    fn(*[Tensor(np.asarray(x, np.float64)) for x in (inputs if many else [inputs])])  # build
    check_gradients(fn, list(inputs) if many else [inputs], rtol=rtol, atol=atol,
                    extra_variables=layer.trainable_weights)
