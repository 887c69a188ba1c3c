"""The known gaps fixed against tf.keras 2.21's recorded behaviour (fixtures/diff_sweep/
known_gaps.json): Dense units coercion, float32 losses of Python lists, training with Dense(0),
the first layer's config after a `.keras` round trip, the tf.keras 2 utils module paths."""
import importlib
import json
import os
import warnings

import numpy as np
import pytest

import minikeras as keras
from conftest import FIXTURES

with open(os.path.join(FIXTURES, "diff_sweep", "known_gaps.json")) as f:
    FACTS = json.load(f)
UNITS = {"2.5": 2.5, "'3'": "3", "0": 0, "-1": -1, "None": None, "'a'": "a", "3.0": 3.0,
         "True": True}


@pytest.mark.parametrize("label", sorted(UNITS))
def test_dense_units_as_tf_keras(label):
    expected = FACTS["dense_units"][label]
    if "units" in expected:
        assert keras.layers.Dense(UNITS[label]).units == expected["units"]
    else:
        with pytest.raises(getattr(__builtins__, expected["error"], None) or
                           {"ValueError": ValueError, "TypeError": TypeError}[expected["error"]],
                           match=expected["message"].replace("(", r"\(").replace(")", r"\)")):
            keras.layers.Dense(UNITS[label])


def test_conv_float_filters_as_tf_keras():
    assert keras.layers.Conv2D(2.5, 3).filters == FACTS["conv_filters_2.5"]


def test_losses_of_python_lists_are_float32():
    dtypes = FACTS["loss_dtypes"]
    assert keras.losses.mean_squared_error([1., 2.], [1.5, 2.5]).dtype == dtypes["mse_function"]
    assert keras.losses.MeanSquaredError()([1., 2.], [1.5, 2.5]).dtype == dtypes["MeanSquaredError"]
    assert keras.losses.binary_crossentropy([[0., 1.]], [[0.3, 0.7]]).dtype == \
        dtypes["binary_crossentropy"]
    # NumPy float64 arrays stay float64, as tf.convert_to_tensor keeps them
    assert keras.losses.mean_squared_error(np.ones(2), np.zeros(2)).dtype == np.float64


def test_dense_zero_trains_as_tf_keras():
    # one epoch: tf.keras 2.21 repeats its first step's numbers in later epochs of this model
    # (its empty variables), which is no behaviour to copy
    model = keras.Sequential([keras.layers.Dense(0, input_shape=(3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    history = model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0, epochs=1)
    expected = FACTS["dense0"]
    np.testing.assert_allclose(history.history["loss"], expected["loss"], rtol=1e-6)
    assert [list(w.shape) for w in model.get_weights()] == expected["weight_shapes"]
    np.testing.assert_allclose(model.predict(np.ones((2, 3)), verbose=0),
                               expected["prediction"], rtol=1e-6)


def test_keras_round_trip_keeps_the_first_layer_input_shape(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="d0"),
                              keras.layers.Dense(1, name="d1")])
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert list(loaded.layers[0].get_config()["batch_input_shape"]) == \
        FACTS["roundtrip_first_layer_batch_input_shape"]
    # a Sequential built with build() has no such shape on its first layer, in tf.keras too
    built = keras.Sequential([keras.layers.Dense(2, name="e0")])
    built.build((None, 3))
    config = json.loads(built.to_json())["config"]["layers"]
    assert "batch_input_shape" not in config[1]["config"]


# The tf.keras 2 names scripts commonly import from these module paths.
COMMON = {"data_utils": ["get_file", "Sequence", "pad_sequences", "validate_file", "Progbar"],
          "np_utils": ["to_categorical", "normalize", "to_ordinal"],
          "generic_utils": ["Progbar", "to_list", "has_arg", "func_dump", "func_load",
                            "to_snake_case", "slice_arrays", "make_batches", "validate_kwargs",
                            "get_custom_objects", "custom_object_scope", "CustomObjectScope",
                            "serialize_keras_object", "deserialize_keras_object",
                            "register_keras_serializable", "get_registered_name"],
          "layer_utils": ["count_params", "print_summary", "get_source_inputs"],
          "conv_utils": ["conv_output_length", "conv_input_length", "deconv_output_length",
                         "normalize_tuple", "normalize_padding", "normalize_data_format",
                         "convert_kernel"],
          "vis_utils": ["model_to_dot", "plot_model"],
          "io_utils": ["ask_to_proceed_with_overwrite", "print_msg", "path_to_string",
                       "enable_interactive_logging", "disable_interactive_logging",
                       "is_interactive_logging_enabled"]}


# Modules whose Keras 2.x versions held more than tf.keras 2.21's (re-exported registry and
# serialization helpers, `convert_kernel`).
KERAS_2X_EXTRAS = ("generic_utils", "data_utils", "conv_utils")


@pytest.mark.parametrize("module", sorted(COMMON))
def test_tf_keras_2_utils_module_paths(module):
    imported = importlib.import_module(f"minikeras.utils.{module}")
    for name in COMMON[module]:
        # each is a tf.keras 2 name of that module (or one it re-exported in Keras 2.x)
        assert name in FACTS["utils_modules"][module] or module in KERAS_2X_EXTRAS, name
        assert callable(getattr(imported, name)), name


def test_utils_helpers_work():
    from minikeras.utils.generic_utils import func_dump, func_load, to_list, make_batches
    from minikeras.utils.conv_utils import conv_input_length, convert_kernel
    from minikeras.utils.layer_utils import count_params, get_source_inputs
    scale = 3
    restored = func_load(func_dump(lambda x, y=2: x * y * scale))
    assert restored(2) == 12 and restored.__defaults__ == (2,)
    assert to_list((1, 2)) == [(1, 2)] and to_list([1]) == [1]
    assert make_batches(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert conv_input_length(4, 3, "valid", 2) == 9
    kernel = np.arange(8.0).reshape(2, 2, 1, 2)
    np.testing.assert_array_equal(convert_kernel(kernel), kernel[::-1, ::-1])
    a, b = keras.Input((3,)), keras.Input((2,))
    out = keras.layers.concatenate([keras.layers.Dense(2)(a), b])
    assert get_source_inputs(out) == [a, b]
    model = keras.Model([a, b], out)
    assert count_params(model.weights) == model.count_params() == 8
    np.testing.assert_array_equal(keras.utils.to_ordinal([0, 2], num_classes=3),
                                  [[0, 0], [1, 1]])
