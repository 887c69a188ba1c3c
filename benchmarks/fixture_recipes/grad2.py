"""Gradient-penalty fixtures (tests/fixtures/grad2/) written by tf_keras 2.21:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python \
        benchmarks/fixture_recipes/grad2.py --peer

penalties.npz: for a Dense and a Conv2D critic (grad2_models.py) with seeded weights and
inputs, keras.io WGAN-GP's gradient penalty (nested GradientTape) and its gradient with
respect to every weight (absent where tf answers None). wgan_steps.npz: three WGAN-GP steps (a critic step with the penalty,
then a generator step, Adam) with fixed noise and interpolation factors, by a hand-written
loop and by `fit` with an overridden `train_step`: the losses of each step and the final
weights. improved_wgan.npz (a second process: tf.compat.v1.disable_eager_execution(), as
the Keras 2.0-2.3 scripts ran): keras-contrib's improved_wgan discriminator model compiled
with its `K.gradients` penalty loss (grad2_models.improved_wgan_critic_model) for the Dense
and Conv2D critics, three train_on_batch results and the final weights.
"""
import os
import sys

import numpy as np

import peer

peer.require_peer()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import subprocess  # noqa: E402

import tensorflow as tf  # noqa: E402

GRAPH_MODE = "--graph" in sys.argv
if GRAPH_MODE:
    tf.compat.v1.disable_eager_execution()
import tf_keras as keras  # noqa: E402

import grad2_models as models  # noqa: E402

OUT = peer.fixture_dir("grad2")
GP_WEIGHT = 10.0


def penalty_case(name, critic, sample_shape, seed):
    critic.set_weights(models.seeded_weights(critic, seed))
    real = models.batch(seed + 1, 3, *sample_shape)
    fake = models.batch(seed + 2, 3, *sample_shape)
    alpha = np.random.default_rng(seed + 3).uniform(size=(3,) + (1,) * len(sample_shape)) \
        .astype("float32")
    with tf.GradientTape() as tape:
        gp = models.gradient_penalty(tf, critic, tf.constant(real), tf.constant(fake),
                                     tf.constant(alpha))
    grads = tape.gradient(gp, critic.trainable_weights)
    out = {f"{name}_real": real, f"{name}_fake": fake, f"{name}_alpha": alpha,
           f"{name}_gp": gp.numpy()}
    for i, (w, g) in enumerate(zip(critic.get_weights(), grads)):
        out[f"{name}_weight{i}"] = w
        if g is not None:           # None: the penalty does not depend on it (last bias)
            out[f"{name}_grad{i}"] = g.numpy()
    return out


def wgan_data():
    real = models.batch(20, 3, 4)
    noise = np.stack([models.batch(21 + step, 3, 3) for step in range(3)])
    alphas = np.stack([np.random.default_rng(30 + step).uniform(size=(3, 1)).astype("float32")
                       for step in range(3)])
    return real, noise, alphas


def wgan_models():
    critic, generator = models.dense_critic(keras), models.generator(keras)
    critic.set_weights(models.seeded_weights(critic, 11))
    generator.set_weights(models.seeded_weights(generator, 12))
    return critic, generator


def wgan_step(critic, generator, d_opt, g_opt, real, noise, alpha):
    with tf.GradientTape() as tape:
        fake = generator(noise, training=True)
        d_cost = tf.reduce_mean(critic(fake, training=True)) - \
            tf.reduce_mean(critic(real, training=True))
        gp = models.gradient_penalty(tf, critic, tf.constant(real), fake, tf.constant(alpha))
        d_loss = d_cost + gp * GP_WEIGHT
    d_opt.apply_gradients(zip(tape.gradient(d_loss, critic.trainable_variables),
                              critic.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = -tf.reduce_mean(critic(generator(noise, training=True), training=True))
    g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables),
                              generator.trainable_variables))
    return float(d_loss), float(g_loss)


class WGAN(keras.Model):
    def __init__(self, critic, generator):
        super().__init__()
        self.critic, self.generator = critic, generator

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    def train_step(self, data):
        real, noise, alpha = data[0]
        d_loss, g_loss = wgan_step_in_graph(self, real, noise, alpha)
        return {"d_loss": d_loss, "g_loss": g_loss}


def wgan_step_in_graph(model, real, noise, alpha):
    critic, generator = model.critic, model.generator
    with tf.GradientTape() as tape:
        fake = generator(noise, training=True)
        d_cost = tf.reduce_mean(critic(fake, training=True)) - \
            tf.reduce_mean(critic(real, training=True))
        gp = models.gradient_penalty(tf, critic, real, fake, alpha)
        d_loss = d_cost + gp * GP_WEIGHT
    grads = tape.gradient(d_loss, critic.trainable_variables)
    model.d_optimizer.apply_gradients(zip(grads, critic.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = -tf.reduce_mean(critic(generator(noise, training=True), training=True))
    grads = tape.gradient(g_loss, generator.trainable_variables)
    model.g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
    return d_loss, g_loss


def improved_wgan():
    out = {}
    for name, build, shape, seed in [("dense", models.dense_critic, (4,), 40),
                                     ("conv", models.conv_critic, (7, 7, 2), 50)]:
        critic = build(keras)
        critic.set_weights(models.seeded_weights(critic, seed))
        model = models.improved_wgan_critic_model(keras, critic)
        real, fake = models.batch(seed + 1, 4, *shape), models.batch(seed + 2, 4, *shape)
        alpha = np.random.default_rng(seed + 3).uniform(size=(4,) + (1,) * len(shape)) \
            .astype("float32")
        ones = np.ones((4, 1), "float32")
        results = [model.train_on_batch([real, fake, alpha], [ones, -ones, 0 * ones])
                   for _ in range(3)]
        out.update({f"{name}_real": real, f"{name}_fake": fake, f"{name}_alpha": alpha,
                    f"{name}_results": np.array(results, "float32")})
        out.update({f"{name}_weight{i}": w for i, w in enumerate(critic.get_weights())})
        print(name, results)
    np.savez(os.path.join(OUT, "improved_wgan.npz"), **out)


def main():
    subprocess.run([sys.executable, os.path.abspath(__file__), "--peer", "--graph"],
                   check=True)
    out = {}
    out.update(penalty_case("dense", models.dense_critic(keras), (4,), 1))
    out.update(penalty_case("conv", models.conv_critic(keras), (7, 7, 2), 5))
    np.savez(os.path.join(OUT, "penalties.npz"), **out)

    real, noise, alphas = wgan_data()
    critic, generator = wgan_models()
    d_opt, g_opt = keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.02)
    losses = [wgan_step(critic, generator, d_opt, g_opt, real, noise[s], alphas[s])
              for s in range(3)]
    steps = {"real": real, "noise": noise, "alphas": alphas,
             "loop_losses": np.array(losses, "float32")}
    steps.update({f"loop_critic{i}": w for i, w in enumerate(critic.get_weights())})
    steps.update({f"loop_generator{i}": w for i, w in enumerate(generator.get_weights())})

    critic, generator = wgan_models()
    wgan = WGAN(critic, generator)
    wgan.compile(keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.02))
    # one batch per epoch: the same real samples, each epoch's noise and alphas
    fit_losses = []
    for s in range(3):
        history = wgan.fit([real, noise[s], alphas[s]], batch_size=3, epochs=1,
                           shuffle=False, verbose=0)
        fit_losses.append([history.history["d_loss"][0], history.history["g_loss"][0]])
    steps["fit_losses"] = np.array(fit_losses, "float32")
    steps.update({f"fit_critic{i}": w for i, w in enumerate(critic.get_weights())})
    np.savez(os.path.join(OUT, "wgan_steps.npz"), **steps)
    print(out["dense_gp"], out["conv_gp"], losses, fit_losses)


if GRAPH_MODE:
    improved_wgan()
else:
    main()
