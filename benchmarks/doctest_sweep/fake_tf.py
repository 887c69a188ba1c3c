"""A `tf` stand-in for minikeras: tf.keras is minikeras, the tf.* helpers map to NumPy/ops."""
import types
import numpy as np
import minikeras
from minikeras import ops
from minikeras.core.tensor import Tensor
import fixed_random

keras = minikeras
float16, float32, float64 = "float16", "float32", "float64"
int32, int64, string, bool = "int32", "int64", "string", "bool"
Tensor = Tensor
GradientTape = minikeras.GradientTape

def _dtype_name(dtype):
    if dtype is None:
        return None
    return getattr(dtype, "name", None) or np.dtype(dtype).name

def convert_to_tensor(value, dtype=None):
    return ops.convert_to_tensor(value, dtype=_dtype_name(dtype))

def constant(value, dtype=None, shape=None, name=None):
    t = convert_to_tensor(value, dtype)
    if shape is not None:
        array = np.asarray(t.numpy())
        array = array.reshape(shape) if array.size == np.prod(shape) else np.broadcast_to(array, shape)
        t = ops.convert_to_tensor(array.copy())
    return t

def Variable(initial_value, dtype=None, trainable=True, name=None, **kw):
    value = convert_to_tensor(initial_value() if callable(initial_value) else initial_value, dtype)
    return minikeras.Variable(value.numpy(), dtype=value.dtype, trainable=trainable, name=name)

def reshape(x, shape): return ops.reshape(x, shape)
def ones(shape, dtype="float32"): return ops.ones(shape, dtype=_dtype_name(dtype))
def zeros(shape, dtype="float32"): return ops.zeros(shape, dtype=_dtype_name(dtype))
def reduce_sum(x, axis=None, keepdims=False): return ops.sum(x, axis=axis, keepdims=keepdims)
def reduce_mean(x, axis=None, keepdims=False): return ops.mean(x, axis=axis, keepdims=keepdims)
def abs(x): return ops.abs(x)
def identity(x): return ops.convert_to_tensor(x)
def cast(x, dtype): return ops.cast(x, _dtype_name(dtype))
def constant_initializer(value=0): return minikeras.initializers.Constant(value)

math = types.SimpleNamespace(
    reduce_sum=reduce_sum, exp=ops.exp, log=ops.log, abs=ops.abs, square=ops.square,
    greater_equal=ops.greater_equal)
linalg = types.SimpleNamespace(matmul=ops.matmul)
nn = types.SimpleNamespace(relu=minikeras.activations.relu)

def _normal(shape, mean=0.0, stddev=1.0, dtype="float32", seed=None, name=None):
    return ops.convert_to_tensor(fixed_random.normal_array(shape, mean, stddev, seed))

def _uniform(shape, minval=0, maxval=None, dtype="float32", seed=None, name=None):
    return ops.convert_to_tensor(
        fixed_random.uniform_array(shape, minval, maxval, seed, _dtype_name(dtype)))

random = types.SimpleNamespace(normal=_normal, uniform=_uniform,
                               set_seed=minikeras.utils.set_random_seed)

class _OutOfScope:
    def __init__(self, name): self._name = name
    def __getattr__(self, attr):
        raise NotImplementedError(f"out of scope: tf.{self._name}.{attr}")

data = _OutOfScope("data")
feature_column = _OutOfScope("feature_column")
compat = _OutOfScope("compat")
distribute = _OutOfScope("distribute")
