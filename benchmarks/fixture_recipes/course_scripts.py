"""Writes tests/fixtures/course_scripts/course_facts.json with tf_keras 2.21 (fid-dls sweep of
the Coursera Deep Learning Specialization / TensorFlow Developer certificate Keras scripts),
from the builders of tests/fixtures/course_scripts/course_models.py, and compiled_untrained.tk.h5
(a compiled, never trained model saved as legacy .h5):

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python course_scripts.py --peer
"""
import json
import os
import sys

import numpy as np

import peer

peer.require_peer()
HERE = peer.fixture_dir("course_scripts")
sys.path.insert(0, HERE)
import course_models as cm  # noqa: E402
import tf_keras as keras  # noqa: E402


def seeded_initializers():
    return {name: np.asarray(make(keras.initializers)(shape)).tolist()
            for name, make, shape in cm.SEEDED_INITIALIZERS}


def shared_lstm_loop():
    keras.backend.clear_session()
    model = cm.shared_lstm_loop_model(keras)
    rng = np.random.default_rng(4)
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype(np.float32) for w in model.get_weights()]
    model.set_weights(weights)
    x = rng.uniform(0, 1, (6, 3, 5)).astype(np.float32)
    a0 = rng.uniform(-1, 1, (6, 4)).astype(np.float32)
    c0 = np.zeros((6, 4), np.float32)
    targets = [np.eye(5, dtype=np.float32)[rng.integers(0, 5, 6)] for _ in range(3)]
    predictions = model.predict([x, a0, c0], verbose=0)
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit([x, a0, c0], targets, epochs=2, batch_size=3, shuffle=False, verbose=0)
    return {"weights": [w.tolist() for w in weights], "x": x.tolist(), "a0": a0.tolist(),
            "targets": [t.tolist() for t in targets],
            "predictions": [p.tolist() for p in predictions],
            "layers": [layer.name for layer in model.layers],
            "output_names": list(model.output_names),
            "history": {k: [float(v) for v in vs] for k, vs in history.history.items()}}


def main():
    facts = {"seeded_initializers": seeded_initializers(),
             "residual_blocks": {k: v.tolist()
                                 for k, v in cm.residual_block_outputs(keras).items()},
             "shared_lstm_loop": shared_lstm_loop()}
    keras.backend.clear_session()
    facts["names_inside_calls"] = cm.names_after_layers_made_inside_calls(keras)
    keras.backend.clear_session()
    untrained = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    untrained.compile(optimizer="adam", loss="mse")
    untrained.save(os.path.join(HERE, "compiled_untrained.tk.h5"))   # optimizer: iteration:0 only
    with open(os.path.join(HERE, "course_facts.json"), "w") as f:
        json.dump(facts, f)


if __name__ == "__main__":
    main()
