"""tf.random.normal/uniform replaced by fixed NumPy draws, identical on both sides."""
import numpy as np

def _shape(shape):
    shape = shape.numpy() if hasattr(shape, "numpy") else shape
    return tuple(int(s) for s in np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),)

def normal_array(shape, mean=0.0, stddev=1.0, seed=None):
    rng = np.random.RandomState(1234 if seed is None else seed)
    return (rng.standard_normal(_shape(shape)) * stddev + mean).astype("float32")

def uniform_array(shape, minval=0, maxval=None, seed=None, dtype="float32"):
    rng = np.random.RandomState(4321 if seed is None else seed)
    if np.dtype(dtype).kind == "i":
        return rng.randint(minval, maxval, size=_shape(shape)).astype(dtype)
    maxval = 1.0 if maxval is None else maxval
    return rng.uniform(minval, maxval, _shape(shape)).astype(dtype)
