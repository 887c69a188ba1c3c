"""Writes tests/fixtures/keras2_examples_rerun/: run with the peer venv,
`python keras2_examples_rerun.py --peer` (tf_keras 2.21; each part in its own process, as the
first needs graph mode).

doodle_vgg19_graph.json: neural_doodle's image model, `VGG19(include_top=False,
input_tensor=K.concatenate([K.variable, K.placeholder, K.zeros]))`, built in graph mode
(tf.compat.v1.disable_eager_execution(), Keras 2 semantics): each layer's name, class, output
shape and parameter count.

h5_compiled_metrics.json: what a compiled, untrained model's `.h5` save and load do to its
compiled metrics (tf_keras builds them on the model's outputs, `y_true` included): the file's
training_config metrics, `metrics_names` after save and after load, and `evaluate` with sparse
labels of a softmax model compiled with 'accuracy' (resolved as categorical then); a trained
two-output model's metric names and History keys after resuming from its `.h5` file.

symbolic_shapes.json: repr of KerasTensor shapes (TensorShape) and of the shapes models and
layers report (plain tuples)."""
import json
import os
import subprocess
import sys

import numpy as np

from peer import fixture_dir, require_peer

OUT = fixture_dir("keras2_examples_rerun")


def doodle_image_model_layers():
    import tensorflow as tf
    tf.compat.v1.disable_eager_execution()
    import tf_keras as keras
    K = keras.backend
    shape = (1, 32, 32, 3)
    style_image = K.variable(np.zeros(shape, "float32"))
    target_image = K.placeholder(shape=shape)
    content_image = K.zeros(shape=shape)
    images = K.concatenate([style_image, target_image, content_image], axis=0)
    model = keras.applications.vgg19.VGG19(include_top=False, weights=None,
                                           input_tensor=images)
    layers = [{"name": layer.name, "class": type(layer).__name__,
               "output_shape": layer.output_shape, "params": layer.count_params()}
              for layer in model.layers]
    _write("doodle_vgg19_graph.json", {"layers": layers})


def sparse_softmax_model(keras):
    model = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(2,))])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.set_weights([np.array([[1., -1, 0.5], [0.2, 0.3, -2]], "float32"),
                       np.zeros(3, "float32")])
    return model


def two_output_model(keras):
    inputs = keras.Input((3,))
    out_a = keras.layers.Dense(2, name="out_a")(inputs)
    out_b = keras.layers.Dense(1, activation="sigmoid", name="out_b")(inputs)
    model = keras.Model(inputs, [out_a, out_b])
    model.compile("adam", ["mse", "binary_crossentropy"],
                  metrics={"out_a": ["mae"], "out_b": ["accuracy"]}, weighted_metrics=["mse"])
    return model


def h5_compiled_metrics():
    import h5py
    import tf_keras as keras
    x = np.array([[1., 0], [0, 1], [1, 1], [-1, 2]], "float32")
    y = np.array([0, 1, 2, 1])
    result = {"x": x.tolist(), "y": y.tolist()}
    path = os.path.join("/tmp", "keras2_examples_rerun.h5")
    for name, build in (("sparse_softmax", sparse_softmax_model), ("two_output", two_output_model)):
        model = build(keras)
        entry = {"names_before_save": model.metrics_names}
        model.save(path)
        with h5py.File(path, "r") as f:
            training = json.loads(f.attrs["training_config"])
        entry["training_metrics"] = training["metrics"]
        entry["training_weighted_metrics"] = training["weighted_metrics"]
        entry["names_after_save"] = model.metrics_names
        entry["names_after_load"] = keras.models.load_model(path).metrics_names
        if name == "sparse_softmax":
            entry["evaluate_after_save"] = model.evaluate(x, y, verbose=0)
            entry["evaluate_without_save"] = build(keras).evaluate(x, y, verbose=0)
            entry["evaluate_after_load"] = keras.models.load_model(path).evaluate(x, y, verbose=0)
        result[name] = entry
    # a trained multi-output model resumed from its .h5 file: the saved metric names are kept
    model = two_output_model(keras)
    ys = [np.ones((4, 2), "float32"), np.ones((4, 1), "float32")]
    inputs = np.ones((4, 3), "float32")
    model.fit(inputs, ys, verbose=0)
    model.save(path)
    restored = keras.models.load_model(path)
    result["two_output_resumed"] = {
        "names_after_load": restored.metrics_names,
        "history_keys": sorted(restored.fit(inputs, ys, verbose=0).history)}
    os.remove(path)
    _write("h5_compiled_metrics.json", result)


def symbolic_shapes():
    import tf_keras as keras
    K = keras.backend
    inputs = keras.Input((3,))
    dense = keras.layers.Dense(2)(inputs)
    model = keras.Model(inputs, [dense, dense])
    sequential = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    reprs = {"input.shape": repr(inputs.shape), "str(input.shape)": str(inputs.shape),
             "input.shape.as_list()": repr(inputs.shape.as_list()),
             "dense.shape": repr(dense.shape), "[dense.shape]": repr([dense.shape]),
             "model.output_shape": repr(model.output_shape),
             "model.input_shape": repr(model.input_shape),
             "model.layers[1].output_shape": repr(model.layers[1].output_shape),
             "model.layers[0].input_shape": repr(model.layers[0].input_shape),
             "sequential.output_shape": repr(sequential.output_shape),
             "sequential.input_shape": repr(sequential.input_shape),
             "K.int_shape(dense)": repr(K.int_shape(dense)),
             "concatenate.shape": repr(keras.layers.concatenate([inputs, inputs]).shape),
             "(input + 1).shape": repr((inputs + 1).shape)}
    _write("symbolic_shapes.json", reprs)


def _write(name, data):
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, name), "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


PARTS = {"doodle": doodle_image_model_layers, "h5metrics": h5_compiled_metrics,
         "shapes": symbolic_shapes}


def main():
    require_peer()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    if len(sys.argv) > 1:
        PARTS[sys.argv[1]]()
        return
    for part in PARTS:
        subprocess.run([sys.executable, __file__, part, "--peer"], check=True)


if __name__ == "__main__":
    sys.exit(main())
