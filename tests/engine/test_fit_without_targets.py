"""fit(x) with no targets when the loss comes only from `add_loss` (tf.keras 2.x semantics)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import layers


class ReconstructionLoss(layers.Layer):
    """Adds mean((x - reconstruction)^2) and passes the reconstruction through."""

    def call(self, inputs):
        x, reconstruction = inputs
        self.add_loss(keras.backend.mean(keras.backend.square(x - reconstruction)))
        return reconstruction


def autoencoder():
    inputs = keras.Input((4,))
    reconstruction = layers.Dense(4)(layers.Dense(2, activation="tanh")(inputs))
    return keras.Model(inputs, ReconstructionLoss()([inputs, reconstruction]))


X = np.random.default_rng(0).normal(size=(10, 4)).astype("float32")


def batch_losses(model, x, batch_size):
    losses = []
    for start in range(0, len(x), batch_size):
        batch = x[start:start + batch_size]
        losses.append(np.mean(np.square(batch - model.predict(batch, verbose=0))))
    return losses


@pytest.mark.parametrize("loss", [None, "absent"])
def test_add_loss_only_trains_without_targets(loss):
    model = autoencoder()
    if loss == "absent":
        model.compile(keras.optimizers.SGD(0.1))
    else:
        model.compile(keras.optimizers.SGD(0.1), loss=None)
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(X, epochs=5, batch_size=4, shuffle=False, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_epoch_loss_is_the_unweighted_mean_of_batch_losses():
    """Without targets there is no batch size to weigh by: each batch counts once, as in
    tf.keras (10 samples in batches of 4, 4, 2)."""
    model = autoencoder()
    model.compile(keras.optimizers.SGD(0.0))      # nothing moves: losses are reproducible
    expected = batch_losses(model, X, 4)
    history = model.fit(X, epochs=1, batch_size=4, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history["loss"][0], np.mean(expected), rtol=1e-5)
    assert abs(np.mean(expected) - np.average(expected, weights=[4, 4, 2])) > 1e-4
    np.testing.assert_allclose(model.evaluate(X, batch_size=4, verbose=0), np.mean(expected),
                               rtol=1e-5)


def test_errors_as_tf_keras():
    model = keras.Sequential([layers.Dense(2, input_shape=(4,))])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="Target data is missing. Your model was compiled with "
                                         "loss=mse, and therefore expects target data"):
        model.fit(X, verbose=0)
    model.compile("sgd")
    with pytest.raises(ValueError, match="No loss found. You may have forgotten to provide a "
                                         "`loss` argument"):
        model.fit(X, verbose=0)
