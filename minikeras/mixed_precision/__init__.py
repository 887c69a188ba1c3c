"""`keras.mixed_precision`: dtype policies.

minikeras computes in one float type per layer, so the single-dtype policies ('float32',
'float64', 'float16', ...) work as in tf.keras: `set_global_policy('float64')` makes new layers
float64. The mixed policies ('mixed_float16', 'mixed_bfloat16': float16 math on float32
variables, with loss scaling) are not implemented and raise NotImplementedError when a layer or
the global setting would use them.

Example:

    keras.mixed_precision.set_global_policy("float64")
    layer = keras.layers.Dense(4)       # layer.dtype == 'float64'
    keras.mixed_precision.set_global_policy("float32")
"""
from ..core import config as _config
from ..engine.dtype_policy import MIXED_POLICIES, Policy

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
    if policy.name in MIXED_POLICIES or policy.compute_dtype == "bfloat16":
        raise NotImplementedError(
            f"The dtype policy {policy.name!r} is not supported by minikeras: layers "
            "compute in a single float dtype on NumPy. Use 'float32' (the default).")
    if policy.compute_dtype not in ("float16", "float32", "float64"):
        raise ValueError("set_global_policy can only be used to set the global policy to "
                         'floating-point policies, such as "float32" and "mixed_float16", but '
                         f"got policy: {policy.name}")
    _config.set_dtype_policy_name(policy.name)


class LossScaleOptimizer:
    """Loss scaling exists to keep float16 gradients from underflowing; minikeras has no float16
    mixed precision, so this wrapper is not implemented."""

    def __init__(self, inner_optimizer, dynamic=True, initial_scale=None,
                 dynamic_growth_steps=None):
        raise NotImplementedError(
            "keras.mixed_precision.LossScaleOptimizer is not supported by minikeras: it serves "
            "the mixed float16 policies, which minikeras does not implement. Use the inner "
            "optimizer directly.")


__all__ = ["Policy", "global_policy", "set_global_policy", "LossScaleOptimizer"]
