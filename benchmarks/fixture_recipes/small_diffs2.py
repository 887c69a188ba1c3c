"""Writes tests/fixtures/small_diffs2/ (fid-left sweep) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python small_diffs2.py --peer tk
    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python small_diffs2.py --peer k3

`tk` (tf_keras 2.21) writes `tf_keras_facts.json`: the error type and message of operations
mixing tensor dtypes (Tensor operators, K.maximum / minimum / concatenate / dot / batch_dot,
merge layers eager and symbolic, operators on KerasTensors), the class a model's Dense comes
back as when loaded with `custom_objects={"Dense": MyDense}` from `.h5`, `.keras`, `to_json`,
`get_config`, `layers.deserialize`; `to_categorical` of negative and out-of-range labels;
predictions of models fed complex inputs; Conv1D/2D/3DTranspose outputs for inputs with no
channel; input/output shapes and summary of a Sequential relaxed by a second input size; a
Sequential emptied by pop() and grown again; summary() with too few positions.

`k3` (Keras 3.15.1) writes `channels_first.keras` and `channels_first.npz`: a model on
channels-first images (Input((3, 10, 8))) through Resizing, CenterCrop, RandomFlip,
RandomZoom, RandomRotation and RandomTranslation, all with `data_format="channels_first"`,
its input `x` and `predict` (inference: deterministic; RandomCrop is left out: Keras 3.15's
passes images through unchanged at inference where tf.keras resizes them), and
the output of Resizing(crop_to_aspect_ratio=True) and CenterCrop on larger targets (`resized`,
`centre`) for unbatched and batched inputs; and `promoting_operators.{keras,npz}`: a Keras 3
model multiplying a float32 input by an int32 one (Keras 3 promotes) and its predictions.
"""
import io
import json
import operator
import os
import sys
from contextlib import redirect_stdout

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
FOLDER = fixture_dir("small_diffs2")


def _outcome(function):
    try:
        value = function()
    except Exception as error:   # noqa: BLE001  (the peer's error is the datum)
        return {"error": type(error).__name__, "message": str(error)}
    return {"value": np.asarray(value).tolist(), "dtype": np.asarray(value).dtype.name}


def _first_part(outcome):
    """A layer error's heading and op message (tf_keras appends the call arguments)."""
    if "message" in outcome:
        outcome["message"] = "\n\n".join(outcome["message"].split("\n\n")[:2])
    return outcome


def mixed_dtypes(keras):
    K = keras.backend
    f32, f64 = K.constant([1., 2.]), K.constant([1., 2.], dtype="float64")
    i32 = K.constant([1, 2], dtype="int32")
    operators = {name: getattr(operator, name) for name in
                 ("add", "sub", "mul", "truediv", "pow", "lt", "le", "gt", "ge")}
    facts = {}
    for name, function in operators.items():
        facts[f"f32 {name} f64"] = _outcome(lambda: function(f32, f64))
        facts[f"f32 {name} i32"] = _outcome(lambda: function(f32, i32))
    facts["i32 add f32"] = _outcome(lambda: i32 + f32)
    facts["f32 matmul f64"] = _outcome(lambda: K.reshape(f32, (1, 2)) @ K.reshape(f64, (2, 1)))
    facts["f32 add float64 array"] = _outcome(lambda: f32 + np.array([1., 2.]))
    facts["f32 add np.float64"] = _outcome(lambda: f32 + np.float64(2.))
    facts["K.maximum f32 f64"] = _outcome(lambda: K.maximum(f32, f64))
    facts["K.minimum f32 i32"] = _outcome(lambda: K.minimum(f32, i32))
    facts["K.maximum f32 float64 array"] = _outcome(lambda: K.maximum(f32, np.array([1., 5.])))
    facts["K.maximum f32 0"] = _outcome(lambda: K.maximum(f32, 0))
    facts["K.concatenate f32 f32 f64"] = _outcome(lambda: K.concatenate([f32, f32, f64]))
    facts["K.concatenate f32 i32"] = _outcome(lambda: K.concatenate([f32, i32]))
    facts["K.dot f32 f64"] = _outcome(
        lambda: K.dot(K.reshape(f32, (1, 2)), K.reshape(f64, (2, 1))))
    facts["K.dot 3d f32 i32"] = _outcome(
        lambda: K.dot(K.reshape(f32, (1, 1, 2)), K.reshape(i32, (2, 1))))
    facts["K.batch_dot f32 f64"] = _outcome(
        lambda: K.batch_dot(K.reshape(f32, (1, 1, 2)), K.reshape(f64, (1, 2, 1))))
    rows = {"f32": K.reshape(f32, (1, 2)), "f64": K.reshape(f64, (1, 2)),
            "i32": K.reshape(i32, (1, 2))}
    for layer in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                  "Concatenate"):
        for other in ("f64", "i32"):
            facts[f"{layer} f32 {other}"] = _first_part(_outcome(
                lambda: getattr(keras.layers, layer)(name="merge")([rows["f32"], rows[other]])))
    inputs = {"f32": keras.Input((2,)), "f64": keras.Input((2,), dtype="float64"),
              "i32": keras.Input((2,), dtype="int32")}
    for layer in ("Add", "Multiply", "Concatenate"):
        for other in ("f64", "i32"):
            facts[f"symbolic {layer} f32 {other}"] = _first_part(_outcome(
                lambda: getattr(keras.layers, layer)(name="merge")(
                    [inputs["f32"], inputs[other]]).dtype.name))
    facts["symbolic Dot f32 i32"] = _first_part(_outcome(
        lambda: keras.layers.Dot(1, name="merge")([inputs["f32"], inputs["i32"]]).dtype.name))
    facts["Dot f32 i32"] = _first_part(_outcome(
        lambda: keras.layers.Dot(1, name="merge")([rows["f32"], rows["i32"]])))
    for name in ("add", "sub", "mul", "truediv", "pow", "matmul"):
        for other in ("f64", "i32"):
            keras.backend.clear_session()
            first = keras.Input((2,))
            second = keras.Input((2,), dtype={"f64": "float64", "i32": "int32"}[other])
            facts[f"symbolic {name} f32 {other}"] = _first_part(_outcome(
                lambda: getattr(operator, name)(first, second).dtype.name))
    return facts


def custom_dense(keras, tmp):
    class MyDense(keras.layers.Dense):
        pass
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.save(os.path.join(tmp, "dense.h5"))
    model.save(os.path.join(tmp, "dense.keras"))
    custom = {"Dense": MyDense}
    loaders = {
        "h5": lambda: keras.models.load_model(os.path.join(tmp, "dense.h5"), custom_objects=custom),
        "keras": lambda: keras.models.load_model(os.path.join(tmp, "dense.keras"),
                                                 custom_objects=custom),
        "to_json": lambda: keras.models.model_from_json(model.to_json(), custom_objects=custom),
        "get_config": lambda: keras.Sequential.from_config(model.get_config(),
                                                           custom_objects=custom),
    }
    facts = {name: type(load().layers[0]).__name__ for name, load in loaders.items()}
    facts["deserialize legacy entry"] = type(keras.layers.deserialize(
        {"class_name": "Dense", "config": {"units": 2}}, custom_objects=custom)).__name__
    facts["deserialize serialize()"] = type(keras.layers.deserialize(
        keras.layers.serialize(keras.layers.Dense(2)), custom_objects=custom)).__name__
    return facts


def categorical(keras):
    to_categorical = keras.utils.to_categorical
    return {"[-1, 0] of 3": _outcome(lambda: to_categorical([-1, 0], 3)),
            "[-3, 2] of 3": _outcome(lambda: to_categorical([-3, 2], 3)),
            "[-4, 0] of 3": _outcome(lambda: to_categorical([-4, 0], 3)),
            "[0, 5, 7] of 3": _outcome(lambda: to_categorical([0, 5, 7], 3)),
            "[-1]": _outcome(lambda: to_categorical([-1]))}


def complex_inputs(keras):
    x = np.array([[1 + 2j, 3 - 1j], [0.5 - 4j, -2 + 1j]], dtype=np.complex64)
    model = keras.Sequential([keras.layers.Dense(1, kernel_initializer="ones",
                                                 input_shape=(2,))])
    model.compile("sgd", "mse")
    history = model.fit(np.ones((2, 2), "float32"), np.array([[1 + 5j], [2 - 1j]]),
                        epochs=1, verbose=0, shuffle=False).history
    return {"predict": _outcome(lambda: model.predict(x, verbose=0)),
            "call": _outcome(lambda: model(x)),
            "Dense direct": _outcome(lambda: keras.layers.Dense(
                1, kernel_initializer="ones")(x)),
            "fit complex y loss": history["loss"]}


def zero_channel_transposes(keras):
    facts = {}
    for name, shape in (("Conv1DTranspose", (2, 4, 0)), ("Conv2DTranspose", (2, 3, 4, 0)),
                        ("Conv3DTranspose", (1, 2, 3, 2, 0))):
        layer = getattr(keras.layers, name)(3, 3, strides=2, padding="same",
                                            bias_initializer="ones", activation="relu")
        facts[name] = _outcome(lambda: layer(np.zeros(shape, "float32")))
    layer = keras.layers.Conv2DTranspose(2, 2, strides=2, data_format="channels_first",
                                         bias_initializer=keras.initializers.Constant(0.5))
    facts["Conv2DTranspose channels_first"] = _outcome(
        lambda: layer(np.zeros((1, 0, 2, 3), "float32")))
    return facts


def relaxed_sequential(keras):
    layers = keras.layers
    model = keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(3)])
    model.build((None, 5, 6))
    model(np.zeros((2, 7, 6), "float32"))
    text = io.StringIO()
    with redirect_stdout(text):
        model.summary()
    shapes = {layer.name: [list(layer.input_shape), list(layer.output_shape)]
              for layer in model.layers}
    return {"shapes": shapes, "summary": text.getvalue()}


def model_probes(keras):
    """A Sequential emptied by pop() and grown again; summary() given fewer positions than
    columns (a two-input model has four)."""
    layers = keras.layers
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.pop()
    emptied = {"outputs": model.outputs, "built": model.built}
    model.add(layers.Dense(4))
    regrown = {"built_after_add": model.built,
               "output_after_call": list(model(np.ones((1, 5), "float32")).shape),
               "count_params": model.count_params()}
    first, second = keras.Input((4,)), keras.Input((4,))
    joined = keras.Model([first, second], layers.Concatenate()([first, second]))
    return {"emptied": emptied, "regrown": regrown,
            "few_positions": _outcome(lambda: joined.summary(positions=[0.5, 0.8, 1.0],
                                                             print_fn=lambda *a, **k: None))}


def write_tf_keras_facts():
    import tempfile
    import tf_keras as keras
    os.makedirs(FOLDER, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        facts = {"mixed_dtypes": mixed_dtypes(keras), "custom_dense": custom_dense(keras, tmp),
                 "to_categorical": categorical(keras), "complex": complex_inputs(keras),
                 "zero_channel_transposes": zero_channel_transposes(keras),
                 "relaxed_sequential": relaxed_sequential(keras),
                 "model_probes": model_probes(keras)}
    with open(os.path.join(FOLDER, "tf_keras_facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)


def write_keras3_channels_first():
    import keras
    os.makedirs(FOLDER, exist_ok=True)
    layers = keras.layers
    fmt = {"data_format": "channels_first"}
    inputs = keras.Input((3, 10, 8))
    x = layers.Resizing(6, 7, **fmt)(inputs)
    x = layers.CenterCrop(5, 6, **fmt)(x)
    x = layers.RandomFlip(**fmt)(x)
    x = layers.RandomZoom(0.2, **fmt)(x)
    x = layers.RandomRotation(0.1, **fmt)(x)
    x = layers.RandomTranslation(0.1, 0.1, **fmt)(x)
    model = keras.Model(inputs, x)
    model.save(os.path.join(FOLDER, "channels_first.keras"))
    rng = np.random.default_rng(0)
    x_in = rng.uniform(0, 255, (2, 3, 10, 8)).astype("float32")
    resize = layers.Resizing(4, 6, crop_to_aspect_ratio=True, interpolation="bilinear", **fmt)
    centre = layers.CenterCrop(12, 9, **fmt)
    np.savez(os.path.join(FOLDER, "channels_first.npz"), x=x_in,
             predicted=model.predict(x_in, verbose=0),
             resized=keras.ops.convert_to_numpy(resize(x_in)),
             resized_unbatched=keras.ops.convert_to_numpy(resize(x_in[0])),
             centre=keras.ops.convert_to_numpy(centre(x_in)))


def write_keras3_promoting_operators():
    """Keras 3 promotes operands of two dtypes (`float * int`), where tf.keras raises."""
    import keras
    values, counts = keras.Input((3,)), keras.Input((3,), dtype="int32")
    scaled = values * counts
    shifted = keras.ops.add(scaled, counts)
    model = keras.Model([values, counts], keras.layers.Dense(2)(shifted - counts / 2))
    model.save(os.path.join(FOLDER, "promoting_operators.keras"))
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 3)).astype("float32")
    n = rng.integers(0, 5, size=(4, 3)).astype("int32")
    np.savez(os.path.join(FOLDER, "promoting_operators.npz"), x=x, n=n,
             predicted=model.predict([x, n], verbose=0))


if __name__ == "__main__":
    if sys.argv[1] == "k3":
        write_keras3_channels_first()
        write_keras3_promoting_operators()
    else:
        write_tf_keras_facts()
