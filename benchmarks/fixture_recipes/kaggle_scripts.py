"""Writes tests/fixtures/kaggle_scripts/: what tf_keras 2.21 does with patterns of popular
Kaggle kernels (fid-kaggle sweep) where minikeras differed.
Run with the peer: TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
    /work/peers/bin/python benchmarks/fixture_recipes/kaggle_scripts.py --peer"""
import json
import os
import random

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402


class LoggingSequence(keras.utils.Sequence):
    """Six batches of a data-generator kernel; remembers which batch was asked for."""

    def __init__(self):
        rng = np.random.RandomState(0)
        self.x = rng.rand(6, 4, 3).astype("float32")
        self.y = rng.rand(6, 4, 1).astype("float32")
        self.asked = []

    def __len__(self):
        return 6

    def __getitem__(self, index):
        self.asked.append(int(index))
        return self.x[index], self.y[index]


def sequence_batch_order():
    """fit(Sequence) shuffles the batch order by default, with Python's `random`."""
    model = keras.Sequential([keras.layers.Dense(1, input_shape=(3,))])
    weights = [np.array([[0.5], [-0.25], [0.125]], "float32"), np.array([0.1], "float32")]
    model.set_weights(weights)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    sequence = LoggingSequence()
    random.seed(5)
    history = model.fit(sequence, epochs=3, verbose=0)
    return {"seed": 5, "epochs": 3, "initial_weights": [w.tolist() for w in weights],
            "asked": sequence.asked, "loss": history.history["loss"],
            "final_weights": [w.tolist() for w in model.get_weights()]}


if __name__ == "__main__":
    out = fixture_dir("kaggle_scripts")
    os.makedirs(out, exist_ok=True)
    facts = {"sequence_batch_order": sequence_batch_order()}
    with open(os.path.join(out, "kaggle_facts.json"), "w") as f:
        json.dump(facts, f, indent=1)
