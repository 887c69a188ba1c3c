"""Writes tests/fixtures/keras2_examples_rerun/: run with the peer venv,
`python keras2_examples_rerun.py --peer` (tf_keras 2.21).

doodle_vgg19_graph.json: neural_doodle's image model, `VGG19(include_top=False,
input_tensor=K.concatenate([K.variable, K.placeholder, K.zeros]))`, built in graph mode
(tf.compat.v1.disable_eager_execution(), Keras 2 semantics): each layer's name, class, output
shape and parameter count."""
import json
import os
import sys

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import tensorflow as tf  # noqa: E402

tf.compat.v1.disable_eager_execution()
import tf_keras as keras  # noqa: E402

K = keras.backend


def doodle_image_model_layers():
    shape = (1, 32, 32, 3)
    style_image = K.variable(np.zeros(shape, "float32"))
    target_image = K.placeholder(shape=shape)
    content_image = K.zeros(shape=shape)
    images = K.concatenate([style_image, target_image, content_image], axis=0)
    model = keras.applications.vgg19.VGG19(include_top=False, weights=None,
                                           input_tensor=images)
    return [{"name": layer.name, "class": type(layer).__name__,
             "output_shape": layer.output_shape,
             "params": layer.count_params()} for layer in model.layers]


def main():
    out = fixture_dir("keras2_examples_rerun")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "doodle_vgg19_graph.json"), "w") as f:
        json.dump({"layers": doodle_image_model_layers()}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
