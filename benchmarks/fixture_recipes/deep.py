"""Fixtures of tests/applications/test_deep_numerics.py (fid-deep): deep keras.applications
networks computed by tf_keras 2.21 in float64 and float32 from seeded weights, and tf_keras'
float64 rules for constants (optimizer steps, batch-norm moving averages, Rescaling).

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python \\
        benchmarks/fixture_recipes/deep.py --peer [ARCHITECTURE ...]

Writes tests/fixtures/deep/deep.npz and deep.json (only the architectures named, merged with
what is there; all by default; `--constants` records only the float64 constant cases). The weights are never stored: deep_cases.py draws them from a
seed on both sides."""
import hashlib
import importlib.util
import json
import os
import sys

import numpy as np

import peer

peer.require_peer()

import tensorflow as tf  # noqa: E402
import tf_keras  # noqa: E402

OUT = peer.fixture_dir("deep")
ARRAY_KEYS = ("inference_probs", "training_probs", "after_inference_probs",
              "inference_probe_maxabs", "inference_probe_samples", "training_probe_maxabs",
              "training_probe_samples", "gradient_maxabs", "gradient_samples", "update_maxabs",
              "update_samples", "moving_maxabs", "moving_samples")


def load_cases():
    spec = importlib.util.spec_from_file_location("deep_cases",
                                                  os.path.join(OUT, "deep_cases.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def names_digest(names):
    return hashlib.sha256("\n".join(names).encode()).hexdigest()


def record_architecture(cases, name, arrays):
    exact = cases.run(tf_keras, tf.GradientTape, name, "float64")
    single = cases.run(tf_keras, tf.GradientTape, name, "float32")
    for key in ARRAY_KEYS:
        arrays[f"{name}/{key}"] = exact[key]
    return {"params": exact["params"], "weights": len(exact["weight_names"]),
            "weight_names_sha256": names_digest(exact["weight_names"]),
            "summary_sha256": hashlib.sha256(exact["summary"].encode()).hexdigest(),
            "summary_lines": len(exact["summary"].splitlines()),
            "probes": exact["probes"], "loss": exact["loss"], "float32_loss": single["loss"],
            "float32_distances": cases.distances(single, exact)}


def main():
    cases = load_cases()
    names = sys.argv[1:] or list(cases.ARCHITECTURES)
    if names == ["--constants"]:
        names = []
    json_path, npz_path = os.path.join(OUT, "deep.json"), os.path.join(OUT, "deep.npz")
    facts = {"architectures": {}}
    arrays = {}
    if os.path.exists(json_path):
        with open(json_path) as f:
            facts = json.load(f)
        arrays = dict(np.load(npz_path))
    facts["constants_float64"] = cases.float64_constants(
        tf_keras, lambda value: tf.Variable(value, dtype=tf.float64),
        lambda value: tf.constant(value, tf.float64))
    for name in [None] + names:                   # None: write the constants first
        if name is not None:
            print(name, flush=True)
            facts["architectures"][name] = record_architecture(cases, name, arrays)
        with open(json_path, "w") as f:
            json.dump(facts, f, indent=1, sort_keys=True)
        np.savez_compressed(npz_path, **arrays)


if __name__ == "__main__":
    main()
