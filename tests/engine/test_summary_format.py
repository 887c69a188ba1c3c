"""Tests for minikeras.models.summary_format against tf.keras 2.21 output."""

import json
import os

import pytest

from minikeras.models.summary_format import (
    compute_positions,
    format_shape,
    format_summary,
    readable_memory_size,
)

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
MODEL_NAMES = ["cnn_seed", "mlp_dropout", "resnet_block", "seed_conv_strides"]

# Graph edges of fixture_models.resnet_block (layer -> inbound layers, in
# call order).  Every layer is called once, so node/tensor indices are [0][0].
RESNET_BLOCK_INBOUND = {
    "input_1": [],
    "conv2d": ["input_1"],
    "batch_normalization": ["conv2d"],
    "re_lu": ["batch_normalization"],
    "conv2d_1": ["re_lu"],
    "batch_normalization_1": ["conv2d_1"],
    "conv2d_2": ["input_1"],
    "add": ["batch_normalization_1", "conv2d_2"],
    "activation": ["add"],
    "global_average_pooling2d": ["activation"],
    "dense": ["global_average_pooling2d"],
}
CONNECTIVITY = {"resnet_block": RESNET_BLOCK_INBOUND}


def _load_json(*parts):
    with open(os.path.join(FIXTURES, *parts), encoding="utf-8") as f:
        return json.load(f)


def _load_summary_txt(name):
    path = os.path.join(FIXTURES, "models", f"{name}.summary.txt")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert text.endswith("\n")
    return text[:-1].split("\n")


def _rows_from_fixture(meta):
    inbound = CONNECTIVITY.get(meta["name"])
    rows = []
    for layer in meta["layers"]:
        row = {
            "name": layer["name"],
            "class_name": layer["class"],
            "output_shape": format_shape(layer["output_shape"]),
            "params": layer["params"],
            "trainable": True,
            "nested_level": 0,
        }
        if inbound is not None:
            row["connected_to"] = [f"{n}[0][0]" for n in inbound[layer["name"]]]
        rows.append(row)
    return rows


def _summary_for(meta):
    return format_summary(
        meta["model_name"],
        _rows_from_fixture(meta),
        meta["total_params"],
        meta["trainable_params"],
        meta["non_trainable_params"],
        functional=meta["name"] in CONNECTIVITY,
        print_fn=lambda line: None,
    )


def _assert_same_lines(got, expected):
    assert [l.rstrip() for l in got] == [l.rstrip() for l in expected]
    assert got == expected  # trailing spaces too


# ---------------------------------------------------------------------------
# Whole summaries against the fixtures
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_summary_matches_fixture_text(name):
    meta = _load_json("models", f"{name}.json")
    _assert_same_lines(_summary_for(meta), _load_summary_txt(name))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_summary_matches_fixture_json_lines(name):
    meta = _load_json("models", f"{name}.json")
    _assert_same_lines(_summary_for(meta), meta["summary_lines"])


def _files_json_summaries():
    data = _load_json("files", "files.json")
    cases = []
    for model, entry in data["models"].items():
        cases.append((f"models/{model}", model, entry["summary_lines"]))
    for entry in data["files"]:
        if "loaded_summary_lines" in entry:
            cases.append((f"files/{entry['file']}", entry["model"],
                          entry["loaded_summary_lines"]))
    return cases


@pytest.mark.parametrize(
    "label,model,expected", _files_json_summaries(),
    ids=[c[0] for c in _files_json_summaries()],
)
def test_summary_matches_files_json(label, model, expected):
    meta = _load_json("models", f"{model}.json")
    _assert_same_lines(_summary_for(meta), expected)


def test_print_fn_called_once_per_line():
    meta = _load_json("models", "resnet_block.json")
    printed = []
    lines = format_summary(
        meta["model_name"], _rows_from_fixture(meta), meta["total_params"],
        meta["trainable_params"], meta["non_trainable_params"],
        functional=True, print_fn=printed.append,
    )
    assert printed == lines
    assert all("\n" not in line for line in lines)


def test_default_print_fn_prints(capsys):
    meta = _load_json("models", "seed_conv_strides.json")
    lines = format_summary(
        meta["model_name"], _rows_from_fixture(meta), meta["total_params"],
        meta["trainable_params"], meta["non_trainable_params"],
    )
    assert capsys.readouterr().out == "\n".join(lines) + "\n"


def test_resnet_connected_to_wrapping():
    meta = _load_json("models", "resnet_block.json")
    lines = _summary_for(meta)
    i = lines.index(" add (Add)                   (None, 8, 8, 16)             0"
                    "         ['batch_normalization_1[0][0]'")
    assert lines[i + 1] == " " * 68 + ", 'conv2d_2[0][0]']           "
    i = [k for k, l in enumerate(lines) if l.startswith(" dense (Dense)")][0]
    assert lines[i].endswith("['global_average_pooling2d[0][")
    assert lines[i + 1].rstrip() == " " * 68 + "0]']"


# ---------------------------------------------------------------------------
# Layout details (expected text as printed by tf.keras 2.x)
# ---------------------------------------------------------------------------
def test_positions():
    assert compute_positions(False) == (
        65, [29, 55, 65], ["Layer (type)", "Output Shape", "Param #"])
    assert compute_positions(True) == (
        98, [29, 58, 68, 98],
        ["Layer (type)", "Output Shape", "Param #", "Connected to"])
    assert compute_positions(False, show_trainable=True)[:2] == (76, [29, 55, 65, 76])
    assert compute_positions(True, show_trainable=True)[:2] == (109, [29, 58, 68, 98, 109])
    assert compute_positions(False, line_length=100)[:2] == (100, [45, 85, 100])
    assert compute_positions(False, positions=[30, 60, 70])[:2] == (65, [30, 60, 70])


def test_caller_positions_list_not_mutated():
    positions = [0.45, 0.85, 1.0]
    format_summary("m", [], 0, 0, 0, positions=positions, show_trainable=True,
                   print_fn=lambda l: None)
    assert positions == [0.45, 0.85, 1.0]


def test_long_names_sequential():
    rows = [
        dict(name="Really-Long-name-test", class_name="Conv2D",
             output_shape=(None, 6, 6, 4), params=112),
        dict(name="Another-long-name-test", class_name="Conv2D",
             output_shape=(None, 4, 4, 4), params=148),
        dict(name="flatten", class_name="Flatten", output_shape=(None, 64), params=0),
        dict(name="long-name-test-output", class_name="Dense",
             output_shape=(None, 2), params=130),
    ]
    lines = format_summary("sequential", rows, 390, 390, 0, print_fn=lambda l: None)
    assert lines == [
        'Model: "sequential"',
        "_" * 65,
        " Layer (type)                Output Shape              Param #   ",
        "=" * 65,
        " Really-Long-name-test (Con  (None, 6, 6, 4)           112       ",
        " v2D)                                                            ",
        " " * 65,
        " Another-long-name-test (Co  (None, 4, 4, 4)           148       ",
        " nv2D)                                                           ",
        " " * 65,
        " flatten (Flatten)           (None, 64)                0         ",
        " " * 65,
        " long-name-test-output (Den  (None, 2)                 130       ",
        " se)                                                             ",
        " " * 65,
        "=" * 65,
        "Total params: 390 (1.52 KB)",
        "Trainable params: 390 (1.52 KB)",
        "Non-trainable params: 0 (0.00 Byte)",
        "_" * 65,
    ]


def test_show_trainable():
    rows = [
        dict(name="conv", class_name="Conv2D", output_shape="(None, 2, 3, 2)",
             params=62, trainable=False),
        dict(name="flat", class_name="Flatten", output_shape="(None, 12)",
             params=0, trainable=True),
        dict(name="dense", class_name="Dense", output_shape="(None, 5)",
             params=65, trainable=True),
    ]
    lines = format_summary("trainable", rows, 127, 65, 62, show_trainable=True,
                           print_fn=lambda l: None)
    assert lines == [
        'Model: "trainable"',
        "_" * 76,
        " Layer (type)                Output Shape              Param #   Trainable  ",
        "=" * 76,
        " conv (Conv2D)               (None, 2, 3, 2)           62        N          ",
        " " * 76,
        " flat (Flatten)              (None, 12)                0         Y          ",
        " " * 76,
        " dense (Dense)               (None, 5)                 65        Y          ",
        " " * 76,
        "=" * 76,
        "Total params: 127 (508.00 Byte)",
        "Trainable params: 65 (260.00 Byte)",
        "Non-trainable params: 62 (248.00 Byte)",
        "_" * 76,
    ]


def test_show_trainable_functional():
    rows = [
        dict(name="input_1", class_name="InputLayer", output_shape=[[None, 4]],
             params=0, connected_to=[], trainable=True),
        dict(name="dense", class_name="Dense", output_shape=[None, 2],
             params=10, connected_to=["input_1[0][0]"], trainable=False),
    ]
    lines = format_summary("model", rows, 10, 0, 10, functional=True,
                           show_trainable=True, print_fn=lambda l: None)
    assert lines[2] == (" Layer (type)                Output Shape                 Param #"
                        "   Connected to                  Trainable  ")
    assert lines[4] == (" input_1 (InputLayer)        [(None, 4)]                  0"
                        "         []                            Y          ")
    assert lines[6] == (" dense (Dense)               (None, 2)                    10"
                        "        ['input_1[0][0]']             N          ")
    assert all(len(l) == 109 for l in lines[1:-4] + lines[-1:])


def _nested_rows(trainable_conv=True):
    shape4 = "(None, None, None, 3)"
    in_shape = "[(None, None, None, 3)]"
    return [
        dict(name="input_3", class_name="InputLayer", output_shape=in_shape, params=0),
        dict(name="model_1", class_name="Functional", output_shape=shape4, params=24),
        dict(name="input_1", class_name="InputLayer", output_shape=in_shape,
             params=0, nested_level=1),
        dict(name="model", class_name="Functional", output_shape=shape4,
             params=24, nested_level=1),
        dict(name="input_2", class_name="InputLayer", output_shape=in_shape,
             params=0, nested_level=2),
        dict(name="conv2d", class_name="Conv2D", output_shape=shape4, params=12,
             nested_level=2, trainable=trainable_conv),
        dict(name="batch_normalization", class_name="BatchNormalization",
             output_shape=shape4, params=12, nested_level=2),
    ]


def test_expand_nested():
    lines = format_summary("model_2", _nested_rows(), 24, 18, 6,
                           print_fn=lambda l: None)
    top = "¯" * 65
    assert lines == [
        'Model: "model_2"',
        "_" * 65,
        " Layer (type)                Output Shape              Param #   ",
        "=" * 65,
        " input_3 (InputLayer)        [(None, None, None, 3)]   0         ",
        " " * 65,
        " model_1 (Functional)        (None, None, None, 3)     24        ",
        "|" + top[:63] + "|",
        "| input_1 (InputLayer)       [(None, None, None, 3)]   0        |",
        "|" + " " * 63 + "|",
        "| model (Functional)         (None, None, None, 3)     24       |",
        "||" + top[:61] + "||",
        "|| input_2 (InputLayer)      [(None, None, None, 3)]   0       ||",
        "||" + " " * 61 + "||",
        "|| conv2d (Conv2D)           (None, None, None, 3)     12      ||",
        "||" + " " * 61 + "||",
        "|| batch_normalization (Bat  (None, None, None, 3)     12      ||",
        "|| chNormalization)                                            ||",
        "|" + top[:63] + "|",
        top,
        "=" * 65,
        "Total params: 24 (96.00 Byte)",
        "Trainable params: 18 (72.00 Byte)",
        "Non-trainable params: 6 (24.00 Byte)",
        "_" * 65,
    ]


def test_expand_nested_show_trainable():
    rows = _nested_rows(trainable_conv=False)
    for row, name in zip(rows, ["input3", None, "input1", None, "input2"]):
        if name:
            row["name"] = name
    lines = format_summary("model_2", rows, 24, 6, 18, show_trainable=True,
                           print_fn=lambda l: None)
    assert lines[4:20] == [
        " input3 (InputLayer)         [(None, None, None, 3)]   0         Y          ",
        " " * 76,
        " model_1 (Functional)        (None, None, None, 3)     24        Y          ",
        "|" + "¯" * 74 + "|",
        "| input1 (InputLayer)        [(None, None, None, 3)]   0         Y         |",
        "|" + " " * 74 + "|",
        "| model (Functional)         (None, None, None, 3)     24        Y         |",
        "||" + "¯" * 72 + "||",
        "|| input2 (InputLayer)       [(None, None, None, 3)]   0         Y        ||",
        "||" + " " * 72 + "||",
        "|| conv2d (Conv2D)           (None, None, None, 3)     12        N        ||",
        "||" + " " * 72 + "||",
        "|| batch_normalization (Bat  (None, None, None, 3)     12        Y        ||",
        "|| chNormalization)                                                       ||",
        "|" + "¯" * 74 + "|",
        "¯" * 76,
    ]
    assert lines[20] == "=" * 76
    assert lines[-3:] == [
        "Trainable params: 6 (24.00 Byte)",
        "Non-trainable params: 18 (72.00 Byte)",
        "_" * 76,
    ]


def test_expand_nested_followed_by_top_level_layer():
    rows = [
        dict(name="inner", class_name="Sequential", output_shape="(None, 3)", params=12),
        dict(name="d1", class_name="Dense", output_shape="(None, 3)", params=12,
             nested_level=1),
        dict(name="d2", class_name="Dense", output_shape="(None, 1)", params=4),
    ]
    lines = format_summary("outer", rows, 16, 16, 0, print_fn=lambda l: None)
    assert lines[4:11] == [
        " inner (Sequential)          (None, 3)                 12        ",
        "|" + "¯" * 63 + "|",
        "| d1 (Dense)                 (None, 3)                 12       |",
        "¯" * 65,
        " d2 (Dense)                  (None, 1)                 4         ",
        " " * 65,
        "=" * 65,
    ]


def test_invalid_nesting_jump():
    rows = [dict(name="a", class_name="A", output_shape="?", params=0),
            dict(name="b", class_name="B", output_shape="?", params=0, nested_level=2)]
    with pytest.raises(ValueError):
        format_summary("m", rows, 0, 0, 0, print_fn=lambda l: None)


def test_break_after_markers():
    # Multiple output shapes break after "),"; short multi-entry connection
    # lists break after "',", as tf.keras does.
    rows = [dict(name="split", class_name="Split",
                 output_shape=[(None, 2), (None, 2)], params=0,
                 connected_to=["a[0][0]", "b[0][0]"])]
    lines = format_summary("m", rows, 0, 0, 0, functional=True,
                           print_fn=lambda l: None)
    assert lines[4:7] == [
        " split (Split)".ljust(29) + "[(None, 2),".ljust(29) + "0".ljust(10)
        + "['a[0][0]',".ljust(30),
        " " * 29 + " (None, 2)]".ljust(29) + " " * 10 + " 'b[0][0]']".ljust(30),
        " " * 98,
    ]


def test_unused_params_string_and_multiple_shape():
    rows = [dict(name="dense", class_name="Dense", output_shape="multiple",
                 params="0 (unused)")]
    lines = format_summary("my_model", rows, 0, 0, 0, print_fn=lambda l: None)
    assert lines[4] == " dense (Dense)               multiple                  0 (unused)"


def test_explicit_byte_sizes():
    lines = format_summary("m", [], 10, 6, 4, trainable_bytes=48,
                           non_trainable_bytes=4, print_fn=lambda l: None)
    assert lines[-4:-1] == [
        "Total params: 10 (52.00 Byte)",
        "Trainable params: 6 (48.00 Byte)",
        "Non-trainable params: 4 (4.00 Byte)",
    ]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("num_bytes,expected", [
    (0, "0.00 Byte"),
    (256, "256.00 Byte"),
    (1000, "1000.00 Byte"),
    (1023, "1023.00 Byte"),
    (1024, "1.00 KB"),
    (2 * 1024 - 1, "2.00 KB"),
    (2 * 1024 + 1, "2.00 KB"),
    (3589 * 4, "14.02 KB"),
    (3930 * 4, "15.35 KB"),
    (3866 * 4, "15.10 KB"),
    (19189 * 4, "74.96 KB"),
    (18496 * 4, "72.25 KB"),
    (1024 ** 2 + 1, "1.00 MB"),
    (1024 ** 3 - 1, "1024.00 MB"),
    (1024 ** 3, "1.00 GB"),
    (5 * 1024 ** 3 + 512 * 1024 ** 2, "5.50 GB"),
    (1024 ** 4, "1.00 TB"),
    (1024 ** 5, "1.00 PB"),
    (1024 ** 6, "1024.00 PB"),
])
def test_readable_memory_size(num_bytes, expected):
    assert readable_memory_size(num_bytes) == expected


@pytest.mark.parametrize("shape,expected", [
    ((None, 64), "(None, 64)"),
    ([None, 64], "(None, 64)"),
    ((None,), "(None,)"),
    ([None], "(None,)"),
    ((), "()"),
    ((None, 223, 223, 16), "(None, 223, 223, 16)"),
    ([[None, 16, 16, 8]], "[(None, 16, 16, 8)]"),
    ([(None, 16, 16, 8)], "[(None, 16, 16, 8)]"),
    ([(None, 2), (None, 3)], "[(None, 2), (None, 3)]"),
    ({"a": [None, 3]}, "{'a': (None, 3)}"),
    ("multiple", "multiple"),
    (None, "?"),
])
def test_format_shape(shape, expected):
    assert format_shape(shape) == expected


def test_format_shape_numpy_ints():
    np = pytest.importorskip("numpy")
    assert format_shape((None, np.int64(5), np.int32(2))) == "(None, 5, 2)"
