"""Seeded random layer configurations, recorded with tf_keras 2.21 (fid-fuzz sweep).

    python fuzz.py list                       # print the drawn specs (no TensorFlow needed)
    TF_ENABLE_ONEDNN_OPTS=0 TF_CPP_MIN_LOG_LEVEL=3 /work/peers/bin/python fuzz.py --peer record

For each layer class both libraries export, `draw_specs()` draws configurations from every
argument's domain with its edges (kernel 1 and larger than the input, even kernels with 'same',
strides larger than the kernel, 'causal', channels_first, every activation name, initializers,
regularizers and constraints by name, the RNN flags, masks, groups, depth multipliers, crop and
pad tuples, axes, ...) and an input shape (length-1 axes, batch 1). `record` builds each spec in
tf_keras and writes tests/fixtures/fuzz/cases.json (the specs and what tf_keras says: the error
type if it refuses, compute_output_shape, weight names and shapes, count_params, get_config,
losses) and cases.npz (float32: inputs, seeded weights, outputs, output masks, the gradients of
sum(output * R) with respect to the float inputs and trainable weights; inference and, for
layers whose training call is deterministic and different, training).
The tests read the files; they never import this recipe."""
import json
import os
import sys

import numpy as np

from peer import Drawer, fixture_dir

SEED = 20261206
ACTIVATIONS = ["relu", "sigmoid", "softmax", "softplus", "softsign", "tanh", "selu", "elu",
               "exponential", "linear", "hard_sigmoid", "gelu", "swish", "silu", "mish",
               "relu6", "leaky_relu", "log_softmax", None]
INITIALIZERS = ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
                "lecun_uniform", "ones", "zeros", "random_normal", "random_uniform",
                "truncated_normal", "orthogonal", "variance_scaling", "identity", "constant"]
REGULARIZERS = [None, "l1", "l2", "l1_l2"]
CONSTRAINTS = [None, "max_norm", "non_neg", "unit_norm", "min_max_norm", "radial_constraint"]


def spec(cls, kwargs, inputs, call_kwargs=None, mask=None, inner=None, training=False,
         int_input=None):
    """A case: `inputs` lists full input shapes (batch first); `mask` the shape of a boolean
    mask given as the call's `mask` argument; `int_input` (low, high) for integer inputs."""
    return {"cls": cls, "kwargs": kwargs, "inputs": inputs, "call_kwargs": call_kwargs or {},
            "mask": mask, "inner": inner, "training": training, "int_input": int_input}


def batch(d):
    return d.pick([1, 2, 3])


def dense_extras(d, kwargs, prefix=("kernel", "bias")):
    """Initializers, regularizers and constraints by name on some of the weights."""
    for part in prefix:
        if d.flip(0.3):
            kwargs[part + "_initializer"] = d.pick(INITIALIZERS)
        if d.flip(0.2):
            kwargs[part + "_regularizer"] = d.pick(REGULARIZERS)
        if d.flip(0.2):
            kwargs[part + "_constraint"] = d.pick(CONSTRAINTS)
    if d.flip(0.15):
        kwargs["activity_regularizer"] = d.pick(REGULARIZERS[1:])


# --- core --------------------------------------------------------------------------------------
def gen_dense(d):
    kwargs = {"units": d.pick([1, 1, 2, 5]), "activation": d.pick(ACTIVATIONS),
              "use_bias": d.flip(0.7)}
    dense_extras(d, kwargs)
    rank = d.pick([1, 1, 2, 3])
    shape = [batch(d)] + d.ints(rank - 1, 1, 3) + [d.pick([1, 3, 4])]
    return spec("Dense", kwargs, [shape])


def gen_activation(d):
    shape = [batch(d)] + d.ints(d.pick([1, 2]), 1, 4)
    return spec("Activation", {"activation": d.pick(ACTIVATIONS[:-1])}, [shape])


def gen_einsum(d):
    equation, out, shape, bias = d.pick([
        ("ab,bc->ac", [4], [2, 3], "c"), ("abc,cd->abd", [None, 4], [2, 3, 5], "d"),
        ("abc,cde->abde", [None, 2, 3], [2, 3, 4], "de"), ("abc,cd->abd", [1, 2], [1, 1, 3], "bd"),
        ("abcd,cde->abe", [2, 3], [2, 1, 2, 4], None), ("ab,b->a", [], [3, 4], None)])
    kwargs = {"equation": equation, "output_shape": out, "activation": d.pick(ACTIVATIONS)}
    if bias and d.flip(0.7):
        kwargs["bias_axes"] = bias
    dense_extras(d, kwargs)
    return spec("EinsumDense", kwargs, [shape])


def gen_embedding(d):
    dim = d.pick([1, 3, 5])
    kwargs = {"input_dim": dim, "output_dim": d.pick([1, 2, 4]), "mask_zero": d.flip()}
    if d.flip(0.3):
        kwargs["embeddings_initializer"] = d.pick(INITIALIZERS[:12])
    if d.flip(0.2):
        kwargs["embeddings_regularizer"] = d.pick(REGULARIZERS[1:])
    if d.flip(0.2):
        kwargs["embeddings_constraint"] = d.pick(CONSTRAINTS[1:4])
    length = d.pick([1, 2, 4])
    if d.flip(0.3):
        kwargs["input_length"] = length
    shape = [batch(d), length] + ([d.pick([1, 2])] if d.flip(0.2) else [])
    return spec("Embedding", kwargs, [shape], int_input=(0, dim))


def gen_masking(d):
    return spec("Masking", {"mask_value": d.pick([0.0, 1.0, -1.0])},
                [[batch(d), d.pick([1, 3]), d.pick([1, 2])]])


def gen_identity(d):
    return spec("Identity", {}, [[batch(d), 2]])


def gen_relu(d):
    kwargs = {}
    if d.flip():
        kwargs["max_value"] = d.pick([0.0, 0.5, 1.0, 6.0])
    if d.flip():
        kwargs["negative_slope"] = d.pick([0.0, 0.1, 1.0, 2.0])
    if d.flip():
        kwargs["threshold"] = d.pick([0.0, -0.5, 0.5])
    return spec("ReLU", kwargs, [[batch(d), 3, 2]])


def gen_leaky(d):
    return spec("LeakyReLU", {"alpha": d.pick([0.0, 0.3, 1.0, 1.5])}, [[batch(d), 4]])


def gen_prelu(d):
    shape = [batch(d), 2, 3, d.pick([1, 2])]
    kwargs = {}
    if d.flip():
        kwargs["shared_axes"] = d.pick([[1], [1, 2], [2], 1, [3]])
    if d.flip(0.4):
        kwargs["alpha_initializer"] = d.pick(["zeros", "ones", "random_normal", "constant"])
    if d.flip(0.2):
        kwargs["alpha_regularizer"] = "l2"
    if d.flip(0.2):
        kwargs["alpha_constraint"] = "non_neg"
    return spec("PReLU", kwargs, [shape])


def gen_elu(d):
    return spec("ELU", {"alpha": d.pick([0.0, 0.5, 1.0, 2.0])}, [[batch(d), 5]])


def gen_thresholded(d):
    return spec("ThresholdedReLU", {"theta": d.pick([0.0, 0.5, 1.0])}, [[batch(d), 5]])


def gen_softmax(d):
    shape = [batch(d), d.pick([1, 3]), d.pick([1, 4])]
    axis = d.pick([-1, 1, [1, 2], -2])
    return spec("Softmax", {"axis": axis}, [shape],
                call_kwargs={"mask_arg": list(shape)} if d.flip(0.3) else None)


# --- convolutions ------------------------------------------------------------------------------
def conv_kwargs(d, rank, transpose=False):
    kernel = [d.pick([1, 2, 3, 4]) for _ in range(rank)]
    kwargs = {"kernel_size": kernel if d.flip(0.6) else kernel[0],
              "padding": d.pick(["valid", "same"] + (["causal"] if rank == 1 and not transpose
                                                      else []))}
    if d.flip(0.5):
        strides = d.pick([1, 2, 3, 5])
        kwargs["strides"] = strides if d.flip() else [strides] + d.ints(rank - 1, 1, 3)
    elif d.flip(0.5):
        kwargs["dilation_rate"] = d.pick([2, 3]) if d.flip() else d.ints(rank, 1, 2)
    if d.flip(0.3):
        kwargs["data_format"] = "channels_first"
    kwargs["use_bias"] = d.flip(0.7)
    kwargs["activation"] = d.pick(ACTIVATIONS)
    return kwargs


def spatial_input(d, rank, channels, channels_first):
    sizes = [d.pick([1, 2, 3, 4, 5, 6, 7]) for _ in range(rank)]
    if rank == 3:
        sizes = [min(s, 4) for s in sizes]
    return [batch(d)] + ([channels] + sizes if channels_first else sizes + [channels])


def gen_conv(rank, transpose=False):
    def gen(d):
        kwargs = conv_kwargs(d, rank, transpose)
        kwargs["filters"] = d.pick([1, 2, 4])
        channels = d.pick([1, 2, 4])
        if not transpose and d.flip(0.25):
            kwargs["groups"] = d.pick([1, 2])
            channels, kwargs["filters"] = 4, d.pick([2, 4])
        if transpose and d.flip(0.3) and "strides" in kwargs:
            kwargs["output_padding"] = d.pick([0, 1])
        dense_extras(d, kwargs)
        cf = kwargs.get("data_format") == "channels_first"
        name = f"Conv{rank}D" + ("Transpose" if transpose else "")
        return spec(name, kwargs, [spatial_input(d, rank, channels, cf)])
    return gen


def gen_separable(rank):
    def gen(d):
        kwargs = conv_kwargs(d, rank)
        kwargs["filters"] = d.pick([1, 3])
        kwargs["depth_multiplier"] = d.pick([1, 2, 3])
        dense_extras(d, kwargs, ("depthwise", "pointwise", "bias"))
        cf = kwargs.get("data_format") == "channels_first"
        return spec(f"SeparableConv{rank}D", kwargs,
                    [spatial_input(d, rank, d.pick([1, 2]), cf)])
    return gen


def gen_depthwise(rank):
    def gen(d):
        kwargs = conv_kwargs(d, rank)
        kwargs["depth_multiplier"] = d.pick([1, 2, 3])
        dense_extras(d, kwargs, ("depthwise", "bias"))
        cf = kwargs.get("data_format") == "channels_first"
        return spec(f"DepthwiseConv{rank}D", kwargs,
                    [spatial_input(d, rank, d.pick([1, 2, 3]), cf)])
    return gen


def gen_locally(rank):
    def gen(d):
        kwargs = {"filters": d.pick([1, 2]), "kernel_size": d.pick([1, 2, 3]),
                  "implementation": d.pick([1, 2, 3]), "use_bias": d.flip(0.7),
                  "activation": d.pick(ACTIVATIONS)}
        if d.flip():
            kwargs["strides"] = d.pick([1, 2, 3])
        if kwargs["implementation"] != 1 and d.flip(0.3):
            kwargs["padding"] = "same"
        if d.flip(0.3):
            kwargs["data_format"] = "channels_first"
        cf = kwargs.get("data_format") == "channels_first"
        return spec(f"LocallyConnected{rank}D", kwargs,
                    [spatial_input(d, rank, d.pick([1, 2]), cf)])
    return gen


# --- pooling -----------------------------------------------------------------------------------
def gen_pool(kind, rank):
    def gen(d):
        pool = d.pick([1, 2, 3])
        kwargs = {"pool_size": pool if d.flip() else [pool] + d.ints(rank - 1, 1, 3),
                  "padding": d.pick(["valid", "same"])}
        if d.flip(0.6):
            kwargs["strides"] = d.pick([1, 2, 3, 4])
        if d.flip(0.3):
            kwargs["data_format"] = "channels_first"
        cf = kwargs.get("data_format") == "channels_first"
        return spec(f"{kind}Pooling{rank}D", kwargs, [spatial_input(d, rank, d.pick([1, 2]), cf)])
    return gen


def gen_global_pool(kind, rank):
    def gen(d):
        kwargs = {"keepdims": d.flip(0.4)}
        if d.flip(0.3):
            kwargs["data_format"] = "channels_first"
        cf = kwargs.get("data_format") == "channels_first"
        shape = spatial_input(d, rank, d.pick([1, 3]), cf)
        mask = None
        if rank == 1 and d.flip(0.4):
            mask = [shape[0], shape[2] if cf else shape[1]]
        return spec(f"Global{kind}Pooling{rank}D", kwargs, [shape], mask=mask)
    return gen


# --- recurrent ---------------------------------------------------------------------------------
def rnn_kwargs(d, cls):
    kwargs = {"units": d.pick([1, 2, 3]), "return_sequences": d.flip(), "return_state": d.flip(0.4),
              "go_backwards": d.flip(0.3), "unroll": d.flip(0.25), "use_bias": d.flip(0.8)}
    if d.flip(0.3):
        kwargs["activation"] = d.pick(["relu", "sigmoid", "linear", "softsign", "elu"])
    if cls != "SimpleRNN" and d.flip(0.3):
        kwargs["recurrent_activation"] = d.pick(["hard_sigmoid", "tanh", "relu", "linear"])
    if d.flip(0.3):
        kwargs["dropout"] = d.pick([0.0, 0.5])
    if d.flip(0.3):
        kwargs["recurrent_dropout"] = d.pick([0.0, 0.3])
    if cls == "GRU" and d.flip(0.4):
        kwargs["reset_after"] = False
    if cls == "LSTM" and d.flip(0.3):
        kwargs["unit_forget_bias"] = False
    if cls != "SimpleRNN" and d.flip(0.3):
        kwargs["implementation"] = d.pick([1, 2])
    dense_extras(d, kwargs, ("kernel", "recurrent", "bias"))
    return kwargs


def gen_rnn(cls):
    def gen(d):
        kwargs = rnn_kwargs(d, cls)
        b, t, f = batch(d), d.pick([1, 2, 4]), d.pick([1, 3])
        shape = [b, t, f]
        if d.flip(0.2):
            kwargs["time_major"] = True
            shape = [t, b, f]
        mask = [b, t] if d.flip(0.35) and not kwargs.get("time_major") else None
        call = {}
        if d.flip(0.2):
            call["initial_state"] = "zeros_like_states"
        return spec(cls, kwargs, [shape], mask=mask, call_kwargs=call)
    return gen


def gen_conv_lstm(rank):
    def gen(d):
        kwargs = conv_kwargs(d, rank)
        kwargs.pop("activation")
        if kwargs["padding"] == "causal":
            kwargs["padding"] = "valid"
        kwargs.update({"filters": d.pick([1, 2]), "return_sequences": d.flip(),
                       "return_state": d.flip(0.3), "go_backwards": d.flip(0.3)})
        if "strides" in kwargs and "dilation_rate" in kwargs:
            kwargs.pop("dilation_rate")
        cf = kwargs.get("data_format") == "channels_first"
        frame = spatial_input(d, rank, d.pick([1, 2]), cf)
        if rank == 2:
            frame = frame[:1] + [min(s, 4) for s in frame[1:]]
        return spec(f"ConvLSTM{rank}D", kwargs, [[frame[0], d.pick([1, 2])] + frame[1:]])
    return gen


def gen_bidirectional(d):
    cls = d.pick(["LSTM", "GRU", "SimpleRNN"])
    inner = {"cls": cls, "kwargs": {"units": d.pick([1, 2]), "return_sequences": d.flip(),
                                    "return_state": d.flip(0.3)}}
    kwargs = {"merge_mode": d.pick(["concat", "sum", "mul", "ave", None])}
    b, t = batch(d), d.pick([1, 3])
    mask = [b, t] if d.flip(0.3) else None
    return spec("Bidirectional", kwargs, [[b, t, 2]], inner=inner, mask=mask)


def gen_time_distributed(d):
    inner = d.pick([{"cls": "Dense", "kwargs": {"units": 2, "activation": "tanh"}},
                    {"cls": "Conv1D", "kwargs": {"filters": 2, "kernel_size": 2}},
                    {"cls": "Flatten", "kwargs": {}},
                    {"cls": "BatchNormalization", "kwargs": {}}])
    b, t = batch(d), d.pick([1, 3])
    shape = [b, t, 3] if inner["cls"] == "Dense" else [b, t, 3, 2]
    return spec("TimeDistributed", {}, [shape], inner=inner,
                training=inner["cls"] == "BatchNormalization")


# --- normalization -----------------------------------------------------------------------------
def gen_batchnorm(d):
    rank = d.pick([2, 3, 4, 5])
    shape = [d.pick([1, 2, 3])] + d.ints(rank - 1, 1, 3)
    axis = d.pick([-1, 1, rank - 1, [1, rank - 1]] if rank > 2 else [-1, 1])
    kwargs = {"axis": axis, "epsilon": d.pick([1e-3, 1e-5, 0.1]),
              "momentum": d.pick([0.99, 0.5, 0.0]), "center": d.flip(0.7), "scale": d.flip(0.7)}
    if d.flip(0.2):
        kwargs["gamma_initializer"] = d.pick(["zeros", "random_normal"])
    if d.flip(0.2):
        kwargs["beta_regularizer"] = "l2"
    if d.flip(0.2):
        kwargs["gamma_constraint"] = "non_neg"
    return spec("BatchNormalization", kwargs, [shape], training=True)


def gen_layernorm(d):
    rank = d.pick([2, 3, 4])
    shape = [batch(d)] + d.ints(rank - 1, 1, 3)
    axis = d.pick([-1, 1, list(range(1, rank)), [rank - 1]] if rank > 2 else [-1, 1])
    kwargs = {"axis": axis, "epsilon": d.pick([1e-3, 1e-6, 0.5]), "center": d.flip(0.7),
              "scale": d.flip(0.7)}
    return spec("LayerNormalization", kwargs, [shape])


def gen_groupnorm(d):
    channels = d.pick([2, 4, 6])
    groups = d.pick([g for g in (1, 2, 3, 6, -1) if g == -1 or channels % g == 0])
    rank = d.pick([3, 4])
    shape = [batch(d)] + d.ints(rank - 2, 1, 3) + [channels]
    axis = -1
    if d.flip(0.3):
        shape = [shape[0], channels] + shape[1:-1]
        axis = 1
    kwargs = {"groups": groups, "axis": axis, "epsilon": d.pick([1e-3, 0.1]),
              "center": d.flip(0.7), "scale": d.flip(0.7)}
    return spec("GroupNormalization", kwargs, [shape])


def gen_unitnorm(d):
    shape = [batch(d), d.pick([1, 3]), d.pick([1, 4])]
    return spec("UnitNormalization", {"axis": d.pick([-1, 1, [1, 2]])}, [shape])


def gen_normalization(d):
    shape = [batch(d), 2, 3]
    axis = d.pick([-1, None, 1, [1, 2]])
    sizes = {-1: [3], None: [], 1: [2], (1, 2): [2, 3]}[tuple(axis) if isinstance(axis, list)
                                                        else axis]
    rng = np.random.default_rng(len(sizes))
    mean = np.round(rng.normal(size=sizes), 2).tolist()
    variance = np.round(rng.uniform(0.5, 2, size=sizes), 2).tolist()
    return spec("Normalization", {"axis": axis, "mean": mean, "variance": variance,
                                  "invert": d.flip(0.3)}, [shape])


# --- attention ---------------------------------------------------------------------------------
def gen_mha(d):
    kwargs = {"num_heads": d.pick([1, 2, 3]), "key_dim": d.pick([1, 2, 3])}
    if d.flip(0.3):
        kwargs["value_dim"] = d.pick([1, 4])
    if d.flip(0.3):
        kwargs["use_bias"] = False
    if d.flip(0.3):
        kwargs["output_shape"] = d.pick([2, [2], [1]])
    b, tq, tv = batch(d), d.pick([1, 3]), d.pick([1, 2])
    dim = d.pick([2, 3])
    query, value = [b, tq, dim], [b, tv, dim]
    if d.flip(0.25):
        kwargs["attention_axes"] = d.pick([[1], [2], [1, 2]])
        query, value = [b, tq, 2, dim], [b, tv, 2, dim]
    inputs = [query, value] + ([list(value)] if d.flip(0.3) else [])
    call = {"return_attention_scores": d.flip(0.4)}
    if d.flip(0.3) and "attention_axes" not in kwargs:
        call["use_causal_mask"] = True
    if d.flip(0.3):
        call["attention_mask"] = [b, tq, tv] if "attention_axes" not in kwargs else None
    if call.get("attention_mask") is None:
        call.pop("attention_mask", None)
    return spec("MultiHeadAttention", kwargs, inputs, call_kwargs=call)


def gen_attention(cls):
    def gen(d):
        kwargs = {"use_scale": d.flip()}
        if cls == "Attention" and d.flip(0.4):
            kwargs["score_mode"] = "concat"
        b, tq, tv, dim = batch(d), d.pick([1, 3]), d.pick([1, 2]), d.pick([1, 3])
        inputs = [[b, tq, dim], [b, tv, dim]] + ([[b, tv, dim]] if d.flip(0.3) else [])
        call = {"return_attention_scores": d.flip(0.4)}
        if d.flip(0.3):
            call["use_causal_mask"] = True
        if d.flip(0.4):
            call["mask"] = [[b, tq], [b, tv]]
        return spec(cls, kwargs, inputs, call_kwargs=call)
    return gen


# --- merging -----------------------------------------------------------------------------------
def gen_merge(cls):
    def gen(d):
        b = batch(d)
        shape = [b] + d.ints(d.pick([1, 2]), 1, 3)
        count = 2 if cls == "Subtract" else d.pick([2, 3])
        inputs = [list(shape) for _ in range(count)]
        if len(shape) > 2 and d.flip(0.3):
            inputs[1][1] = 1          # broadcast along an axis
        if d.flip(0.2) and cls != "Subtract":
            inputs[-1] = inputs[-1][:-1]   # a lower-rank input (tf.keras expands it)
            if len(inputs[-1]) < 2:
                inputs[-1] = list(shape)
        return spec(cls, {}, inputs)
    return gen


def gen_concat(d):
    b = batch(d)
    shape = [b] + d.ints(d.pick([1, 2]), 1, 3)
    axis = d.pick(list(range(-len(shape) + 1, len(shape))))
    real = axis % len(shape)
    inputs = []
    for _ in range(d.pick([2, 3])):
        s = list(shape)
        if real != 0:
            s[real] = d.pick([1, 2])
        inputs.append(s)
    return spec("Concatenate", {"axis": axis}, inputs)


def gen_dot(d):
    b = batch(d)
    case = d.pick(["2d", "3d_last", "3d_12", "3d_mixed"])
    if case == "2d":
        inputs, axes = [[b, 3], [b, 3]], d.pick([1, -1, [1, 1]])
    elif case == "3d_last":
        inputs, axes = [[b, 2, 3], [b, 4, 3]], d.pick([2, -1, [2, 2]])
    elif case == "3d_12":
        inputs, axes = [[b, 2, 3], [b, 2, 4]], 1
    else:
        inputs, axes = [[b, 2, 3], [b, 3, 4]], [2, 1]
    return spec("Dot", {"axes": axes, "normalize": d.flip(0.4)}, inputs)


# --- reshaping ---------------------------------------------------------------------------------
def gen_reshape(d):
    shape, target = d.pick([([2, 3, 4], [12]), ([2, 3, 4], [-1, 2]), ([2, 6], [3, -1]),
                            ([2, 1, 1], [1]), ([1, 4], [2, 2, 1])])
    return spec("Reshape", {"target_shape": target}, [shape])


def gen_flatten(d):
    shape = [batch(d)] + d.ints(d.pick([1, 2, 3]), 1, 3)
    kwargs = {"data_format": "channels_first"} if d.flip(0.4) else {}
    return spec("Flatten", kwargs, [shape])


def gen_permute(d):
    dims = d.pick([[2, 1], [1, 2], [3, 1, 2], [2, 3, 1], [1, 3, 2]])
    shape = [batch(d)] + d.ints(len(dims), 1, 3)
    return spec("Permute", {"dims": dims}, [shape])


def gen_repeat(d):
    return spec("RepeatVector", {"n": d.pick([1, 3])}, [[batch(d), d.pick([1, 2])]])


def tuple_arg(d, rank, low, high):
    """An int, a tuple of ints or a tuple of pairs."""
    form = d.pick(["int", "tuple", "pairs"])
    if form == "int":
        return d.int(low, high)
    if form == "tuple":
        return d.ints(rank, low, high) if rank > 1 else d.int(low, high)
    return [d.ints(2, low, high) for _ in range(rank)] if rank > 1 else d.ints(2, low, high)


def gen_crop(rank):
    def gen(d):
        kwargs = {"cropping": tuple_arg(d, rank, 0, 2)}
        if rank > 1 and d.flip(0.3):
            kwargs["data_format"] = "channels_first"
        cf = kwargs.get("data_format") == "channels_first"
        sizes = [d.pick([4, 5, 6]) for _ in range(rank)]
        shape = [batch(d)] + ([1] + sizes if cf else sizes + [d.pick([1, 2])])
        return spec(f"Cropping{rank}D", kwargs, [shape])
    return gen


def gen_pad(rank):
    def gen(d):
        kwargs = {"padding": tuple_arg(d, rank, 0, 2)}
        if rank > 1 and d.flip(0.3):
            kwargs["data_format"] = "channels_first"
        cf = kwargs.get("data_format") == "channels_first"
        sizes = d.ints(rank, 1, 3)
        shape = [batch(d)] + ([2] + sizes if cf else sizes + [1])
        return spec(f"ZeroPadding{rank}D", kwargs, [shape])
    return gen


def gen_upsample(rank):
    def gen(d):
        size = d.pick([1, 2, 3])
        kwargs = {"size": size if rank == 1 or d.flip() else d.ints(rank, 1, 3)}
        if rank > 1 and d.flip(0.3):
            kwargs["data_format"] = "channels_first"
        if rank == 2 and d.flip(0.5):
            kwargs["interpolation"] = d.pick(["nearest", "bilinear", "bicubic", "area",
                                              "lanczos3", "gaussian", "mitchellcubic"])
        cf = kwargs.get("data_format") == "channels_first"
        sizes = d.ints(rank, 1, 3)
        shape = [batch(d)] + ([2] + sizes if cf else sizes + [2])
        return spec(f"UpSampling{rank}D", kwargs, [shape])
    return gen


# --- preprocessing (numeric) -------------------------------------------------------------------
def gen_rescaling(d):
    return spec("Rescaling", {"scale": d.pick([1 / 255.0, 2.0, -1.0, 0.0]),
                              "offset": d.pick([0.0, -1.0, 0.5])}, [[batch(d), 2, 3]])


def gen_center_crop(d):
    h, w = d.pick([3, 5]), d.pick([2, 4])
    return spec("CenterCrop", {"height": d.pick([1, 2, 3]), "width": d.pick([1, 2, 4])},
                [[batch(d), h, w, 2]])


def gen_resizing(d):
    kwargs = {"height": d.pick([1, 3, 5]), "width": d.pick([2, 4]),
              "interpolation": d.pick(["bilinear", "nearest", "bicubic", "area"]),
              "crop_to_aspect_ratio": d.flip(0.3)}
    return spec("Resizing", kwargs, [[batch(d), d.pick([2, 4]), d.pick([3, 5]), 1]])


def gen_discretization(d):
    bins = d.pick([[0.0], [-1.0, 0.0, 1.0], [0.5, 0.5, 2.0], []])
    kwargs = {"bin_boundaries": bins}
    if d.flip(0.3):
        kwargs["output_mode"] = d.pick(["one_hot", "multi_hot", "count"])
    shape = [batch(d), d.pick([1, 3])] if kwargs.get("output_mode") else [batch(d), 2, 3]
    return spec("Discretization", kwargs, [shape])


def gen_category(d):
    kwargs = {"num_tokens": d.pick([1, 3, 5]),
              "output_mode": d.pick(["multi_hot", "one_hot", "count"])}
    if d.flip(0.3):
        kwargs["sparse"] = False
    shape = [batch(d)] + ([1] if kwargs["output_mode"] == "one_hot" and d.flip() else
                          [d.pick([1, 2, 3])])
    if kwargs["output_mode"] == "one_hot" and d.flip(0.3):
        shape = [shape[0]]
    return spec("CategoryEncoding", kwargs, [shape], int_input=(0, kwargs["num_tokens"]))


def gen_hashing(d):
    kwargs = {"num_bins": d.pick([1, 3, 7])}
    if d.flip(0.3):
        kwargs["mask_value"] = 0
    if d.flip(0.3):
        kwargs["salt"] = d.pick([1, [3, 4]])
    if d.flip(0.3):
        kwargs["output_mode"] = d.pick(["one_hot", "multi_hot", "count"])
    shape = [batch(d), 1 if kwargs.get("output_mode") == "one_hot" else 3]
    return spec("Hashing", kwargs, [shape], int_input=(0, 20))


def gen_integer_lookup(d):
    kwargs = {"vocabulary": [3, 7, 1], "num_oov_indices": d.pick([0, 1, 2]),
              "output_mode": d.pick(["int", "one_hot", "multi_hot", "count"]),
              "mask_token": d.pick([None, 0]), "invert": False}
    if kwargs["num_oov_indices"] == 0:
        return spec("IntegerLookup", kwargs, [[batch(d), 1]], int_input=(1, 2))
    shape = [batch(d), 1 if kwargs["output_mode"] == "one_hot" else 3]
    return spec("IntegerLookup", kwargs, [shape], int_input=(0, 9))


# --- regularization ----------------------------------------------------------------------------
def gen_dropout(cls):
    def gen(d):
        rank = {"SpatialDropout1D": 3, "SpatialDropout2D": 4, "SpatialDropout3D": 5}.get(cls, 3)
        shape = [batch(d)] + d.ints(rank - 1, 1, 3)
        arg = {"GaussianNoise": "stddev"}.get(cls, "rate")
        kwargs = {arg: d.pick([0.0, 0.3, 0.9])}
        if cls == "Dropout" and d.flip(0.3):
            kwargs["noise_shape"] = [None, 1, shape[2]]
        if cls.startswith("SpatialDropout") and cls != "SpatialDropout1D" and d.flip(0.3):
            kwargs["data_format"] = "channels_first"
        # a zero rate is the identity in training too: compare that call as well
        return spec(cls, kwargs, [shape], training=kwargs[arg] == 0.0)
    return gen


def gen_activity_reg(d):
    return spec("ActivityRegularization", {"l1": d.pick([0.0, 0.01, 1.0]),
                                           "l2": d.pick([0.0, 0.5])}, [[batch(d), 3]])


# --- random image layers (compared at inference), wrappers of cells, kernels ------------------
def image_input(d, channels=None):
    return [batch(d), d.pick([1, 3, 4]), d.pick([2, 5]), channels or d.pick([1, 3])]


def factor(d):
    return d.pick([0.0, 0.2, 0.5, [-0.1, 0.3], [0.0, 0.0]])


def gen_random_image(cls):
    def gen(d):
        kwargs = {}
        if cls == "RandomFlip":
            kwargs["mode"] = d.pick(["horizontal", "vertical", "horizontal_and_vertical"])
        elif cls in ("RandomRotation", "RandomZoom", "RandomTranslation"):
            first = "factor" if cls == "RandomRotation" else "height_factor"
            kwargs[first] = factor(d)
            if cls != "RandomRotation":
                kwargs["width_factor"] = d.pick([None, 0.1, [-0.2, 0.2]]) \
                    if cls == "RandomZoom" else factor(d)
            kwargs["fill_mode"] = d.pick(["reflect", "wrap", "constant", "nearest"])
            kwargs["interpolation"] = d.pick(["bilinear", "nearest"])
            if d.flip(0.3):
                kwargs["fill_value"] = d.pick([0.0, 1.5])
        elif cls == "RandomContrast":
            kwargs["factor"] = d.pick([0.0, 0.5, [0.1, 0.9]])
        elif cls == "RandomBrightness":
            kwargs["factor"] = d.pick([0.0, 0.3, [-0.2, 0.4]])
            kwargs["value_range"] = d.pick([[0, 255], [0.0, 1.0], [-1, 1]])
        elif cls == "RandomCrop":
            kwargs.update(height=d.pick([1, 2, 4]), width=d.pick([1, 2, 3]))
        else:
            kwargs["factor"] = d.pick([0.0, 0.2, [-0.1, 0.3]])
            kwargs["interpolation"] = d.pick(["bilinear", "nearest", "bicubic"])
        if d.flip(0.3):
            kwargs["seed"] = d.pick([0, 7])
        shape = image_input(d)
        if d.flip(0.2) and cls not in ("RandomCrop", "RandomHeight", "RandomWidth"):
            shape = shape[1:]            # a single image
        return spec(cls, kwargs, [shape])
    return gen


def gen_rnn_cells(d):
    names = ["SimpleRNNCell", "LSTMCell", "GRUCell"]
    cells = [{"cls": d.pick(names), "kwargs": {"units": d.pick([1, 2, 3])}}
             for _ in range(d.pick([1, 1, 2, 3]))]
    for cell in cells:
        if d.flip(0.3):
            cell["kwargs"]["use_bias"] = False
        if cell["cls"] == "GRUCell" and d.flip(0.3):
            cell["kwargs"]["reset_after"] = False
    kwargs = {"return_sequences": d.flip(), "return_state": d.flip(0.4),
              "go_backwards": d.flip(0.3), "unroll": d.flip(0.3)}
    b, t = batch(d), d.pick([1, 3])
    mask = [b, t] if d.flip(0.3) else None
    return spec("RNN", kwargs, [[b, t, d.pick([1, 2])]], inner=cells if len(cells) > 1 else
                cells[0], mask=mask)


def gen_spectral(d):
    inner = d.pick([{"cls": "Dense", "kwargs": {"units": d.pick([1, 3])}},
                    {"cls": "Conv2D", "kwargs": {"filters": 2, "kernel_size": 2}}])
    kwargs = {"power_iterations": d.pick([1, 2])}
    shape = [batch(d), 4] if inner["cls"] == "Dense" else [batch(d), 3, 3, 2]
    return spec("SpectralNormalization", kwargs, [shape], inner=inner, training=True)


def gen_rff(d):
    kwargs = {"output_dim": d.pick([1, 4]),
              "kernel_initializer": d.pick(["gaussian", "laplacian"]),
              "scale": d.pick([None, 0.5, 3.0]), "trainable": d.flip()}
    return spec("RandomFourierFeatures", kwargs, [[batch(d), d.pick([1, 3])]])


def decorate(case, d):
    """Arguments every layer takes: trainable, dtype, input_shape, name."""
    kwargs = case["kwargs"]
    if d.flip(0.3):
        kwargs["trainable"] = False
    if d.flip(0.25) and not case["int_input"]:
        kwargs["dtype"] = d.pick(["float64", "float16", "mixed_float16"])
    if d.flip(0.3):
        kwargs["input_shape"] = case["inputs"][0][1:]
    if d.flip(0.2):
        kwargs["name"] = d.pick(["custom", "layer_7"])
    return case


GENERATORS = {
    "Dense": (gen_dense, 14), "Activation": (gen_activation, 10), "EinsumDense": (gen_einsum, 8),
    "Embedding": (gen_embedding, 8), "Masking": (gen_masking, 3), "Identity": (gen_identity, 1),
    "ReLU": (gen_relu, 8), "LeakyReLU": (gen_leaky, 3), "PReLU": (gen_prelu, 6),
    "ELU": (gen_elu, 3), "ThresholdedReLU": (gen_thresholded, 3), "Softmax": (gen_softmax, 6),
    "Conv1D": (gen_conv(1), 14), "Conv2D": (gen_conv(2), 14), "Conv3D": (gen_conv(3), 6),
    "Conv1DTranspose": (gen_conv(1, True), 8), "Conv2DTranspose": (gen_conv(2, True), 10),
    "Conv3DTranspose": (gen_conv(3, True), 5),
    "SeparableConv1D": (gen_separable(1), 8), "SeparableConv2D": (gen_separable(2), 8),
    "DepthwiseConv1D": (gen_depthwise(1), 8), "DepthwiseConv2D": (gen_depthwise(2), 8),
    "LocallyConnected1D": (gen_locally(1), 6), "LocallyConnected2D": (gen_locally(2), 6),
    "MaxPooling1D": (gen_pool("Max", 1), 6), "MaxPooling2D": (gen_pool("Max", 2), 6),
    "MaxPooling3D": (gen_pool("Max", 3), 4), "AveragePooling1D": (gen_pool("Average", 1), 6),
    "AveragePooling2D": (gen_pool("Average", 2), 6),
    "AveragePooling3D": (gen_pool("Average", 3), 4),
    "GlobalMaxPooling1D": (gen_global_pool("Max", 1), 4),
    "GlobalAveragePooling1D": (gen_global_pool("Average", 1), 5),
    "GlobalMaxPooling2D": (gen_global_pool("Max", 2), 3),
    "GlobalAveragePooling2D": (gen_global_pool("Average", 2), 3),
    "GlobalMaxPooling3D": (gen_global_pool("Max", 3), 2),
    "GlobalAveragePooling3D": (gen_global_pool("Average", 3), 2),
    "SimpleRNN": (gen_rnn("SimpleRNN"), 10), "LSTM": (gen_rnn("LSTM"), 12),
    "GRU": (gen_rnn("GRU"), 12), "ConvLSTM1D": (gen_conv_lstm(1), 4),
    "ConvLSTM2D": (gen_conv_lstm(2), 3), "Bidirectional": (gen_bidirectional, 8),
    "TimeDistributed": (gen_time_distributed, 5),
    "BatchNormalization": (gen_batchnorm, 12), "LayerNormalization": (gen_layernorm, 8),
    "GroupNormalization": (gen_groupnorm, 6), "UnitNormalization": (gen_unitnorm, 4),
    "Normalization": (gen_normalization, 5),
    "MultiHeadAttention": (gen_mha, 12), "Attention": (gen_attention("Attention"), 8),
    "AdditiveAttention": (gen_attention("AdditiveAttention"), 6),
    "Add": (gen_merge("Add"), 4), "Subtract": (gen_merge("Subtract"), 3),
    "Multiply": (gen_merge("Multiply"), 3), "Average": (gen_merge("Average"), 3),
    "Maximum": (gen_merge("Maximum"), 3), "Minimum": (gen_merge("Minimum"), 3),
    "Concatenate": (gen_concat, 6), "Dot": (gen_dot, 8),
    "Reshape": (gen_reshape, 4), "Flatten": (gen_flatten, 5), "Permute": (gen_permute, 4),
    "RepeatVector": (gen_repeat, 2), "Cropping1D": (gen_crop(1), 4),
    "Cropping2D": (gen_crop(2), 5), "Cropping3D": (gen_crop(3), 3),
    "ZeroPadding1D": (gen_pad(1), 3), "ZeroPadding2D": (gen_pad(2), 5),
    "ZeroPadding3D": (gen_pad(3), 3), "UpSampling1D": (gen_upsample(1), 3),
    "UpSampling2D": (gen_upsample(2), 8), "UpSampling3D": (gen_upsample(3), 3),
    "Rescaling": (gen_rescaling, 3), "CenterCrop": (gen_center_crop, 4),
    "Resizing": (gen_resizing, 5), "Discretization": (gen_discretization, 5),
    "CategoryEncoding": (gen_category, 6), "Hashing": (gen_hashing, 5),
    "IntegerLookup": (gen_integer_lookup, 5),
    "Dropout": (gen_dropout("Dropout"), 3),
    "SpatialDropout1D": (gen_dropout("SpatialDropout1D"), 2),
    "SpatialDropout2D": (gen_dropout("SpatialDropout2D"), 2),
    "SpatialDropout3D": (gen_dropout("SpatialDropout3D"), 1),
    "GaussianNoise": (gen_dropout("GaussianNoise"), 2),
    "GaussianDropout": (gen_dropout("GaussianDropout"), 2),
    "AlphaDropout": (gen_dropout("AlphaDropout"), 2),
    "ActivityRegularization": (gen_activity_reg, 3),
    "RandomFlip": (gen_random_image("RandomFlip"), 3),
    "RandomRotation": (gen_random_image("RandomRotation"), 4),
    "RandomZoom": (gen_random_image("RandomZoom"), 4),
    "RandomTranslation": (gen_random_image("RandomTranslation"), 4),
    "RandomContrast": (gen_random_image("RandomContrast"), 3),
    "RandomBrightness": (gen_random_image("RandomBrightness"), 3),
    "RandomCrop": (gen_random_image("RandomCrop"), 4),
    "RandomHeight": (gen_random_image("RandomHeight"), 3),
    "RandomWidth": (gen_random_image("RandomWidth"), 3),
    "RNN": (gen_rnn_cells, 8), "SpectralNormalization": (gen_spectral, 4),
    "RandomFourierFeatures": (gen_rff, 4),
}
# classes drawn a second time with the arguments every layer takes (`decorate`)
DECORATED = ["Dense", "Conv2D", "Conv1D", "LSTM", "GRU", "SimpleRNN", "BatchNormalization",
             "LayerNormalization", "Embedding", "MultiHeadAttention", "Add", "Concatenate",
             "MaxPooling2D", "GlobalAveragePooling1D", "Flatten", "Reshape", "PReLU", "Softmax",
             "Dropout", "Bidirectional", "TimeDistributed", "Normalization", "EinsumDense",
             "DepthwiseConv2D", "Conv2DTranspose", "UpSampling2D", "ZeroPadding2D", "Rescaling"]


# cases of other seeds (explored with FUZZ_SEED) on which minikeras differed, kept as `sN_<id>`
EXTRA_CASES = {7: ["Add_d0", "Add_d1", "Add_d2", "GlobalMaxPooling1D_2"],
               8: ["Conv1DTranspose_2", "Conv1DTranspose_7", "Conv2DTranspose_9"]}


def draw_specs(seed=SEED, extras=True):
    """Every class's configurations, each drawn from its own seeded stream."""
    specs = []
    for index, (name, (gen, count)) in enumerate(sorted(GENERATORS.items())):
        for k in range(count):
            case = gen(Drawer(seed * 1000 + index * 37 + k))
            case["id"] = f"{name}_{k}"
            specs.append(case)
    for index, name in enumerate(DECORATED):
        gen = GENERATORS[name][0]
        for k in range(3):
            d = Drawer(seed * 1000 + 500 + index * 37 + k)
            case = decorate(gen(d), d)
            case["id"] = f"{name}_d{k}"
            specs.append(case)
    if extras and seed == SEED:
        for other, ids in EXTRA_CASES.items():
            drawn = {case["id"]: case for case in draw_specs(other, extras=False)}
            specs.extend(dict(drawn[i], id=f"s{other}_{i}") for i in ids)
    return specs


# cases on which TensorFlow 2.21 dies with a segmentation fault (not recorded)
TF_CRASHES = []
TF_CRASHES += [c for c in os.environ.get("FUZZ_CRASHES", "").split(",") if c]


# --- recording with tf_keras -------------------------------------------------------------------
def seeded(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def make_inputs(case, seed):
    arrays = []
    for k, shape in enumerate(case["inputs"]):
        if case["int_input"]:
            low, high = case["int_input"]
            arrays.append(np.random.default_rng(seed + k).integers(low, max(high, low + 1),
                                                                   shape).astype(np.int32))
        else:
            arrays.append(seeded(shape, seed + k))
    return arrays


def make_mask(shape, seed):
    """A boolean mask with the first step always kept (a fully masked row is its own case)."""
    mask = np.random.default_rng(seed).random(shape) > 0.35
    mask[(slice(None), 0) if len(shape) > 1 else 0] = True
    return mask


def record():
    import tensorflow as tf
    import tf_keras as keras
    # (tf_keras' own JSON conversions: numpy scalars, TensorShapes)
    from tf_keras.src.saving.legacy.saved_model.json_utils import get_json_type as json_type

    def build(case):
        kwargs = dict(case["kwargs"])
        args = []
        inner = case["inner"]
        if isinstance(inner, list):
            args.append([getattr(keras.layers, i["cls"])(**i["kwargs"]) for i in inner])
        elif inner:
            args.append(getattr(keras.layers, inner["cls"])(**inner["kwargs"]))
        layers = keras.layers if hasattr(keras.layers, case["cls"]) else \
            keras.layers.experimental
        return getattr(layers, case["cls"])(*args, **kwargs)

    def call_arguments(case, tensors, seed):
        """The call's inputs and keyword arguments (masks and states made from the spec)."""
        kw = dict(case["call_kwargs"])
        arrays = {}
        if "mask_arg" in kw:
            arrays["mask_arg"] = make_mask(kw.pop("mask_arg"), seed + 50)
            kw["mask"] = tf.constant(arrays["mask_arg"])
        if case["mask"]:
            arrays["mask"] = make_mask(case["mask"], seed + 50)
            kw["mask"] = tf.constant(arrays["mask"])
        if isinstance(kw.get("mask"), list) and not isinstance(kw["mask"], tf.Tensor):
            arrays["mask_q"] = make_mask(kw["mask"][0], seed + 51)
            arrays["mask_v"] = make_mask(kw["mask"][1], seed + 52)
            kw["mask"] = [tf.constant(arrays["mask_q"]), tf.constant(arrays["mask_v"])]
        if "attention_mask" in kw:
            arrays["attention_mask"] = make_mask(kw["attention_mask"], seed + 53)
            kw["attention_mask"] = tf.constant(arrays["attention_mask"])
        if kw.get("initial_state") == "zeros_like_states":
            units = case["kwargs"]["units"]
            b = case["inputs"][0][1 if case["kwargs"].get("time_major") else 0]
            count = 2 if case["cls"] == "LSTM" else 1
            states = [seeded((b, units), seed + 60 + k) for k in range(count)]
            for k, s in enumerate(states):
                arrays[f"state{k}"] = s
            kw["initial_state"] = [tf.constant(s) for s in states]
        if case["cls"] == "MultiHeadAttention":
            return tensors, kw, arrays
        if len(case["inputs"]) > 1:
            return [list(tensors)], kw, arrays
        return [tensors[0]], kw, arrays

    def facts_of_error(error):
        return {"error": type(error).__name__, "message": str(error)[:300]}

    class ChannelsLastTwin:
        """The channels_last layer called on the transposed input, its output transposed back."""

        def __init__(self, layer, activation):
            self.layer = layer
            self.activation = keras.activations.get(activation)

        def __getattr__(self, name):
            return getattr(self.layer, name)

        def __call__(self, x, **kw):
            rank = len(x.shape)
            y = self.layer(tf.transpose(x, [0] + list(range(2, rank)) + [1]), **kw)
            # (the activation after the transpose: softmax works on the last axis)
            return self.activation(tf.transpose(y, [0, rank - 1] + list(range(1, rank - 1))))

    def channels_last_twin(case, layer, error):
        if case["kwargs"].get("data_format") != "channels_first" or case["inner"] or \
                type(error).__name__ not in ("UnimplementedError", "InvalidArgumentError") or \
                not any(word in str(error) for word in ("NHWC", "NDHWC")):
            return None
        kwargs = dict(case["kwargs"], data_format="channels_last")
        kwargs.pop("activation", None)
        return ChannelsLastTwin(getattr(keras.layers, case["cls"])(**kwargs),
                                case["kwargs"].get("activation"))

    specs = draw_specs(int(os.environ.get("FUZZ_SEED", SEED)))   # (another seed: exploring)
    facts, arrays = [], {}
    for number, case in enumerate(specs):
        keras.backend.clear_session()
        tf.random.set_seed(1)
        seed = 1000 + 17 * number
        tag = f"c{number}_"
        fact = {"spec": case}
        facts.append(fact)
        print(case["id"], file=sys.stderr, flush=True)
        if case["id"] in TF_CRASHES:
            fact.update(error="crash", message="TensorFlow itself crashes (segfault)",
                        stage="call")
            continue
        xs = make_inputs(case, seed)
        for k, x in enumerate(xs):
            arrays[tag + f"x{k}"] = x
        try:
            layer = build(case)
        except Exception as error:  # noqa: BLE001 (the error type is the fact)
            fact.update(facts_of_error(error), stage="init")
            continue
        shapes = [tuple([None] + s[1:]) for s in case["inputs"]]
        try:
            if case["cls"] == "MultiHeadAttention":
                out_shape = layer.compute_output_shape(*shapes[:2])
            else:
                out_shape = layer.compute_output_shape(shapes if len(shapes) > 1 else shapes[0])
            fact["fresh_output_shape"] = json.loads(json.dumps(
                out_shape.as_list() if hasattr(out_shape, "as_list") else
                [o.as_list() if hasattr(o, "as_list") else o for o in out_shape]
                if isinstance(out_shape, (list, tuple)) and out_shape and
                hasattr(out_shape[0], "as_list") else out_shape, default=json_type))
        except Exception as error:  # noqa: BLE001
            fact["fresh_output_shape_error"] = type(error).__name__
        tensors = [tf.constant(x) for x in xs]
        try:
            inputs, kw, extra = call_arguments(case, tensors, seed)
            for key, value in extra.items():
                arrays[tag + key] = value
            layer(*inputs, training=False, **kw)
            twin = None
        except Exception as error:  # noqa: BLE001
            twin = channels_last_twin(case, layer, error)
            if twin is None:
                fact.update(facts_of_error(error), stage="call")
                continue
            # TensorFlow's CPU kernels refuse NCHW: the numbers come from the channels_last
            # layer given the transposed input (the weights' layouts are the same)
            fact["via_channels_last"] = type(error).__name__
            try:
                twin(*inputs, training=False, **kw)
            except Exception as twin_error:  # noqa: BLE001
                fact.update(facts_of_error(twin_error), stage="call")
                continue
        fact["weight_names"] = [w.name for w in layer.weights]
        fact["weight_shapes"] = [list(w.shape) for w in layer.weights]
        fact["trainable"] = [any(w is t for t in layer.trainable_weights) for w in layer.weights]
        fact["count_params"] = int(layer.count_params())
        fact["config"] = json.loads(json.dumps(layer.get_config(), default=json_type))
        if twin is not None:
            layer = twin
        weights = []
        for k, w in enumerate(layer.weights):
            value = seeded(w.shape, seed + 100 + k, 0.5)
            if "variance" in w.name:
                value = np.abs(value) + 0.5
            if w.dtype != tf.float32:
                value = w.numpy()
            weights.append(value)
            arrays[tag + f"w{k}"] = value
        layer.set_weights(weights)
        modes = [False, True] if case["training"] else [False]
        for mode in modes:
            mtag = tag + ("t_" if mode else "")
            tensors = [tf.constant(x) for x in xs]
            inputs, kw, _ = call_arguments(case, tensors, seed)
            with tf.GradientTape(persistent=True) as tape:
                for t in tensors:
                    if t.dtype.is_floating:
                        tape.watch(t)
                out = layer(*inputs, training=mode, **kw)
                outs = tf.nest.flatten(out)
                total = 0.0
                for k, o in enumerate(outs):
                    if o.dtype.is_floating:
                        r = seeded(o.shape, seed + 200 + k)
                        arrays[mtag + f"R{k}"] = r
                        total = total + tf.reduce_sum(o * r)
            fact["n_outputs"] = len(outs)
            fact["output_dtypes"] = [o.dtype.name for o in outs]
            for k, o in enumerate(outs):
                arrays[mtag + f"y{k}"] = o.numpy().astype(np.float32)
                mask = getattr(o, "_keras_mask", None)
                if mask is not None:
                    arrays[mtag + f"ym{k}"] = mask.numpy()
            if not mode and not (twin is not None and case["kwargs"].get("activity_regularizer")):
                # (the twin's activity regularizer would see the output before the activation)
                fact["losses"] = [float(v) for v in layer.losses]
            floats = [t for t in tensors if t.dtype.is_floating]
            if any(0 in o.shape for o in outs):   # (tf's backprop of an empty conv crashes)
                fact["empty_output"] = True
            elif not isinstance(total, float):
                try:
                    grads = tape.gradient(total, floats + list(layer.trainable_weights))
                except (LookupError, tf.errors.InvalidArgumentError) as error:
                    # (ResizeArea has no gradient in tf, ScaleAndTranslateGrad no float64 one)
                    fact["grad_error"] = str(error)
                    grads = []
                for k, g in enumerate(grads[:len(floats)]):
                    if g is not None:
                        arrays[mtag + f"gx{k}"] = tf.convert_to_tensor(g).numpy()
                for k, g in enumerate(grads[len(floats):]):
                    if g is not None:
                        arrays[mtag + f"gw{k}"] = tf.convert_to_tensor(g).numpy()
            if mode:
                for k, w in enumerate(layer.weights):
                    arrays[mtag + f"after{k}"] = w.numpy()
    here = os.environ.get("FUZZ_OUT") or fixture_dir("fuzz")
    os.makedirs(here, exist_ok=True)
    np.savez_compressed(os.path.join(here, "cases.npz"), **arrays)
    with open(os.path.join(here, "cases.json"), "w") as f:
        json.dump(facts, f, indent=None, separators=(",", ":"))
    print(len(facts), "cases,", sum(1 for f in facts if "error" in f), "errors")


if __name__ == "__main__":
    if "list" in sys.argv:
        for case in draw_specs():
            print(json.dumps(case))
    else:
        from peer import require_peer
        require_peer()
        record()
