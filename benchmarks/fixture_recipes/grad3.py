"""Gradient-convention fixtures (tests/fixtures/grad3/) written by tf_keras 2.21:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python \
        benchmarks/fixture_recipes/grad3.py --peer

conventions.npz: for every case of grad3_cases.py (inputs on kinks and exact ties), the output
and the GradientTape gradients of sum(output * (1, 2, 3, ...)) w.r.t. every input ("<case>/y",
"<case>/g<i>", absent where tf answers None); for every STEP_CASES model, the loss of one
SGD(0.1) train_on_batch and the weights after it ("step_<case>/loss", "step_<case>/w<i>").
"""
import os
import sys

import numpy as np

import peer

peer.require_peer()
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import tensorflow as tf  # noqa: E402
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


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    np.savez_compressed(os.path.join(OUT, "conventions.npz"), **conventions())
