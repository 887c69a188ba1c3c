"""Property tests over layer arguments and input shapes: a layer either gives an output of the
shape its `compute_output_shape` predicted, or refuses with a deliberate minikeras error (a
ValueError/TypeError/NotImplementedError raised by minikeras code, naming the argument or the
input) - never an error from inside NumPy and never a silently empty result."""
import traceback

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minikeras as keras

L = keras.layers
SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
DELIBERATE = (ValueError, TypeError, NotImplementedError)
INPUT_WORDS = ("input", "shape", "dimension", "rank", "ndim", "axis", "axes", "size", "indices")

# Argument values: valid ones mixed with the wrong types and out-of-range values users pass.
small_int = st.integers(min_value=-2, max_value=6)
size = st.one_of(small_int, st.sampled_from([0, 2.5, True, "3", None, 10 ** 30]))
pair = st.one_of(size, st.tuples(small_int, small_int))
padding = st.sampled_from(["valid", "same", "causal", "full", 3])
rate = st.one_of(st.floats(min_value=-0.5, max_value=1.5), st.sampled_from([float("nan"), "x"]))
axis = st.one_of(st.integers(min_value=-4, max_value=4), st.lists(st.integers(-3, 3),
                                                                 max_size=3))

LAYERS = {
    "Dense": (L.Dense, {"units": size}),
    "Conv1D": (L.Conv1D, {"filters": size, "kernel_size": size, "strides": size,
                          "padding": padding, "dilation_rate": size}),
    "Conv2D": (L.Conv2D, {"filters": size, "kernel_size": pair, "strides": pair,
                          "padding": padding}),
    "Conv2DTranspose": (L.Conv2DTranspose, {"filters": size, "kernel_size": pair,
                                            "strides": pair, "padding": padding}),
    "SeparableConv1D": (L.SeparableConv1D, {"filters": size, "kernel_size": size,
                                            "depth_multiplier": size}),
    "DepthwiseConv2D": (L.DepthwiseConv2D, {"kernel_size": pair, "depth_multiplier": size}),
    "MaxPooling1D": (L.MaxPooling1D, {"pool_size": size, "strides": size, "padding": padding}),
    "AveragePooling2D": (L.AveragePooling2D, {"pool_size": pair, "strides": pair,
                                              "padding": padding}),
    "GlobalMaxPooling2D": (L.GlobalMaxPooling2D, {"keepdims": st.booleans()}),
    "Cropping1D": (L.Cropping1D, {"cropping": pair}),
    "Cropping2D": (L.Cropping2D, {"cropping": pair}),
    "ZeroPadding1D": (L.ZeroPadding1D, {"padding": pair}),
    "ZeroPadding2D": (L.ZeroPadding2D, {"padding": pair}),
    "UpSampling1D": (L.UpSampling1D, {"size": size}),
    "UpSampling2D": (L.UpSampling2D, {"size": pair}),
    "Reshape": (L.Reshape, {"target_shape": st.lists(st.integers(-2, 6), min_size=0,
                                                     max_size=3)}),
    "Flatten": (L.Flatten, {}),
    "Permute": (L.Permute, {"dims": st.lists(st.one_of(st.integers(0, 3), st.just(1.0)),
                                             max_size=3)}),
    "RepeatVector": (L.RepeatVector, {"n": size}),
    "Dropout": (L.Dropout, {"rate": rate}),
    "SpatialDropout1D": (L.SpatialDropout1D, {"rate": rate}),
    "GaussianNoise": (L.GaussianNoise, {"stddev": rate}),
    "Embedding": (L.Embedding, {"input_dim": size, "output_dim": size}),
    "LayerNormalization": (L.LayerNormalization, {"axis": axis}),
    "BatchNormalization": (L.BatchNormalization, {"axis": st.integers(-4, 4)}),
    "Softmax": (L.Softmax, {"axis": st.integers(-4, 4)}),
    "Activation": (L.Activation, {"activation": st.sampled_from(
        ["relu", "tanh", "softmax", "nonsense", None, 3])}),
    "Masking": (L.Masking, {"mask_value": st.one_of(st.floats(allow_nan=False), st.just("a"))}),
    "SimpleRNN": (L.SimpleRNN, {"units": size, "return_sequences": st.booleans()}),
    "LSTM": (L.LSTM, {"units": size, "dropout": rate}),
    "GRU": (L.GRU, {"units": size, "return_state": st.booleans()}),
}

input_shapes = st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=4).map(
    lambda dims: (2,) + tuple(dims))


def _raised_by_minikeras(error):
    """A deliberate error comes from a `raise` statement in minikeras code: not from inside
    NumPy, and not from Python itself tripping over a bad value (`'<=' not supported ...`)."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return False
    innermost = frames[-1]
    return "/minikeras/" in innermost.filename.replace("\\", "/") and \
        (innermost.line or "").lstrip().startswith("raise")


def _assert_deliberate(error, kwargs, stage):
    assert isinstance(error, DELIBERATE), f"{stage}: {type(error).__name__}: {error}"
    assert _raised_by_minikeras(error), (
        f"{stage}: error raised inside a library, not by minikeras: "
        f"{type(error).__name__}: {error}\n{''.join(traceback.format_tb(error.__traceback__))}")
    message = str(error)
    named = [name for name in kwargs if name in message] or \
        [word for word in INPUT_WORDS if word in message.lower()]
    assert named, f"{stage}: the message names neither an argument {list(kwargs)} nor the " \
                  f"input: {message}"


def _input_for(layer_name, shape):
    if layer_name == "Embedding":
        return np.ones(shape, "int32")
    return np.random.default_rng(0).standard_normal(shape).astype("float32")


@pytest.mark.parametrize("layer_name", sorted(LAYERS))
def test_layer_arguments_and_input_shapes(layer_name):
    cls, argument_strategies = LAYERS[layer_name]

    @SETTINGS
    @given(kwargs=st.fixed_dictionaries(argument_strategies), shape=input_shapes,
           training=st.booleans())
    def check(kwargs, shape, training):
        keras.backend.clear_session()
        try:
            layer = cls(**kwargs)
        except Exception as error:      # noqa: BLE001 - the property is about what is raised
            _assert_deliberate(error, kwargs, "constructor")
            return
        try:
            with np.errstate(all="ignore"):
                output = layer(_input_for(layer_name, shape), training=training)
        except Exception as error:      # noqa: BLE001
            _assert_deliberate(error, kwargs, "call")
            return
        expected = layer.compute_output_shape(shape)
        if isinstance(output, (list, tuple)):      # e.g. an RNN with return_state=True
            assert [tuple(o.shape) for o in output] == [tuple(e) for e in expected]
            output = output[0]
        else:
            assert tuple(output.shape) == tuple(expected)
        asked_for_zero = any(value == 0 and not isinstance(value, bool)
                             for value in kwargs.values() if isinstance(value, (int, float)))
        assert 0 not in output.shape or 0 in shape or asked_for_zero, \
            f"silently empty output {output.shape} for input {shape}"
    check()
