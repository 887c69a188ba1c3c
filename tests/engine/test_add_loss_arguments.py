"""`Layer.add_loss` as Keras 2 scripts call it (Deep Learning with Python, 8.4 VAE):
`add_loss(loss, inputs=inputs)`, lists of losses, and a loss closing over a symbolic tensor
that is not an input of the layer (fails at the first batch, as in tf.keras 2.x)."""
import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras import layers

X = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")


class SquaredMeanLoss(layers.Layer):
    """Adds mean(x^2) the Keras 2 way (`inputs=`) and mean(|x|) through a list with a None."""

    def call(self, inputs):
        self.add_loss(K.mean(K.square(inputs)), inputs=inputs)
        self.add_loss([None, lambda: K.constant(0.5)])
        return inputs


def test_add_loss_accepts_keras2_inputs_argument_and_lists():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, SquaredMeanLoss()(inputs))
    model.compile("sgd", loss=None)
    loss = model.evaluate(X, None, batch_size=8, verbose=0)
    np.testing.assert_allclose(loss, np.mean(X ** 2) + 0.5, rtol=1e-6)


def test_add_loss_rejects_unknown_keyword():
    with pytest.raises(TypeError, match="Unknown keyword arguments"):
        layers.Dense(2).add_loss(K.constant(1.0), input=1)


def test_loss_closing_over_outside_symbolic_tensor_fails_clearly():
    inputs = keras.Input((3,))
    hidden = layers.Dense(2)(inputs)

    class UsesOutsideTensor(layers.Layer):
        def call(self, x):
            self.add_loss(K.mean(K.square(hidden)), inputs=x)   # `hidden` is not an input
            return x

    model = keras.Model(inputs, UsesOutsideTensor()(inputs))
    model.compile("sgd", loss=None)
    with pytest.raises(TypeError, match="not among that call's inputs"):
        model.evaluate(X, None, verbose=0)
