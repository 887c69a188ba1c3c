"""Writes tests/fixtures/dlwp/: what tf_keras 2.21 does where DLwP notebook scripts (both
editions, fid-dlwp sweep) showed minikeras differing.
Run with the peer: TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
    /work/peers/bin/python benchmarks/fixture_recipes/dlwp.py --peer"""
import json
import os

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402


def legacy_config_order():
    """DLwP 8.5's GAN optimizers, RMSprop(lr, clipvalue, decay) (the legacy class, as decay=
    builds it): the key order of get_config(), before and after a training step."""
    orders = {}
    for name, make in (
            ("rmsprop_clipvalue", lambda: keras.optimizers.legacy.RMSprop(
                learning_rate=0.0008, clipvalue=1.0, decay=1e-8)),
            ("adam_clipnorm", lambda: keras.optimizers.legacy.Adam(clipnorm=2.0)),
            ("sgd_plain", lambda: keras.optimizers.legacy.SGD(0.1, momentum=0.9))):
        optimizer = make()
        before = list(optimizer.get_config())
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        model.compile(optimizer, "mse")
        model.train_on_batch(np.array([[1.0, 2.0]], "float32"), np.array([[1.0]], "float32"))
        orders[name] = {"before": before, "after": list(optimizer.get_config())}
    return orders


def main():
    facts = {"legacy_config_order": legacy_config_order()}
    folder = fixture_dir("dlwp")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "dlwp_facts.json"), "w") as handle:
        json.dump(facts, handle, indent=1, sort_keys=False)


if __name__ == "__main__":
    main()
