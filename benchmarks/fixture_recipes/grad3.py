"""Gradient-convention fixtures (tests/fixtures/grad3/) written by tf_keras 2.21:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python \
        benchmarks/fixture_recipes/grad3.py --peer

conventions.npz: for every case of grad3_cases.py (inputs on kinks and exact ties), the output
and the GradientTape gradients of sum(output * (1, 2, 3, ...)) w.r.t. every input ("<case>/y",
"<case>/g<i>", absent where tf answers None); for every STEP_CASES model, the loss of one
SGD(0.1) train_on_batch and the weights after it ("step_<case>/loss", "step_<case>/w<i>").

penalties.npz: keras.io WGAN-GP's gradient penalty (nested GradientTape) of the critics of
grad3_cases.CRITICS (a conditional one with an Embedding of labels, a SeparableConv2D +
DepthwiseConv2D one, an LSTM/GRU/SimpleRNN one) with seeded weights and inputs, and its
gradient w.r.t. every trainable weight ("<critic>/gp", "<critic>/grad<i>", absent where tf
answers None).

improved_wgan_evaluate.npz (a second process, `--graph`: tf.compat.v1.disable_eager_execution(),
as the Keras 2.0-2.3 scripts ran): keras-contrib's improved_wgan discriminator model
(grad2_models.improved_wgan_critic_model, Dense critic) and its `evaluate` before and after
one train_on_batch, and `test_on_batch`.
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

import grad3_cases as cases  # noqa: E402

OUT = peer.fixture_dir("grad3")


def conventions():
    arrays = {}
    for name in cases.CASES:
        for key, value in cases.run_case(keras, tf.GradientTape, tf.Variable, name).items():
            arrays[f"{name}/{key}"] = value
    for name in cases.STEP_CASES:
        for key, value in cases.run_step(keras, name).items():
            arrays[f"step_{name}/{key}"] = value
    return arrays


def penalties():
    arrays = {}
    for seed, name in enumerate(sorted(cases.CRITICS)):
        critic = cases.CRITICS[name][0](keras)
        with tf.GradientTape() as tape:
            gp = cases.critic_penalty(tf, critic, name, 40 + seed)
        arrays[f"{name}/gp"] = gp.numpy()
        for i, g in enumerate(tape.gradient(gp, critic.trainable_weights)):
            if g is not None:
                arrays[f"{name}/grad{i}"] = tf.convert_to_tensor(g).numpy()
    return arrays


def improved_wgan_evaluate():
    import grad2_models
    critic = grad2_models.dense_critic(keras)
    critic.set_weights(grad2_models.seeded_weights(critic, 11))
    model = grad2_models.improved_wgan_critic_model(keras, critic)
    x, y = cases.improved_wgan_batch()
    before = model.evaluate(x, y, verbose=0, batch_size=3)
    on_batch = model.test_on_batch(x, y)
    model.train_on_batch(x, y)
    after = model.evaluate(x, y, verbose=0, batch_size=3)
    return {"before": np.float32(before), "test_on_batch": np.float32(on_batch),
            "after": np.float32(after)}


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    if GRAPH_MODE:
        np.savez(os.path.join(OUT, "improved_wgan_evaluate.npz"), **improved_wgan_evaluate())
    else:
        np.savez_compressed(os.path.join(OUT, "conventions.npz"), **conventions())
        np.savez(os.path.join(OUT, "penalties.npz"), **penalties())
        subprocess.run([sys.executable, os.path.abspath(__file__), "--peer", "--graph"],
                       check=True)
