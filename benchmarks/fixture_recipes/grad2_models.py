"""The small critics and generator of the grad2 fixtures, built the same way by tf_keras (the
recipe grad2.py) and minikeras (tests/engine/test_higher_order_gradients.py): `keras` is the
library's module. Weights are set from a seeded NumPy generator, never initialisers."""
import numpy as np


def dense_critic(keras):
    return keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(6, activation="tanh"),
        keras.layers.Dense(5),
        keras.layers.LeakyReLU(0.2),
        keras.layers.Dense(3, activation="sigmoid"),
        keras.layers.Dense(1),
    ])


def conv_critic(keras):
    return keras.Sequential([
        keras.Input((7, 7, 2)),
        keras.layers.Conv2D(4, 3, strides=2, padding="same"),
        keras.layers.LeakyReLU(0.2),
        keras.layers.Conv2D(3, 2, strides=1, padding="valid", activation="tanh"),
        keras.layers.Conv2D(2, (2, 1), strides=(1, 2), padding="same", activation="softplus"),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ])


def generator(keras):
    return keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(5, activation="relu"),
        keras.layers.Dense(4),
    ])


def seeded_weights(model, seed, scale=0.5):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(w.shape) * scale).astype("float32") for w in model.get_weights()]


def batch(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def gradient_penalty(tf_like, critic, real, fake, alpha):
    """keras.io's WGAN-GP penalty: nested tape around the critic of interpolated samples.
    `tf_like` gives GradientTape, sqrt, reduce_sum, square, reduce_mean."""
    diff = fake - real
    interpolated = real + alpha * diff
    with tf_like.GradientTape() as gp_tape:
        gp_tape.watch(interpolated)
        pred = critic(interpolated, training=True)
    grads = gp_tape.gradient(pred, [interpolated])[0]
    axes = list(range(1, len(grads.shape)))
    norm = tf_like.sqrt(tf_like.reduce_sum(tf_like.square(grads), axis=axes))
    return tf_like.reduce_mean((norm - 1.0) ** 2)


def improved_wgan_critic_model(keras, critic, penalty_weight=10.0):
    """keras-contrib's improved_wgan discriminator model: the critic of real, fake and
    interpolated samples (the interpolation factors an input, not drawn), compiled with the
    Wasserstein losses and the gradient penalty loss that calls `K.gradients(y_pred,
    averaged_samples)` on the interpolated samples' Keras tensor."""
    from functools import partial
    K = keras.backend

    class WeightedAverage(keras.layers.Layer):
        def call(self, inputs):
            real, fake, alpha = inputs
            return alpha * real + (1 - alpha) * fake

    def wasserstein_loss(y_true, y_pred):
        return K.mean(y_true * y_pred)

    def gradient_penalty_loss(y_true, y_pred, averaged_samples, gradient_penalty_weight):
        gradients = K.gradients(y_pred, averaged_samples)[0]
        gradients_sqr = K.square(gradients)
        gradients_sqr_sum = K.sum(gradients_sqr, axis=list(range(1, len(gradients_sqr.shape))))
        gradient_l2_norm = K.sqrt(gradients_sqr_sum)
        return K.mean(gradient_penalty_weight * K.square(1 - gradient_l2_norm))

    shape = tuple(critic.inputs[0].shape[1:])
    real, fake = keras.Input(shape), keras.Input(shape)
    alpha = keras.Input((1,) * len(shape))
    averaged = WeightedAverage()([real, fake, alpha])
    model = keras.Model([real, fake, alpha], [critic(real), critic(fake), critic(averaged)])
    penalty = partial(gradient_penalty_loss, averaged_samples=averaged,
                      gradient_penalty_weight=penalty_weight)
    penalty.__name__ = "gradient_penalty"
    model.compile(keras.optimizers.legacy.Adam(0.01),
                  loss=[wasserstein_loss, wasserstein_loss, penalty])
    return model
