"""Whole "Deep Learning with Python" notebook scripts (both editions) run with minikeras and
compared with tf_keras 2.21 (fid-dlwp sweep): what differed, pinned with closed forms or with
facts the peer recorded (tests/fixtures/dlwp/, benchmarks/fixture_recipes/dlwp.py)."""
import json
import os

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "dlwp")


def _facts():
    with open(os.path.join(FIXTURES, "dlwp_facts.json")) as handle:
        return json.load(handle)


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


LEGACY_OPTIMIZERS = {
    "rmsprop_clipvalue": lambda: keras.optimizers.legacy.RMSprop(
        learning_rate=0.0008, clipvalue=1.0, decay=1e-8),
    "adam_clipnorm": lambda: keras.optimizers.legacy.Adam(clipnorm=2.0),
    "sgd_plain": lambda: keras.optimizers.legacy.SGD(0.1, momentum=0.9),
}


@pytest.mark.parametrize("case", sorted(LEGACY_OPTIMIZERS))
def test_legacy_optimizer_config_keys_in_tf_keras_order(case):
    """DLwP 8.5 prints the GAN's RMSprop(lr, clipvalue, decay) config: the clipping entry comes
    right after the name, before the learning rate, as tf.keras' base class puts it."""
    expected = _facts()["legacy_config_order"][case]
    optimizer = LEGACY_OPTIMIZERS[case]()
    assert list(optimizer.get_config()) == expected["before"]
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer, "mse")
    model.train_on_batch(np.array([[1.0, 2.0]], "float32"), np.array([[1.0]], "float32"))
    assert list(optimizer.get_config()) == expected["after"]
