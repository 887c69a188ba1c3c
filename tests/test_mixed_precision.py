"""keras.mixed_precision: single-dtype policies work as in tf.keras, mixed ones raise."""
import numpy as np
import pytest

import minikeras as keras

mixed_precision = keras.mixed_precision


@pytest.fixture(autouse=True)
def _restore_global_policy():
    yield
    mixed_precision.set_global_policy(None)


def test_default_policy_follows_floatx():
    assert mixed_precision.global_policy() == mixed_precision.Policy("float32")
    assert keras.layers.Dense(2).dtype_policy.name == "float32"


def test_policy_attributes():
    mixed = mixed_precision.Policy("mixed_float16")
    assert (mixed.compute_dtype, mixed.variable_dtype) == ("float16", "float32")
    plain = mixed_precision.Policy("float64")
    assert (plain.compute_dtype, plain.variable_dtype) == ("float64", "float64")
    assert mixed_precision.Policy.from_config(plain.get_config()) == plain
    assert repr(plain) == '<Policy "float64">'


def test_global_float64_policy_makes_float64_layers_and_outputs():
    mixed_precision.set_global_policy("float64")
    layer = keras.layers.Dense(3)
    out = layer(np.ones((2, 4), np.float32))
    assert layer.dtype == "float64" and layer.kernel.dtype == np.float64
    assert np.asarray(out).dtype == np.float64
    mixed_precision.set_global_policy(None)
    assert keras.layers.Dense(3).dtype == "float32"


def test_policy_object_as_layer_dtype():
    layer = keras.layers.Dense(2, dtype=mixed_precision.Policy("float64"))
    assert layer.dtype == "float64"


@pytest.mark.parametrize("name", ["mixed_float16", "mixed_bfloat16", "bfloat16"])
def test_unsupported_policies_raise_naming_them(name):
    with pytest.raises(NotImplementedError, match=name):
        mixed_precision.set_global_policy(name)
    assert mixed_precision.global_policy().name == "float32"


def test_mixed_policy_as_layer_dtype_raises():
    with pytest.raises(NotImplementedError, match="mixed_float16"):
        keras.layers.Dense(2, dtype="mixed_float16")


def test_bad_policies():
    with pytest.raises(ValueError, match="floating-point policies"):
        mixed_precision.set_global_policy("int32")
    with pytest.raises(ValueError, match="Cannot convert value foo"):
        mixed_precision.Policy("foo")
    with pytest.raises(TypeError, match="must be a string"):
        mixed_precision.Policy(3)


def test_loss_scale_optimizer_is_not_implemented():
    with pytest.raises(NotImplementedError, match="LossScaleOptimizer"):
        mixed_precision.LossScaleOptimizer(keras.optimizers.SGD())
