"""Whole "Deep Learning with Python" notebook scripts (both editions) run with minikeras and
compared with tf_keras 2.21 (fid-dlwp sweep): what differed, pinned with closed forms or with
facts the peer recorded (tests/fixtures/dlwp/, benchmarks/fixture_recipes/dlwp.py)."""
import numpy as np

import minikeras as keras
from minikeras import backend as K
from minikeras import layers


def test_k_function_gives_python_numbers_for_scalar_outputs():
    """DLwP 5.4 / 8.2 print `loss_value` from `K.function`: tf.keras' eager function hands a
    scalar back as a Python float (arrays stay NumPy arrays)."""
    inputs = keras.Input((3,))
    outputs = layers.Dense(2, kernel_initializer="ones", bias_initializer="zeros")(inputs)
    fetch = K.function([inputs], [K.mean(outputs), outputs, K.sum(outputs, axis=1)])
    loss_value, full, sums = fetch([np.ones((2, 3), "float32")])
    assert type(loss_value) is float and loss_value == 3.0
    assert isinstance(full, np.ndarray) and full.shape == (2, 2) and full.dtype == np.float32
    np.testing.assert_allclose(sums, [6.0, 6.0])
    single = K.function([inputs], K.max(outputs))(np.ones((1, 3), "float32"))
    assert type(single) is float and single == 3.0
