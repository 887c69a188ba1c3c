"""`keras.mixed_precision`: dtype policies and loss scaling.

The single-dtype policies ('float32', 'float64', 'float16') make layers compute and keep
variables in that dtype. 'mixed_float16' is tf.keras' mixed precision: layers keep float32
variables, cast their float inputs to float16, read their weights as float16 inside `call` and
return float16 (matrix products and convolutions accumulate in float32, as TensorFlow's CPU
kernels do); a model compiled under it wraps its optimizer in a `LossScaleOptimizer`.
'mixed_bfloat16' raises NotImplementedError: NumPy has no bfloat16.

Example:

    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = keras.layers.Dense(4)       # layer.compute_dtype == 'float16', layer.dtype == 'float32'
    keras.mixed_precision.set_global_policy("float32")
"""
from ..core import config as _config
from ..engine.autocast import layer_policy as _layer_policy
from ..engine.dtype_policy import Policy
from ..optimizers.loss_scale_optimizer import LossScaleOptimizer

def global_policy():
    """The policy new layers use when given no dtype: the one set by `set_global_policy`,
    else a policy named after `keras.backend.floatx()`."""
    return Policy(_config.dtype_policy_name())


def set_global_policy(policy):
    """Set the dtype policy of layers created from now on (None: back to `floatx()`)."""
    if policy is None:
        _config.set_dtype_policy_name(None)
        return
    policy = Policy(policy)
    if policy.compute_dtype not in ("float16", "bfloat16", "float32", "float64"):
        raise ValueError("set_global_policy can only be used to set the global policy to "
                         'floating-point policies, such as "float32" and "mixed_float16", but '
                         f"got policy: {policy.name}")
    _layer_policy(policy)     # refuses bfloat16, naming the policy
    _config.set_dtype_policy_name(policy.name)


__all__ = ["Policy", "global_policy", "set_global_policy", "LossScaleOptimizer"]
