"""Writes the TensorFlow-checkpoint fixtures with the peer (tf_keras 2.21; never run by the
tests), for the models of tests/fixtures/ckpt/ckpt_models.py:

- `<case>/ckpt.index`, `<case>/ckpt.data-00000-of-00001`, `<case>/checkpoint`: tf_keras'
  `model.save_weights('<case>/ckpt')` (trained cases: after 2 epochs);
- `expected.npz`: per case the weights (`<case>/w<i>`), optimizer variables (`<case>/o<i>`,
  Nadam's `<case>/u_product`) and the weights after one more batch from the saved state
  (`<case>/n<i>`);
- `peer_reads_ours.json`: tf_keras loading the checkpoint minikeras writes for each case
  (`assert_consumed()`, values equal to minikeras' own, tf_keras' keys) and what tf_keras
  writes back for the same values (whether the bytes are identical).

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python ckpt.py --peer
(minikeras runs in a subprocess: $MINIKERAS_PYTHON, default /work/devenv/bin/python)
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import peer

peer.require_peer()
HERE = peer.fixture_dir("ckpt")
REPO = os.path.normpath(os.path.join(HERE, os.pardir, os.pardir, os.pardir))
sys.path.insert(0, HERE)
import ckpt_models as cm  # noqa: E402
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

OURS_WRITER = """
import sys, numpy as np
sys.path.insert(0, {here!r})
import minikeras as keras, ckpt_models as cm
out = {{}}
for case in cm.CASES:
    model, x, y = cm.build(keras, case)
    if cm.TRAINED[case]:
        cm.train(model, x, y)
    model.save_weights({tmp!r} + "/" + case + "/ckpt")
    for i, w in enumerate(model.get_weights()):
        out[case + "/w" + str(i)] = w
    if cm.TRAINED[case]:
        for i, v in enumerate(model.optimizer.variables):
            out[case + "/o" + str(i)] = np.asarray(v.data)
np.savez({tmp!r} + "/ours.npz", **out)
"""


def write_theirs():
    expected = {}
    for case in cm.CASES:
        model, x, y = cm.build(keras, case)
        if cm.TRAINED[case]:
            cm.train(model, x, y)
        model.save_weights(os.path.join(HERE, case, "ckpt"))
        for i, w in enumerate(model.get_weights()):
            expected[f"{case}/w{i}"] = w
        if cm.TRAINED[case]:
            for i, v in enumerate(model.optimizer.variables):
                expected[f"{case}/o{i}"] = v.numpy()
            if hasattr(model.optimizer, "_u_product"):        # Nadam's, outside `variables`
                expected[f"{case}/u_product"] = model.optimizer._u_product.numpy()
            cm.next_step(model, x, y)
            for i, w in enumerate(model.get_weights()):
                expected[f"{case}/n{i}"] = w
    np.savez(os.path.join(HERE, "expected.npz"), **expected)


def read_ours():
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, PYTHONPATH=REPO)
    python = os.environ.get("MINIKERAS_PYTHON", "/work/devenv/bin/python")
    subprocess.run([python, "-c", OURS_WRITER.format(here=HERE, tmp=tmp)], check=True, env=env)
    ours = np.load(os.path.join(tmp, "ours.npz"))
    report = {}
    for case in cm.CASES:
        model, _, _ = cm.build(keras, case)
        if cm.TRAINED[case]:
            with tf.name_scope(model.optimizer.name):   # slot names as fit gives them
                model.optimizer.build(model.trainable_variables)
        prefix = os.path.join(tmp, case, "ckpt")
        status = model.load_weights(prefix)
        try:
            status.assert_consumed()
            consumed = "passed"
        except AssertionError as error:
            consumed = f"AssertionError: {error}"
        weights = model.get_weights()
        equal = all(np.array_equal(w, ours[f"{case}/w{i}"]) for i, w in enumerate(weights))
        entry = {"assert_consumed": consumed, "weights_equal": bool(equal),
                 "keys": sorted(name for name, _ in tf.train.list_variables(prefix))}
        if cm.TRAINED[case]:
            variables = model.optimizer.variables
            entry["optimizer_equal"] = all(
                np.array_equal(v.numpy(), ours[f"{case}/o{i}"]) for i, v in enumerate(variables))
        rewritten = os.path.join(tmp, "rewrite", case, "ckpt")
        model.save_weights(rewritten)
        for suffix in (".index", ".data-00000-of-00001"):
            with open(prefix + suffix, "rb") as a, open(rewritten + suffix, "rb") as b:
                entry[f"rewrite_identical{suffix}"] = a.read() == b.read()
        report[case] = entry
    with open(os.path.join(HERE, "peer_reads_ours.json"), "w") as handle:
        json.dump(report, handle, indent=1, sort_keys=True)


if __name__ == "__main__":
    write_theirs()
    read_ours()
