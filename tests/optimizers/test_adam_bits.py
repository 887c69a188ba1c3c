"""Adam, AMSGrad and AdamW give tf.keras' float32 weights bit for bit (its rounding order:
`(m * alpha) / (sqrt(v) + epsilon)`), recorded by tf.keras 2.21 over 6 steps."""
import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path

MAKERS = {"adam": lambda: keras.optimizers.Adam(1e-3),
          "amsgrad": lambda: keras.optimizers.Adam(0.01, beta_1=0.8, beta_2=0.95, amsgrad=True),
          "adamw": lambda: keras.optimizers.AdamW(3e-3, weight_decay=0.05)}


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_adam_weights_are_tf_keras_bits(name):
    recorded = np.load(fixture_path("optimizers", "adam_bits.npz"))
    variable = keras.Variable(recorded["w0"].copy(), name="w")
    optimizer = MAKERS[name]()
    for step, gradient in enumerate(recorded["grads"]):
        optimizer.apply_gradients([(gradient, variable)])
        np.testing.assert_array_equal(variable.numpy(), recorded[name][step],
                                      err_msg=f"{name} step {step}")
