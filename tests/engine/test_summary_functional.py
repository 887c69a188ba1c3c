"""summary() of functional models (Connected to column, tf.keras layer order, nested models,
expand_nested, show_trainable, line_length/positions/print_fn/layer_range) and the residual
block fixture: exact summary, forward pass with the fixture weights, gradients."""
import json

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers
from minikeras.core.tensor import Tensor
from conftest import fixture_path
from fixtures import fixture_models


def require_layers(*names):
    missing = [name for name in names if not hasattr(keras.layers, name)]
    if missing:
        pytest.skip(f"layers not merged into this branch yet: {missing}")


def summary_lines(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return [line.rstrip() for line in lines]


def functional_row(*cells, nested=False, trainable_column=False):
    """One tf.keras 2.x row of the functional layout (columns end at 29, 58, 68, 98[, 109]);
    cells must fit their columns."""
    first = ("| " if nested else " ") + cells[0]
    widths = [29, 29, 10, 30] + ([11] if trainable_column else [])
    text = first.ljust(widths[0]) + "".join(str(c).ljust(w) for c, w in zip(cells[1:], widths[1:]))
    if nested:
        text = text[:sum(widths) - 1] + "|"
    return text.rstrip()


def totals(total, trainable, non_trainable, sizes, width):
    return [f"Total params: {total} ({sizes[0]})", f"Trainable params: {trainable} ({sizes[1]})",
            f"Non-trainable params: {non_trainable} ({sizes[2]})", "_" * width]


# --- the residual block fixture ---------------------------------------------------------------------
def load_resnet_fixture():
    with open(fixture_path("models", "resnet_block.json")) as handle:
        meta = json.load(handle)
    return meta, np.load(fixture_path("models", "resnet_block.npz"))


def set_fixture_weights(model, arrays, prefix="w"):
    for layer in model.layers:
        count = len(layer.get_weights())
        if count:
            layer.set_weights([arrays[f"{prefix}/{layer.name}/{i}"] for i in range(count)])


def test_resnet_block_summary_layers_and_weights_match_fixture():
    require_layers("Conv2D", "BatchNormalization", "ReLU", "Add", "GlobalAveragePooling2D")
    meta, _ = load_resnet_fixture()
    model = fixture_models.resnet_block(keras)
    with open(fixture_path("models", "resnet_block.summary.txt")) as handle:
        expected = [line.rstrip() for line in handle.read().splitlines()]
    assert summary_lines(model) == expected
    assert [layer.name for layer in model.layers] == [row["name"] for row in meta["layers"]]
    assert [json.loads(json.dumps(layer.output_shape)) for layer in model.layers] == \
        [row["output_shape"] for row in meta["layers"]]
    assert [w.name for w in model.weights] == meta["model_weight_names"]
    assert [w.name for w in model.non_trainable_weights] == meta["non_trainable_weight_names"]


def test_resnet_block_forward_with_fixture_weights():
    require_layers("Conv2D", "BatchNormalization", "ReLU", "Add", "GlobalAveragePooling2D")
    _, arrays = load_resnet_fixture()
    model = fixture_models.resnet_block(keras)
    set_fixture_weights(model, arrays)
    x = arrays["input/0"]
    np.testing.assert_allclose(model(x, training=False).numpy(), arrays["out_infer"],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model(x, training=True).numpy(), arrays["out_train"],
                               rtol=1e-4, atol=1e-5)
    for layer in model.layers:   # moving statistics updated by the training call
        for i, weight in enumerate(layer.get_weights()):
            np.testing.assert_allclose(weight, arrays[f"w_after_train/{layer.name}/{i}"],
                                       rtol=1e-4, atol=1e-5)


def directional_gradient_check(model, x, training, rtol=1e-6):
    """d <w_out, model(x)> along a random direction of the input and of each trainable weight:
    tape gradient vs central difference (float64, a handful of forward passes per array)."""
    rng = np.random.default_rng(11)
    out_weights = rng.standard_normal(model(x, training=training).shape)

    def objective():
        return float(np.sum(model(x, training=training).numpy() * out_weights))

    x_tensor = Tensor(x)
    with keras.GradientTape() as tape:
        tape.watch(x_tensor)
        loss = keras.ops.sum(keras.ops.multiply(model(x_tensor, training=training), out_weights))
    variables = model.trainable_weights
    grads = tape.gradient(loss, [x_tensor] + variables)
    eps = 1e-6
    for array, grad in zip([x] + [v.data for v in variables], grads):
        direction = rng.standard_normal(array.shape)
        original = array.copy()
        array[...] = original + eps * direction
        plus = objective()
        array[...] = original - eps * direction
        minus = objective()
        array[...] = original
        np.testing.assert_allclose(np.sum(np.asarray(grad.data) * direction),
                                   (plus - minus) / (2 * eps), rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("training", [False, True])
def test_resnet_block_gradients_match_finite_differences(float64, training):
    require_layers("Conv2D", "BatchNormalization", "ReLU", "Add", "GlobalAveragePooling2D")
    _, arrays = load_resnet_fixture()
    model = fixture_models.resnet_block(keras)
    set_fixture_weights(model, arrays)
    assert model.weights[0].dtype == np.float64
    directional_gradient_check(model, arrays["input/0"][:3].astype(np.float64), training)


# --- an Inception block -----------------------------------------------------------------------------
def inception_block(inputs):
    """Four branches (1x1; 1x1 > 3x3; 1x1 > 5x5; 3x3 max-pool > 1x1) concatenated on channels."""
    conv = layers.Conv2D
    branch1 = conv(8, 1, padding="same", activation="relu")(inputs)
    branch2 = conv(12, 1, padding="same", activation="relu")(inputs)
    branch2 = conv(16, 3, padding="same", activation="relu")(branch2)
    branch3 = conv(4, 1, padding="same", activation="relu")(inputs)
    branch3 = conv(8, 5, padding="same", activation="relu")(branch3)
    branch4 = layers.MaxPooling2D(3, strides=1, padding="same")(inputs)
    branch4 = conv(8, 1, padding="same", activation="relu")(branch4)
    return layers.Concatenate(axis=-1)([branch1, branch2, branch3, branch4])


def test_inception_block_summary_layout():
    require_layers("Conv2D", "MaxPooling2D", "Concatenate")
    inputs = keras.Input((8, 8, 16))
    model = keras.Model(inputs, inception_block(inputs))
    row = functional_row
    blank = ""
    shape16, shape_in = "(None, 8, 8, 16)", "[(None, 8, 8, 16)]"
    # tf.keras order: by depth from the output (inputs first), ties in first-visit order of a
    # depth-first walk from the output; parameter counts k*k*c_in*c_out + c_out.
    expected = [
        'Model: "model"', "_" * 98,
        row("Layer (type)", "Output Shape", "Param #", "Connected to"), "=" * 98,
        row("input_1 (InputLayer)", shape_in, 0, "[]"), blank,
        row("conv2d_1 (Conv2D)", "(None, 8, 8, 12)", 204, "['input_1[0][0]']"), blank,
        row("conv2d_3 (Conv2D)", "(None, 8, 8, 4)", 68, "['input_1[0][0]']"), blank,
        row("max_pooling2d (MaxPooling2", shape16, 0, "['input_1[0][0]']"),
        row("D)", "", "", ""), blank,
        row("conv2d (Conv2D)", "(None, 8, 8, 8)", 136, "['input_1[0][0]']"), blank,
        row("conv2d_2 (Conv2D)", shape16, 1744, "['conv2d_1[0][0]']"), blank,
        row("conv2d_4 (Conv2D)", "(None, 8, 8, 8)", 808, "['conv2d_3[0][0]']"), blank,
        row("conv2d_5 (Conv2D)", "(None, 8, 8, 8)", 136, "['max_pooling2d[0][0]']"), blank,
        row("concatenate (Concatenate)", "(None, 8, 8, 40)", 0, "['conv2d[0][0]',"),
        row("", "", "", " 'conv2d_2[0][0]',"),
        row("", "", "", " 'conv2d_4[0][0]',"),
        row("", "", "", " 'conv2d_5[0][0]']"), blank,
        "=" * 98,
    ] + totals(3096, 3096, 0, ("12.09 KB", "12.09 KB", "0.00 Byte"), 98)
    assert summary_lines(model) == expected


# --- layout rules ------------------------------------------------------------------------------------
def test_shared_layer_rows_list_every_call():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(2, name="shared")
    merged = layers.Lambda(lambda t: t[0] - t[1], name="diff")([shared(a), shared(b)])
    lines = summary_lines(keras.Model([a, b], merged))
    row = functional_row
    assert lines[4:17] == [
        row("a (InputLayer)", "[(None, 3)]", 0, "[]"), "",
        row("b (InputLayer)", "[(None, 3)]", 0, "[]"), "",
        row("shared (Dense)", "(None, 2)", 8, "['a[0][0]',"), row("", "", "", " 'b[0][0]']"), "",
        row("diff (Lambda)", "(None, 2)", 0, "['shared[0][0]',"),
        row("", "", "", " 'shared[1][0]']"), "", "=" * 98,
        "Total params: 8 (32.00 Byte)", "Trainable params: 8 (32.00 Byte)"]


def test_chain_of_a_layer_called_twice_is_not_sequential_like():
    x = keras.Input((3,), name="x")
    twice = layers.Dense(3, name="twice")
    lines = summary_lines(keras.Model(x, twice(twice(x))))
    assert len(lines[1]) == 98 and lines[2].endswith("Connected to")
    assert lines[6:8] == [functional_row("twice (Dense)", "(None, 3)", 12, "['x[0][0]',"),
                          functional_row("", "", "", " 'twice[0][0]']")]


def test_functional_chain_prints_like_a_sequential_with_its_input_layer():
    x = keras.Input((3,), name="x")
    model = keras.Model(x, layers.Dense(2, name="out")(layers.Dense(4, name="hidden")(x)))
    assert summary_lines(model) == [
        'Model: "model"', "_" * 65,
        " Layer (type)                Output Shape              Param #", "=" * 65,
        " x (InputLayer)              [(None, 3)]               0", "",
        " hidden (Dense)              (None, 4)                 16", "",
        " out (Dense)                 (None, 2)                 10", "",
        "=" * 65] + totals(26, 26, 0, ("104.00 Byte", "104.00 Byte", "0.00 Byte"), 65)


def nested_model():
    enc_in = keras.Input((4,), name="enc_in")
    encoder = keras.Model(enc_in, layers.Dense(3, name="enc_dense")(enc_in), name="encoder")
    x = keras.Input((4,), name="x")
    features = encoder(x)
    return encoder, keras.Model(x, [layers.Dense(2, name="head")(features),
                                    layers.Dense(1, name="aux")(features)])


def test_nested_model_row_and_weights_counted_once():
    encoder, model = nested_model()
    row = functional_row
    assert summary_lines(model)[4:14] == [
        row("x (InputLayer)", "[(None, 4)]", 0, "[]"), "",
        row("encoder (Functional)", "(None, 3)", 15, "['x[0][0]']"), "",
        row("head (Dense)", "(None, 2)", 8, "['encoder[0][0]']"), "",
        row("aux (Dense)", "(None, 1)", 4, "['encoder[0][0]']"), "", "=" * 98,
        "Total params: 27 (108.00 Byte)"]


def test_expand_nested_and_show_trainable():
    encoder, model = nested_model()
    encoder.trainable = False
    row = functional_row

    def full(*cells):
        return row(*cells, trainable_column=True)

    def inner(*cells):
        return row(*cells, nested=True, trainable_column=True)
    assert summary_lines(model, expand_nested=True, show_trainable=True) == [
        'Model: "model"', "_" * 109,
        full("Layer (type)", "Output Shape", "Param #", "Connected to", "Trainable"), "=" * 109,
        full("x (InputLayer)", "[(None, 4)]", 0, "[]", "Y"), "",
        full("encoder (Functional)", "(None, 3)", 15, "['x[0][0]']", "N"),
        "|" + "¯" * 107 + "|",
        inner("enc_in (InputLayer)", "[(None, 4)]", 0, "[]", "N"),
        "|" + " " * 107 + "|",
        inner("enc_dense (Dense)", "(None, 3)", 15, "[]", "N"),
        "¯" * 109,
        full("head (Dense)", "(None, 2)", 8, "['encoder[0][0]']", "Y"), "",
        full("aux (Dense)", "(None, 1)", 4, "['encoder[0][0]']", "Y"), "",
        "=" * 109] + totals(27, 12, 15, ("108.00 Byte", "48.00 Byte", "60.00 Byte"), 109)


def test_nested_sequential_expanded_in_a_sequential_like_model():
    inner = keras.Sequential([layers.Dense(3, input_shape=(2,), name="d1"),
                              layers.Dense(1, name="d2")], name="inner")
    outer = keras.Sequential([inner, layers.Dense(2, name="d3")], name="outer")
    lines = summary_lines(outer, expand_nested=True)
    assert lines[4:14] == [
        " inner (Sequential)          (None, 1)                 13",
        "|" + "¯" * 63 + "|",
        "| d1 (Dense)                 (None, 3)                 9        |",
        "|" + " " * 63 + "|",
        "| d2 (Dense)                 (None, 1)                 4        |",
        "¯" * 65,
        " d3 (Dense)                  (None, 2)                 4", "", "=" * 65,
        "Total params: 17 (68.00 Byte)"]


def test_line_length_positions_print_fn_and_layer_range():
    _, model = nested_model()
    lines = summary_lines(model, line_length=80, positions=[0.4, 0.7, 0.8, 1.0])
    assert lines[1] == "_" * 80
    header = lines[2]
    assert [header.index(h) for h in ("Layer", "Output", "Param", "Connected")] == [1, 32, 56, 64]
    assert lines[3] == " " * 56 + " #"    # "Param #" does not fit its 5 characters
    assert lines[5].startswith(" x (InputLayer)" + " " * 17 + "[(None, 4)]")
    absolute = summary_lines(model, positions=[20, 40, 50, 70])
    assert absolute[1] == "_" * 98 and absolute[2].index("Connected") == 50
    ranged = summary_lines(model, layer_range=["enc.*", "head"])
    names = [line.split()[0] for line in ranged[4:-5] if line and line[0] == " "]
    assert names == ["encoder", "head"]
    with pytest.raises(ValueError, match="layer_range must be a list or tuple of length 2"):
        model.summary(layer_range=["x"])
    printed = []
    model.summary(print_fn=printed.append)
    assert [p.rstrip() for p in printed] == summary_lines(model) and all("\n" not in p for p in printed)


def test_multi_output_layer_rows_use_tensor_indices():
    class Split(layers.Layer):
        """Test-local layer with two outputs: the two halves of the last axis."""

        def call(self, inputs):
            half = inputs.shape[-1] // 2
            return [inputs[:, :half], inputs[:, half:]]

        def compute_output_shape(self, input_shape):
            half = (input_shape[0], input_shape[-1] // 2)
            return [half, half]

    x = keras.Input((4,), name="x")
    first, second = Split(name="split")(x)
    model = keras.Model(x, [layers.Dense(1, name="d0")(first), layers.Dense(3, name="d1")(second)])
    row = functional_row
    assert summary_lines(model)[4:13] == [
        row("x (InputLayer)", "[(None, 4)]", 0, "[]"), "",
        # tf.keras breaks a cell after "),", even when the whole text would fit.
        row("split (Split)", "[(None, 2),", 0, "['x[0][0]']"), row("", " (None, 2)]", "", ""), "",
        row("d0 (Dense)", "(None, 1)", 3, "['split[0][0]']"), "",
        row("d1 (Dense)", "(None, 3)", 9, "['split[0][1]']"), ""]
    out0, out1 = model.predict(np.arange(8, dtype=np.float32).reshape(2, 4), verbose=0)
    assert out0.shape == (2, 1) and out1.shape == (2, 3)
