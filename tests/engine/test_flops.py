"""FLOPs per sample (`summary(show_flops=True)`, `keras.utils.count_flops`) against closed forms.

Convention: a multiply-add counts 2, bias and activation are not counted; output sizes below
are worked out by hand from the convolution arithmetic, not read back from the layers.
"""
import minikeras as keras
from minikeras import layers


def flops_of(layer, input_shape):
    """FLOPs of `layer` alone in a Sequential fed `input_shape` (no batch axis)."""
    model = keras.Sequential([keras.Input(input_shape), layer])
    (row,) = [r for r in keras.utils.count_flops(model) if r["name"] == layer.name]
    return row["flops"]


# --- dense and convolutions -------------------------------------------------------------------
def test_dense():
    assert flops_of(layers.Dense(7), (5,)) == 2 * 5 * 7
    assert flops_of(layers.Dense(3), (4, 6)) == 2 * 4 * 6 * 3   # applied at each of 4 steps


def test_conv2d_valid_same_strided_dilated_grouped():
    # valid: 10x12 input, 3x3 kernel -> 8x10
    assert flops_of(layers.Conv2D(6, 3), (10, 12, 4)) == 2 * 8 * 10 * 6 * 3 * 3 * 4
    # same, strides 2: ceil(10/2) x ceil(12/2) = 5 x 6
    assert flops_of(layers.Conv2D(6, (3, 5), strides=2, padding="same"),
                    (10, 12, 4)) == 2 * 5 * 6 * 6 * 3 * 5 * 4
    # dilation 2: effective 5x5 -> 6x8
    assert flops_of(layers.Conv2D(6, 3, dilation_rate=2), (10, 12, 4)) == 2 * 6 * 8 * 6 * 9 * 4
    # groups=2: each filter sees Cin/2 channels
    assert flops_of(layers.Conv2D(6, 3, groups=2), (10, 12, 4)) == 2 * 8 * 10 * 6 * 9 * 2


def test_conv2d_channels_first():
    layer = layers.Conv2D(5, 3, data_format="channels_first")
    assert flops_of(layer, (4, 9, 7)) == 2 * 7 * 5 * 5 * 9 * 4


def test_conv1d_and_conv3d():
    assert flops_of(layers.Conv1D(8, 5), (20, 3)) == 2 * 16 * 8 * 5 * 3
    assert flops_of(layers.Conv1D(8, 5, padding="causal"), (20, 3)) == 2 * 20 * 8 * 5 * 3
    assert flops_of(layers.Conv3D(4, (2, 3, 3)), (5, 6, 7, 2)) == 2 * (4 * 4 * 5) * 4 * 18 * 2


def test_transposed_convolutions():
    # every input element meets every tap of every filter: 2*H*W*Cin*Kh*Kw*Cout
    assert flops_of(layers.Conv2DTranspose(5, 3, strides=2), (6, 7, 4)) == 2 * 6 * 7 * 4 * 9 * 5
    assert flops_of(layers.Conv1DTranspose(3, 4), (10, 2)) == 2 * 10 * 2 * 4 * 3
    assert flops_of(layers.Conv3DTranspose(2, 2), (3, 4, 5, 3)) == 2 * 60 * 3 * 8 * 2


def test_depthwise_convolutions():
    # 2*Ho*Wo*Cin*multiplier*Kh*Kw
    assert flops_of(layers.DepthwiseConv2D(3, depth_multiplier=2), (9, 8, 5)) == \
        2 * 7 * 6 * 5 * 2 * 9
    assert flops_of(layers.DepthwiseConv1D(3), (12, 4)) == 2 * 10 * 4 * 3


def test_separable_convolutions():
    # depthwise 2*Ho*Wo*Cin*m*Kh*Kw + pointwise 2*Ho*Wo*Cin*m*Cout
    expected = 2 * 7 * 6 * (5 * 2) * 9 + 2 * 7 * 6 * (5 * 2) * 8
    assert flops_of(layers.SeparableConv2D(8, 3, depth_multiplier=2), (9, 8, 5)) == expected
    assert flops_of(layers.SeparableConv1D(6, 3), (12, 4)) == 2 * 10 * 4 * 3 + 2 * 10 * 4 * 6


# --- pooling and normalization ------------------------------------------------------------------
def test_pooling_counts_one_operation_per_window_element():
    assert flops_of(layers.MaxPooling2D(2), (8, 6, 3)) == 4 * 3 * 3 * 4
    assert flops_of(layers.AveragePooling2D(3, strides=1, padding="same"), (5, 5, 2)) == \
        5 * 5 * 2 * 9
    assert flops_of(layers.MaxPooling1D(3), (9, 4)) == 3 * 4 * 3
    assert flops_of(layers.AveragePooling3D(2), (4, 4, 4, 1)) == 8 * 8
    assert flops_of(layers.GlobalAveragePooling2D(), (6, 5, 3)) == 6 * 5 * 3
    assert flops_of(layers.GlobalMaxPooling1D(), (7, 2)) == 14


def test_batch_normalization_is_one_multiply_add_per_element():
    assert flops_of(layers.BatchNormalization(), (4, 5, 3)) == 2 * 60
    assert flops_of(layers.BatchNormalization(axis=1), (3, 7)) == 2 * 21


def test_data_movement_and_activations_cost_nothing():
    assert flops_of(layers.Flatten(), (3, 4)) == 0
    assert flops_of(layers.Dropout(0.5), (10,)) == 0
    assert flops_of(layers.SpatialDropout2D(0.5), (4, 4, 2)) == 0
    assert flops_of(layers.ReLU(), (10,)) == 0
    assert flops_of(layers.Lambda(lambda x: x * 2), (10,)) is None   # not modelled


# --- models -------------------------------------------------------------------------------------
def _branched():
    inputs = keras.Input((6,), name="x")
    left = layers.Dense(4, name="left")(inputs)
    right = layers.Dense(4, name="right")(inputs)
    merged = layers.Add(name="sum")([left, right])
    joined = layers.Concatenate(name="cat")([merged, left])
    return keras.Model(inputs, layers.Dense(2, name="head")(joined))


def test_count_flops_table_of_a_branched_model():
    rows = keras.utils.count_flops(_branched())
    table = {row["name"]: row["flops"] for row in rows}
    assert table == {"x": 0, "left": 2 * 6 * 4, "right": 2 * 6 * 4, "sum": 4, "cat": 0,
                     "head": 2 * 8 * 2}
    assert [row["class_name"] for row in rows][:1] == ["InputLayer"]


def test_shared_layer_counts_every_call():
    a, b = keras.Input((5,)), keras.Input((5,))
    shared = layers.Dense(3, name="shared")
    model = keras.Model([a, b], layers.Add()([shared(a), shared(b)]))
    table = {row["name"]: row["flops"] for row in keras.utils.count_flops(model)}
    assert table["shared"] == 2 * (2 * 5 * 3)


def test_nested_model_is_the_sum_of_its_layers():
    inner = keras.Sequential([layers.Dense(4, input_shape=(8,), name="in1"),
                              layers.Dense(3, name="in2")], name="inner")
    inputs = keras.Input((8,))
    model = keras.Model(inputs, inner(inputs))
    rows = keras.utils.count_flops(model, expand_nested=True)
    assert [(r["name"], r["flops"], r["nested_level"]) for r in rows] == [
        ("input_1", 0, 0), ("inner", 2 * 8 * 4 + 2 * 4 * 3, 0),
        ("in1", 2 * 8 * 4, 1), ("in2", 2 * 4 * 3, 1)]


def test_custom_layer_reports_through_the_hook():
    class Scale(layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

        def compute_output_shape(self, input_shape):
            return input_shape

        def count_flops(self, input_shape, output_shape):
            return input_shape[-1]   # one multiplication per feature

    assert flops_of(Scale(name="scale"), (9,)) == 9


def test_subclassed_model_uses_build_shapes():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(4)
            self.out = layers.Dense(2)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = Net()
    model.build((None, 3))
    assert [row["flops"] for row in keras.utils.count_flops(model)] == [2 * 3 * 4, 2 * 4 * 2]


# --- summary --------------------------------------------------------------------------------------
def _lines(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_summary_flops_column_and_total():
    model = keras.Sequential([layers.Conv2D(4, 3, input_shape=(8, 8, 1), name="conv"),
                              layers.Flatten(name="flat"), layers.Dense(10, name="out"),
                              layers.Lambda(lambda x: x, name="same")])
    plain = _lines(model)
    lines = _lines(model, show_flops=True)
    conv, dense = 2 * 6 * 6 * 4 * 9 * 1, 2 * 144 * 10
    assert len(lines[1]) == len(plain[1]) + 15
    assert lines[2].rstrip().endswith("FLOPs")
    row = {line.split()[0]: line.split()[-1] for line in lines[4:] if line.startswith(" ")
           and line.split()}
    assert row["conv"] == str(conv) and row["out"] == str(dense) and row["same"] == "?"
    assert lines[-2] == (f"Total FLOPs: {conv + dense} per sample (5.47 KFLOPs), "
                         "1 layer not counted (?)")
    assert not any("FLOPs" in line for line in plain)


def test_summary_flops_with_trainable_and_functional_layout():
    lines = _lines(_branched(), show_flops=True, show_trainable=True)
    header = lines[2].split()
    assert header[-3:] == ["to", "FLOPs", "Trainable"]
    assert lines[-2] == f"Total FLOPs: {48 + 48 + 4 + 32} per sample (132.00 FLOPs)"


def test_seed_cnn_total_flops():
    from fixtures import fixture_models
    model = fixture_models.cnn_seed(keras)
    total = sum(row["flops"] for row in keras.utils.count_flops(model))
    conv = (2 * 223 * 223 * 16 * 4 * 3 + 2 * 110 * 110 * 32 * 4 * 16 + 2 * 54 * 54 * 64 * 4 * 32)
    pools = 111 * 111 * 16 * 4 + 55 * 55 * 32 * 4 + 27 * 27 * 64 * 4
    assert total == conv + pools + 27 * 27 * 64 + 2 * 64 * 133
