"""Real tf for the peer side, with tf.random.normal/uniform giving the same fixed draws."""
import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import tensorflow as _tf
import fixed_random

class _Proxy:
    def __init__(self, target, overrides):
        self._target, self._overrides = target, overrides
    def __getattr__(self, name):
        if name in self._overrides:
            return self._overrides[name]
        return getattr(self._target, name)

def _normal(shape, mean=0.0, stddev=1.0, dtype=_tf.float32, seed=None, name=None):
    return _tf.constant(fixed_random.normal_array(shape, mean, stddev, seed))

def _uniform(shape, minval=0, maxval=None, dtype=_tf.float32, seed=None, name=None):
    return _tf.constant(fixed_random.uniform_array(shape, minval, maxval, seed,
                                                   _tf.as_dtype(dtype).name))

random = _Proxy(_tf.random, dict(normal=_normal, uniform=_uniform))
tf = _Proxy(_tf, dict(random=random))
