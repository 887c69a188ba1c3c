"""Differentiable NumPy ops (the Keras 3 `keras.ops` names where they exist)."""
from .math import (  # noqa: F401
    add, subtract, multiply, divide, divide_no_nan, power, maximum, minimum, matmul, tensordot,
    negative, abs, square, sqrt, exp, log, log1p, expm1, sin, cos, tanh, sigmoid, softplus, erf,
    sign, floor, round, clip, where, stop_gradient, cast, sum, mean, max, min, prod, var, std,
    logsumexp, cumsum, argmax, argmin, reshape, transpose, expand_dims, squeeze, broadcast_to,
    concatenate, stack, split, getitem, gather, pad, tile, repeat, flip, equal, not_equal,
    greater, greater_equal, less, less_equal, convert_to_tensor, batch_dot,
)
from ..core.tensor import as_array, unwrap  # noqa: F401  (Tensor -> NumPy, for layers)
from .nn import (  # noqa: F401
    dense, bias_add, relu, leaky_relu, elu, selu, softsign, hard_sigmoid, softmax, log_softmax,
    softmax_cross_entropy, sparse_softmax_cross_entropy, sigmoid_cross_entropy, dropout,
    l2_normalize,
)

from .einsum import einsum  # noqa: F401

take = gather
