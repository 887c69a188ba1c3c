"""Writes tests/fixtures/small_diffs4/ (fid-small4 sweep) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python small_diffs4.py --peer

tf_keras 2.21 runs the cases of tests/fixtures/small_diffs4/cases.py (the tests run them with
minikeras) and writes:
- `tf_keras_facts.json`: `initializer_results` / `initializer_uses` (what built-in
  initializers return and refuse; their results handed to K.variable, set_weights, custom
  initializers), `build_configs` / `built_twice` (get_build_config after direct builds, calls
  and build_from_config; weights of layers built twice), `symbolic_reprs` (KerasTensors of
  K.shape, K.reshape to shape tensors, K.batch_flatten, K.random_normal: their reprs with
  `inferred_value`), `symbolic_models` (models of K.dot / K.batch_dot / a reshape to shape
  tensors: layers, summary, predictions, get_config and .h5 round trips);
  `blocks_reloaded`: what tf_keras' own reload of `blocks.keras` gives.
- `blocks.keras`: tf_keras' native file of `cases.blocks_model` (custom layers building
  sub-layers in build(), serializing a built sub-layer, a get/build_from_config pair).
"""
import json
import os
import sys
import tempfile

from peer import fixture_dir, require_peer

require_peer()
FOLDER = fixture_dir("small_diffs4")
sys.path.insert(0, FOLDER)

import tf_keras as keras  # noqa: E402

import cases  # noqa: E402


def main():
    facts = {name: getattr(cases, name)(keras) for name in (
        "initializer_results", "initializer_uses", "build_configs", "built_twice",
        "symbolic_reprs", "backend_eager", "ctc_on_keras_tensors")}
    with tempfile.TemporaryDirectory() as scratch:
        facts["symbolic_models"] = cases.symbolic_models(keras, scratch)
    keras.backend.clear_session()
    path = os.path.join(FOLDER, "blocks.keras")
    cases.blocks_model(keras).save(path)
    facts["blocks_reloaded"] = cases.reloaded_blocks(keras, path)
    with open(os.path.join(FOLDER, "tf_keras_facts.json"), "w") as handle:
        json.dump(facts, handle, sort_keys=True)


if __name__ == "__main__":
    main()
