"""Differentiable NumPy ops: the Keras 3 `keras.ops` names with Keras 3's signatures, plus the
fused kernels the layers call (`dense`, `bias_add`, the crossentropies from logits, ...).

The Keras 3 names come from `numpy_ops.py` (`keras.ops.numpy`), `nn_ops.py`
(`keras.ops.nn`), `linalg.py` (`keras.ops.linalg`), `image_ops.py` (`keras.ops.image`)
and `core_ops.py` (control flow, slicing, scatter, segments, special functions, FFTs).
"""
import sys
import types

from .math import (  # noqa: F401
    add, subtract, multiply, divide, divide_no_nan, power, maximum, minimum, matmul, tensordot,
    negative, abs, square, sqrt, exp, log, log1p, expm1, sin, cos, tanh, sigmoid, softplus, erf,
    sign, floor, round, clip, where, stop_gradient, cast, sum, mean, max, min, prod, var, std,
    logsumexp, cumsum, argmax, argmin, reshape, transpose, expand_dims, squeeze, broadcast_to,
    concatenate, stack, split, getitem, gather, pad, tile, repeat, flip, equal, not_equal,
    greater, greater_equal, less, less_equal, convert_to_tensor, batch_dot,
)
from ..core.tensor import as_array, unwrap  # noqa: F401  (Tensor -> NumPy, for layers)
from ..core import dispatch
from .nn import (  # noqa: F401
    dense, bias_add, relu, leaky_relu, elu, selu, softsign, softmax, log_softmax,
    softmax_cross_entropy, sparse_softmax_cross_entropy, sigmoid_cross_entropy, dropout,
    l2_normalize,
)
from .einsum import einsum  # noqa: F401
from . import second_order  # noqa: F401,E402  (differentiable gradients while recording)

# The Keras 3 names (they replace the kernels' names above where Keras 3's signature or
# defaults differ: argmax's axis=None, concatenate's axis=0, Keras 3's hard_sigmoid, ...).
# `relu` stays the kernel's, a superset of Keras 3's `relu(x)`.
from .core_ops import (  # noqa: F401,E402
    associative_scan, cast, cdist, cond, convert_to_numpy, convert_to_tensor, custom_gradient,
    dtype, erf, erfc, erfinv, istft, extract_sequences, fft, fft2, fori_loop, ifft2, in_top_k, irfft,
    is_tensor, map, polar, rearrange, rfft, saturate_cast, scan, scatter, scatter_update, segment_max,
    segment_min, segment_prod, segment_sum, shape, slice, slice_update, stft, stop_gradient, switch,
    top_k, unstack, vectorized_map, view_as_complex, view_as_real, while_loop,
)
from .nn_ops import (  # noqa: F401,E402
    adaptive_average_pool, adaptive_max_pool, fold, unfold,
    average_pool, batch_normalization, binary_crossentropy, categorical_crossentropy, celu,
    conv, conv_transpose, depth_to_space, depthwise_conv, dot_product_attention, elu, gelu,
    glu, hard_shrink, hard_sigmoid, hard_silu, hard_swish, hard_tanh, layer_normalization,
    leaky_relu, log_sigmoid, log_softmax, max_pool, moments, multi_hot, normalize, one_hot,
    psnr, relu6, rms_normalization, selu, separable_conv, sigmoid, silu, soft_shrink, softmax,
    softplus, softsign, space_to_depth, sparse_categorical_crossentropy, sparse_plus,
    sparse_sigmoid, sparsemax, squareplus, swish, tanh_shrink, threshold,
)
from .linalg import (  # noqa: F401,E402
    cholesky, cholesky_inverse, det, eig, eigh, inv, jvp, logdet, lstsq, lu_factor,
    matrix_rank, norm, pinv, qr, slogdet, solve, solve_triangular, svd,
)
from .numpy_ops import (  # noqa: F401,E402
    abs, absolute, add, all, allclose, amax, amin, angle, any, append, arange, arccos, arccosh,
    arcsin, arcsinh, arctan, arctan2, arctanh, argmax, argmin, argpartition, argsort, array,
    array_split, average, bartlett, bincount, bitwise_and, bitwise_invert, bitwise_left_shift,
    bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, blackman, broadcast_to, cbrt,
    ceil, clip, concatenate, conj, conjugate, copy, corrcoef, correlate, cos, cosh,
    count_nonzero, cross, cumprod, cumsum, deg2rad, diag, diagflat, diagonal, diff, digitize,
    divide, divide_no_nan, dot, dsplit, dstack, einsum, empty, empty_like, equal, exp, exp2,
    expand_dims, expm1, eye, fabs, flip, fliplr, flipud, floor, floor_divide, fmax, fmin, fmod,
    full, full_like, gcd, geomspace, get_item, greater, greater_equal, hamming, hanning,
    heaviside, histogram, hsplit, hstack, hypot, i0, identity, imag, inner, isclose, isfinite,
    isin, isinf, isnan, isneginf, isposinf, isreal, kaiser, kron, lcm, ldexp, left_shift, less,
    less_equal, linspace, log, log10, log1p, log2, logaddexp, logaddexp2, logical_and,
    logical_not, logical_or, logical_xor, logspace, logsumexp, matmul, max, maximum, mean,
    median, meshgrid, min, minimum, mod, moveaxis, multiply, nan_to_num, nanargmax, nanargmin,
    nancumprod, nancumsum, nanmax, nanmean, nanmedian, nanmin, nanpercentile, nanprod,
    nanquantile, nanstd, nansum, nanvar, ndim, negative, nextafter, nonzero, not_equal, ones,
    ones_like, outer, pad, percentile, power, prod, ptp, quantile, rad2deg, ravel, real,
    reciprocal, repeat, reshape, right_shift, roll, rot90, round, rsqrt, searchsorted, select,
    sign, signbit, sin, sinc, sinh, size, sort, split, sqrt, square, squeeze, stack, std,
    subtract, sum, swapaxes, take, take_along_axis, tan, tanh, tensordot, tile, trace,
    transpose, trapezoid, tri, tril, triu, true_divide, trunc, unique, unravel_index, vander,
    var, vdot, vectorize, view, vsplit, vstack, where, zeros, zeros_like,
)
from .ctc import ctc_decode, ctc_loss  # noqa: F401,E402
from . import linalg  # noqa: F401,E402
from . import numpy_ops as numpy  # noqa: E402
from . import image_ops as image  # noqa: F401,E402  (`ops.image`; the kernels: ops/image.py)
from . import nn  # noqa: E402

# `keras.ops.numpy` importable by its module path too.
sys.modules[__name__ + ".numpy"] = numpy

# Modules whose public functions are Keras 3 `keras.ops` functions.
_KERAS3_MODULES = {"core_ops", "nn_ops", "linalg", "numpy_ops", "image_ops", "ctc", "einsum"}
# Functions that answer about a symbolic tensor instead of recording an operation on it.
_NOT_RECORDED = {"shape", "dtype", "is_tensor", "convert_to_numpy"}


def _record_on_symbolic_tensors():
    """A Keras 3 op given a symbolic tensor (`keras.Input`) records a graph node, as Keras 3
    does: `keras.ops.exp(x)` in a functional model. The node layer is made above this floor
    (the engine registers the handler for "ops")."""
    wrapped = {}
    namespace = globals()
    originals = dict(namespace)

    def wrap(name, function):
        # Keras 3 names an alias's node after the function (`abs` records `Absolute`); a
        # factory-made function (`__name__` "apply") after its public name.
        if originals.get(function.__name__) is function:
            name = function.__name__
        if id(function) not in wrapped:
            wrapped[id(function)] = dispatch.symbolic_dispatch("ops", name)(function)
        return wrapped[id(function)]

    def is_keras3_function(name, value):
        return (isinstance(value, types.FunctionType) and not name.startswith("_")
                and name not in _NOT_RECORDED
                and value.__module__.rpartition(".")[2] in _KERAS3_MODULES
                and not hasattr(value, "__wrapped_keras_function__"))

    for name, value in list(namespace.items()):
        if is_keras3_function(name, value) or (name == "relu" and callable(value)):
            namespace[name] = wrap(name, value)
    recorded = {name for name, value in namespace.items()
                if hasattr(value, "__wrapped_keras_function__")}
    # `keras.ops.image.resize`, `keras.ops.nn.softmax`: a function that is not the top-level
    # one of its name is recorded under its qualified name ("image.resize"). The kernel
    # module `nn` is wrapped only for its Keras 3 names.
    for prefix, module in (("numpy", numpy), ("linalg", linalg), ("image", image), ("nn", nn)):
        for name, value in list(vars(module).items()):
            if prefix == "nn":
                eligible = name in recorded and isinstance(value, types.FunctionType) and \
                    not hasattr(value, "__wrapped_keras_function__")
            else:
                eligible = is_keras3_function(name, value) and value.__module__ == module.__name__
            if eligible:
                public = name if originals.get(name) is value else f"{prefix}.{name}"
                setattr(module, name, wrap(public, value))


_record_on_symbolic_tensors()


def _add_keras3_names():
    """`keras.ops.nn` is the kernel module `ops/nn.py`; it gains the Keras 3 names it lacks,
    `hard_sigmoid` among them (Keras 3's relu6(x + 3) / 6; the Keras 2 activation uses the
    kernel `nn.keras2_hard_sigmoid`). `keras.ops.numpy.slogdet` lives in linalg.py (which
    imports numpy_ops)."""
    for name in NN_NAMES:
        if not hasattr(nn, name):
            setattr(nn, name, globals()[name])
    numpy.slogdet = linalg.slogdet


NN_NAMES = (
    "adaptive_average_pool", "adaptive_max_pool", "average_pool", "batch_normalization",
    "binary_crossentropy", "categorical_crossentropy", "celu", "conv", "conv_transpose",
    "depth_to_space", "depthwise_conv", "dot_product_attention", "elu", "gelu", "glu",
    "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "layer_normalization",
    "log_sigmoid", "max_pool", "moments", "multi_hot", "normalize", "one_hot", "psnr", "relu6",
    "rms_normalization", "separable_conv", "silu", "soft_shrink", "space_to_depth",
    "sparse_categorical_crossentropy", "sparse_plus", "sparse_sigmoid", "sparsemax",
    "squareplus", "swish", "tanh_shrink", "threshold", "sigmoid", "softplus", "polar",
    "fold", "unfold", "ctc_loss", "ctc_decode",
)
_add_keras3_names()
