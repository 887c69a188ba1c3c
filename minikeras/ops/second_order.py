"""Gradients that can be differentiated again: gradient penalties (WGAN-GP), Hessian-vector
products, input-gradient regularizers.

The tape's usual backward pass (`core.tensor.compute_gradients`) runs each op's backward
function on NumPy arrays: fast, but its result is a constant. When a gradient is taken while
something records (an enclosing `GradientTape`, a train step, a persistent tape inside its own
block), `GradientTape.gradient` walks the same graph here instead and applies each op's
*rule*: the op's backward written with recorded ops on the op's inputs and output, so the
gradient is itself a recorded graph that any tape can differentiate.

Rules are kept apart from the ops, keyed by the code object of the backward function an op
records (`node._backward.__code__`): the ops and their fast first-order path are untouched,
and a rule reads what the op's backward closure holds (axes, masks, the convolution's
geometry) by the closure's variable names. When an op the walk needs has no rule, the
gradients come from the NumPy backward as recorded ops that raise NotImplementedError naming
that op if they are differentiated (a gradient merely taken inside another tape still works).
"""
import types

import numpy as np

from ..core.tensor import (Tensor, _leading_to, _topological_order, compute_gradients,
                           record, set_recorded_gradients, unwrap)
from . import batch_norm as _batch_norm
from . import conv as _conv
from . import conv_kernels, conv_pool as _conv_pool, pool_kernels
from . import embedding as _embedding
from . import layer_norm as _layer_norm
from . import math as M
from . import nn as _nn
from . import numpy_ops as _numpy_ops
from . import recurrent as _recurrent

_RULES = {}


def _backward_code(function, name):
    """The code object of the function named `name` defined directly inside `function`."""
    found = [const for const in function.__code__.co_consts
             if isinstance(const, types.CodeType) and const.co_name == name]
    if len(found) != 1:
        raise LookupError(f"{function.__qualname__} defines {len(found)} functions named "
                          f"{name!r}; a second-order rule needs exactly one")
    return found[0]


def rule_for(function, name="backward"):
    """Register the decorated rule for the backward function `name` of op `function`.

    A rule is `rule(node, g, needs, env)`: `node` the op's output (a recorded Tensor, its
    inputs in `node._parents`), `g` the output's gradient (a Tensor), `needs[i]` whether input
    i wants a gradient, `env` the backward closure's variables by name. It returns one
    gradient (a Tensor made by recorded ops, or None) per input."""
    def register(rule):
        _RULES[_backward_code(function, name)] = rule
        return rule
    return register


def _op_name(backward):
    # a function's __qualname__ (code objects carry it only from Python 3.11)
    name = getattr(backward, "__qualname__", type(backward).__name__)
    return name.split(".<locals>")[0].lstrip("_")


def _closure(function):
    """The closure's variables and the defaults of its arguments (how a backward made in a
    loop keeps its own values), by name."""
    code = function.__code__
    env = {name: cell.cell_contents
           for name, cell in zip(code.co_freevars, function.__closure__ or ())}
    defaults = function.__defaults__ or ()
    if defaults:
        env.update(zip(code.co_varnames[code.co_argcount - len(defaults):code.co_argcount],
                       defaults))
    return env


def _unsupported(name):
    return NotImplementedError(
        f"second-order gradient of {name} is not supported by minikeras (its gradient was "
        f"taken while a GradientTape or a training step records, to be differentiated again)")


def _apply_rule(node, grad, needs):
    backward = node._backward
    rule = _RULES.get(getattr(backward, "__code__", None))
    if rule is None:
        raise _unsupported(_op_name(backward))
    return rule(node, grad, needs, _closure(backward))


def recorded_gradients(targets, sources, output_gradients, untracked_sources=False):
    """Gradients of the sum of `targets` w.r.t. `sources` built from recorded ops (see the
    module docstring); one Tensor or None per source.

    `untracked_sources`: a source nothing tracked when it was used still gets its gradient
    through the recorded ops that used it (`tf.gradients` in a graph, where every tensor is
    differentiable); a tape's unwatched tensor gets None."""
    grads = {}
    for target, seed in zip(targets, output_gradients):
        seed = Tensor(np.ones_like(target.data)) if seed is None else M.cast(
            M.convert_to_tensor(seed), target.dtype)
        _add_into(grads, target, seed)
    wanted = {id(s) for s in sources}
    order = _recorded_order(targets, wanted if untracked_sources else ())
    # only inputs from which a source is reached get a gradient (and need a rule)
    leading = _leading_to(order, wanted)
    missing = _op_without_rule(order, leading)
    if missing is not None and not untracked_sources:
        return _gradients_refusing_differentiation(targets, sources, output_gradients, missing)
    for node in reversed(order):
        grad = grads.get(id(node)) if id(node) in wanted else grads.pop(id(node), None)
        if grad is None or node._backward is None:
            continue
        needs = tuple((needed or id(parent) in wanted) and id(parent) in leading
                      for parent, needed in zip(node._parents, node._needs))
        if not any(needs):
            continue
        for parent, needed, parent_grad in zip(node._parents, needs,
                                               _apply_rule(node, grad, needs)):
            if needed and parent_grad is not None:
                _add_into(grads, parent, parent_grad)
    result = []
    for source in sources:
        g = grads.get(id(source))
        if g is not None and g.dtype != source.dtype and source.dtype.kind == "f":
            g = M.cast(g, source.dtype)
        result.append(g)
    return result


def _op_without_rule(order, leading):
    """The name of the first op whose gradient this walk needs and that has no rule."""
    for node in order:
        backward = node._backward
        if backward is not None and not _has_rule(backward) \
                and any(id(parent) in leading for parent in node._parents):
            return _missing_rule_name(backward)
    return None


def _gradients_refusing_differentiation(targets, sources, output_gradients, op_name):
    """The NumPy backward's gradients, each a recorded op whose backward raises: a gradient
    taken inside an enclosing tape that never differentiates it (a GAN loop asking one tape
    inside the other's block, as tf allows) still works; differentiating it says which op
    cannot be differentiated twice."""
    seeds = [None if seed is None else unwrap(seed) for seed in output_gradients]
    grads = compute_gradients(list(targets), sources, seeds, keep_graph=True)

    def backward(g, needs):
        raise _unsupported(op_name)
    return [None if g is None else record(g, tuple(targets), backward) for g in grads]


def _recorded_order(targets, untracked_wanted):
    """The tape's topological order, plus the ids in `untracked_wanted` where recorded ops
    used them untracked (leaves: nothing recorded how they were made)."""
    order = _topological_order(targets)
    if not untracked_wanted:
        return order
    present = {id(node) for node in order}
    extra = []
    for node in order:
        for parent in node._parents or ():
            if id(parent) in untracked_wanted and id(parent) not in present:
                present.add(id(parent))
                extra.append(parent)
    return extra + order


def _add_into(grads, tensor, grad):
    key = id(tensor)
    grads[key] = M.add(grads[key], grad) if key in grads else grad


set_recorded_gradients(recorded_gradients)


# ---------------------------------------------------------------------------------------
# helpers: differentiable versions of the backward functions' NumPy idioms
# ---------------------------------------------------------------------------------------
def unbroadcast(g, shape):
    """Sum `g` over the axes broadcasting added or stretched to reach `shape` (recorded)."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra > 0:
        g = M.sum(g, axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = M.sum(g, axis=stretched, keepdims=True)
    return M.reshape(g, shape)


def _reduce_like(g, x):
    return unbroadcast(g, x.shape) if isinstance(x, Tensor) else None


def _masked(mask, g):
    """`g` where `mask` (a constant boolean array) holds, 0 elsewhere."""
    return M.where(mask, g, np.zeros((), g.dtype))


def keeping_operand(g, operand):
    """`g` itself, recorded as depending on `operand` too, with a zero gradient there.

    tf's gradients of relu, relu6, leaky relu, abs and max pooling (ReluGrad, Relu6Grad,
    LeakyReluGrad, Sign, MaxPoolGrad) take the op's input or output as an operand whose
    gradient is zeros, so a gradient computed through them stays connected to it: differentiated
    again, the sources behind it get zeros where a constant mask would give None."""
    if not isinstance(operand, Tensor):
        return g
    gd = unwrap(g)
    return record(gd, (g, operand), lambda gg, needs: (gg, np.zeros_like(unwrap(operand))))


@rule_for(keeping_operand, "<lambda>")
def _keeping_operand_rule(node, gg, needs, env):
    operand = env["operand"]
    return (keeping_operand(gg, operand) if needs[0] else None,
            Tensor(np.zeros_like(unwrap(operand))) if needs[1] else None)


def _scaled(g, factor):
    """`g * factor` for a constant array `factor` (a slope, a dropout mask)."""
    return M.multiply(g, np.asarray(factor, g.dtype))


def _expanded(g, input_shape, axes, keepdims):
    """A reduction's output gradient reshaped to broadcast against its input."""
    if keepdims:
        return g
    return M.reshape(g, [1 if i in axes else n for i, n in enumerate(input_shape)])


def scatter_into_zeros(g, index, shape):
    """An array of zeros of `shape` with `g` added at `x[index]` (indices may repeat): the
    gradient of `x[index]`, itself differentiable (its gradient is `g'[index]`)."""
    gd = np.asarray(g.data if isinstance(g, Tensor) else g)
    full = np.zeros(shape, gd.dtype)
    np.add.at(full, index, gd)
    return record(full, (g,), lambda gg, needs: (gg[index],))


@rule_for(scatter_into_zeros, "<lambda>")
def _scatter_rule(node, g, needs, env):
    return (M.getitem(g, env["index"]),)


# ---------------------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------------------
@rule_for(M.add)
def _add_rule(node, g, needs, env):
    a, b = node._parents
    return (_reduce_like(g, a) if needs[0] else None, _reduce_like(g, b) if needs[1] else None)


@rule_for(M.subtract)
def _subtract_rule(node, g, needs, env):
    a, b = node._parents
    return (_reduce_like(g, a) if needs[0] else None,
            _reduce_like(M.negative(g), b) if needs[1] else None)


@rule_for(M.squared_difference)
def _squared_difference_rule(node, g, needs, env):
    a, b = node._parents
    grad = M.multiply(M.multiply(g, 2.0), M.subtract(a, b))
    return (_reduce_like(grad, a) if needs[0] else None,
            _reduce_like(M.negative(grad), b) if needs[1] else None)


@rule_for(M.multiply)
def _multiply_rule(node, g, needs, env):
    a, b = node._parents
    return (_reduce_like(M.multiply(g, b), a) if needs[0] else None,
            _reduce_like(M.multiply(g, a), b) if needs[1] else None)


@rule_for(M.divide)
def _divide_rule(node, g, needs, env):
    a, b = node._parents
    ga = _reduce_like(M.divide(g, b), a) if needs[0] else None
    gb = _reduce_like(M.negative(M.divide(M.multiply(g, node), b)), b) if needs[1] else None
    return ga, gb


@rule_for(M.power)
def _power_rule(node, g, needs, env):
    a, b = node._parents
    ga = gb = None
    if needs[0]:
        exponent = M.subtract(b, 1) if isinstance(b, Tensor) else b - 1
        ga = _reduce_like(M.multiply(g, M.multiply(b, M.power(a, exponent))), a)
    if needs[1]:
        positive = np.asarray(env["ad"]) > 0
        safe_a = M.where(positive, a, np.ones((), node.dtype))
        log_a = M.where(positive, M.log(safe_a), np.zeros((), node.dtype))
        gb = _reduce_like(M.multiply(M.multiply(g, node), log_a), b)
    return ga, gb


def _pick_rule(node, g, needs, env):
    a, b = node._parents
    pick_a = env["pick_a"]
    return (_reduce_like(_masked(pick_a, g), a) if needs[0] else None,
            _reduce_like(_masked(~pick_a, g), b) if needs[1] else None)


rule_for(M.maximum)(_pick_rule)
rule_for(M.minimum)(_pick_rule)


def _swap_last_two(x):
    ndim = np.ndim(x.data if isinstance(x, Tensor) else x)
    return M.transpose(x, list(range(ndim - 2)) + [ndim - 1, ndim - 2])


@rule_for(M.matmul)
def _matmul_rule(node, g, needs, env):
    a, b = node._parents
    if np.ndim(env["ad"]) < 2 or np.ndim(env["bd"]) < 2:
        raise _unsupported("matmul of a vector")
    return (_reduce_like(M.matmul(g, _swap_last_two(b)), a) if needs[0] else None,
            _reduce_like(M.matmul(_swap_last_two(a), g), b) if needs[1] else None)


# ---------------------------------------------------------------------------------------
# unary elementwise
# ---------------------------------------------------------------------------------------
def _unary(op, name="<lambda>"):
    """Register `derivative(node, x, g)` (the input's gradient) as `op`'s rule."""
    def register(derivative):
        rule_for(op, name)(lambda node, g, needs, env: (derivative(node, node._parents[0], g),))
        return derivative
    return register


_unary(M.negative)(lambda node, x, g: M.negative(g))
_unary(M.abs)(lambda node, x, g: keeping_operand(_scaled(g, np.sign(x.data)), x))
_unary(M.square)(lambda node, x, g: M.multiply(g, M.multiply(x, 2.0)))
_unary(M.exp)(lambda node, x, g: M.multiply(g, node))
_unary(M.log)(lambda node, x, g: M.divide(g, x))
_unary(M.log1p)(lambda node, x, g: M.divide(g, M.add(x, 1.0)))
_unary(M.expm1)(lambda node, x, g: M.multiply(g, M.add(node, 1.0)))
_unary(M.sin)(lambda node, x, g: M.multiply(g, M.cos(x)))
_unary(M.cos)(lambda node, x, g: M.negative(M.multiply(g, M.sin(x))))
_unary(M.tanh)(lambda node, x, g: M.multiply(g, M.subtract(1.0, M.square(node))))
_unary(M.sigmoid)(lambda node, x, g: M.multiply(g, M.multiply(node, M.subtract(1.0, node))))
_unary(M.softplus, "backward")(lambda node, x, g: M.multiply(g, M.sigmoid(x)))
# tf's ErfGrad / ErfcGrad: (g * (+-2 / sqrt(pi))) * exp(-square(x)), a float32 constant for
# float32 g (a Python float: NumPy's float64 scalar would lift g to float64)
_unary(M.erf, "backward")(lambda node, x, g: M.multiply(
    M.multiply(g, float(2 / np.sqrt(np.pi))), M.exp(M.negative(M.square(x)))))
_unary(M.erfc, "backward")(lambda node, x, g: M.multiply(
    M.multiply(g, float(-2 / np.sqrt(np.pi))), M.exp(M.negative(M.square(x)))))


@_unary(M.sqrt, "backward")
def _sqrt_derivative(node, x, g):
    denominator = M.multiply(node, 2.0)
    no_gradient = (node.data == 0) & (np.asarray(g.data) == 0)
    if no_gradient.any():
        # 0 there, as the first-order backward (tf's SqrtGrad): a denominator of 1 keeps the
        # quotient's own derivatives finite
        denominator = M.add(denominator, no_gradient.astype(denominator.dtype))
    with np.errstate(divide="ignore", invalid="ignore"):
        return M.divide(g, denominator)


# keras.ops' elementwise functions made by numpy_ops._unary share one backward function; each
# one's derivative (of x and the output y) in recorded ops, by the code of its NumPy derivative
_UNARY_DERIVATIVES = {
    "rsqrt": lambda x, y: M.multiply(M.divide(y, x), -0.5),
    "reciprocal": lambda x, y: M.negative(M.square(y)),
    "tan": lambda x, y: M.add(M.square(y), 1.0),
    "sinh": lambda x, y: _numpy_ops.cosh(x),
    "cosh": lambda x, y: _numpy_ops.sinh(x),
    "arctan": lambda x, y: M.divide(1.0, M.add(M.square(x), 1.0)),
    "arcsinh": lambda x, y: M.power(M.add(M.square(x), 1.0), -0.5),
    "arctanh": lambda x, y: M.divide(1.0, M.subtract(1.0, M.square(x))),
    "log2": lambda x, y: M.divide(1.0, M.multiply(x, float(np.log(2.0)))),
    "log10": lambda x, y: M.divide(1.0, M.multiply(x, float(np.log(10.0)))),
    "exp2": lambda x, y: M.multiply(y, float(np.log(2.0))),
    "cbrt": lambda x, y: M.divide(1.0, M.multiply(M.square(y), 3.0)),
    "arcsin": lambda x, y: M.power(M.subtract(1.0, M.square(x)), -0.5),
    "arccos": lambda x, y: M.negative(M.power(M.subtract(1.0, M.square(x)), -0.5)),
    "arccosh": lambda x, y: M.power(M.subtract(M.square(x), 1.0), -0.5),
    "sinc": lambda x, y: _sinc_derivative(x, y),
}


def _sinc_derivative(x, y):
    """(cos(pi x) - sinc(x)) / x, 0 at x == 0 (as numpy_ops.sinc's first derivative)."""
    at_zero = x.data == 0
    safe_x = M.add(x, at_zero.astype(x.dtype))
    return _masked(~at_zero, M.divide(M.subtract(M.cos(M.multiply(x, float(np.pi))), y), safe_x))
_UNARY_BY_CODE = {_closure(getattr(_numpy_ops, name))["derivative"].__code__: (name, rule)
                  for name, rule in _UNARY_DERIVATIVES.items()}


def _unary_backward_code():
    op_code = [c for c in _numpy_ops._unary.__code__.co_consts
               if isinstance(c, types.CodeType) and c.co_name == "op"][0]
    return [c for c in op_code.co_consts
            if isinstance(c, types.CodeType) and c.co_name == "backward"][0]


def _unary_names():
    """The name of each keras.ops function numpy_ops._unary made, by its derivative's code."""
    names = {}
    for name, value in vars(_numpy_ops).items():
        if getattr(value, "__code__", None) is not None and value.__closure__ and \
                "derivative" in value.__code__.co_freevars:
            names[_closure(value)["derivative"].__code__] = name
    return names


_UNARY_NAMES = _unary_names()


def _numpy_unary_rule(node, g, needs, env):
    name_and_rule = _UNARY_BY_CODE.get(env["derivative"].__code__)
    if name_and_rule is None:
        raise _unsupported(_UNARY_NAMES.get(env["derivative"].__code__, "a keras.ops function"))
    return (M.multiply(g, name_and_rule[1](node._parents[0], node)),)


_UNARY_BACKWARD = _unary_backward_code()
_RULES[_UNARY_BACKWARD] = _numpy_unary_rule


def _has_rule(backward):
    code = getattr(backward, "__code__", None)
    if code is _UNARY_BACKWARD:
        return _closure(backward)["derivative"].__code__ in _UNARY_BY_CODE
    return code in _RULES


def _missing_rule_name(backward):
    if getattr(backward, "__code__", None) is _UNARY_BACKWARD:
        return _UNARY_NAMES.get(_closure(backward)["derivative"].__code__, "a keras.ops function")
    return _op_name(backward)


@rule_for(M.sign, "<lambda>")
def _sign_rule(node, g, needs, env):
    return (Tensor(np.zeros_like(g.data)),)


@rule_for(M.clip, "backward")
def _clip_rule(node, g, needs, env):
    xd = env["xd"]
    return (_masked((xd >= env["lo"]) & (xd <= env["hi"]), g), None, None)


@rule_for(M.where, "backward")
def _where_rule(node, g, needs, env):
    _, a, b = node._parents
    cond = np.asarray(env["cond"])
    return (None,
            _reduce_like(_masked(cond, g), a) if needs[1] else None,
            _reduce_like(_masked(~cond, g), b) if needs[2] else None)


@rule_for(M.cast, "<lambda>")
def _cast_rule(node, g, needs, env):
    source = env["src_dtype"]
    return (M.cast(g, source) if source.kind == "f" else None,)


# ---------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------
@rule_for(M.tensordot)
def _tensordot_rule(node, g, needs, env):
    a, b = node._parents
    a_free, b_free, a_axes, b_axes = env["a_free"], env["b_free"], env["a_axes"], env["b_axes"]
    na, nb = len(a_free), len(b_free)
    ga = gb = None
    if needs[0]:
        current = a_free + [a_axes[k] for k in np.argsort(b_axes)]
        ga = M.transpose(M.tensordot(g, b, (list(range(na, na + nb)), b_free)),
                         [int(i) for i in np.argsort(current)])
    if needs[1]:
        current = [b_axes[k] for k in np.argsort(a_axes)] + b_free
        gb = M.transpose(M.tensordot(a, g, (a_free, list(range(na)))),
                         [int(i) for i in np.argsort(current)])
    return ga, gb


@rule_for(M.gather)
def _gather_rule(node, g, needs, env):
    index = (slice(None),) * env["axis"] + (env["idx"],)
    return scatter_into_zeros(g, index, env["xd"].shape), None


@rule_for(_embedding.embedding_lookup)
def _embedding_rule(node, g, needs, env):
    return (scatter_into_zeros(g, env["ids"], env["table_data"].shape),)


@rule_for(M.sum)
def _sum_rule(node, g, needs, env):
    xd = env["xd"]
    return (M.broadcast_to(_expanded(g, xd.shape, env["axes"], env["keepdims"]), xd.shape),)


@rule_for(M.mean)
def _mean_rule(node, g, needs, env):
    xd = env["xd"]
    g = M.divide(_expanded(g, xd.shape, env["axes"], env["keepdims"]), float(env["count"]))
    return (M.broadcast_to(g, xd.shape),)


@rule_for(M._extreme)
def _extreme_rule(node, g, needs, env):
    xd, out, axes = env["xd"], env["out"], env["axes"]
    hit = xd == out
    share = hit / np.sum(hit, axis=axes, keepdims=True)
    return (_scaled(_expanded(g, xd.shape, axes, env["keepdims"]), share),)


@rule_for(M.logsumexp)
def _logsumexp_rule(node, g, needs, env):
    x = node._parents[0]
    xd, axes, keepdims = env["xd"], env["axes"], env["keepdims"]
    softmax = M.exp(M.subtract(x, _expanded(node, xd.shape, axes, keepdims)))
    return (M.multiply(_expanded(g, xd.shape, axes, keepdims), softmax),)


@rule_for(M.cumsum)
def _cumsum_rule(node, g, needs, env):
    axis = env["axis"]
    return (M.flip(M.cumsum(M.flip(g, axis), axis=axis), axis),)


# ---------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------
def _reshape_back(node, g, needs, env):
    return (M.reshape(g, env["xd"].shape),)


for _op in (M.reshape, M.expand_dims, M.squeeze):
    rule_for(_op, "<lambda>")(_reshape_back)


@rule_for(M.transpose, "<lambda>")
def _transpose_rule(node, g, needs, env):
    return (M.transpose(g, env["inverse"]),)


@rule_for(M.broadcast_to, "<lambda>")
def _broadcast_to_rule(node, g, needs, env):
    return (unbroadcast(g, env["xd"].shape),)


@rule_for(M.flip, "<lambda>")
def _flip_rule(node, g, needs, env):
    return (M.flip(g, env["axis"]),)


@rule_for(M.concatenate)
def _concatenate_rule(node, g, needs, env):
    return tuple(M.split(g, env["bounds"], axis=env["axis"]))


@rule_for(M.stack)
def _stack_rule(node, g, needs, env):
    axis = env["axis"] % g.ndim
    lead = (slice(None),) * axis
    return tuple(M.getitem(g, lead + (i,)) if need else None for i, need in enumerate(needs))


@rule_for(M.split)
def _split_rule(node, g, needs, env):
    xd, axis = env["xd"], env["axis"]
    index = [slice(None)] * xd.ndim
    index[axis] = slice(env["start"], env["start"] + env["size"])
    return (scatter_into_zeros(g, tuple(index), xd.shape),)


@rule_for(M.getitem)
def _getitem_rule(node, g, needs, env):
    return (scatter_into_zeros(g, env["index"], env["xd"].shape),)


@rule_for(M.pad)
def _pad_rule(node, g, needs, env):
    index = tuple(slice(lo, lo + n) for (lo, _), n in zip(env["paddings"], env["xd"].shape))
    return (M.getitem(g, index),)


@rule_for(M.tile)
def _tile_rule(node, g, needs, env):
    shape = []
    for r, n in zip(env["reps"], env["xd"].shape):
        shape += [r, n]
    return (M.sum(M.reshape(g, shape), axis=tuple(range(0, len(shape), 2))),)


@rule_for(M.repeat)
def _repeat_rule(node, g, needs, env):
    xd, axis = env["xd"], env["axis"] % env["xd"].ndim
    shape = list(xd.shape)
    shape.insert(axis + 1, env["repeats"])
    return (M.sum(M.reshape(g, shape), axis=axis + 1),)


# ---------------------------------------------------------------------------------------
# neural-network ops
# ---------------------------------------------------------------------------------------
def _activation_gradient(activation, out, g):
    """d activation / d pre-activation times `g`, from the (recorded) output `out`."""
    if activation == "relu":
        return keeping_operand(_masked(out.data > 0, g), out)
    if activation == "tanh":
        return M.multiply(g, M.subtract(1.0, M.square(out)))
    if activation == "sigmoid":
        return M.multiply(g, M.multiply(out, M.subtract(1.0, out)))
    if activation in (None, "linear"):
        return g
    raise _unsupported(f"a fused {activation} activation")


@rule_for(_nn.dense)
def _dense_rule(node, g, needs, env):
    x, kernel, bias = node._parents
    xd, wd = env["xd"], env["wd"]
    g = _activation_gradient(env["activation"], node, g)
    g2 = M.reshape(g, (env["rows"], wd.shape[-1]))
    gx = gw = gb = None
    if needs[0]:
        gx = M.reshape(M.matmul(g2, M.transpose(kernel)), xd.shape)
    if needs[1]:
        gw = M.matmul(M.transpose(M.reshape(x, (env["rows"], xd.shape[-1]))), g2)
    if bias is not None and needs[2]:
        gb = M.sum(g2, axis=0)
    return gx, gw, gb


@rule_for(_nn.bias_add)
def _bias_add_rule(node, g, needs, env):
    return (g if needs[0] else None,
            M.sum(g, axis=env["reduce_axes"]) if needs[1] else None)


@rule_for(_nn._relu_with_backward)
def _relu_rule(node, g, needs, env):
    return (keeping_operand(_masked(node.data > 0, g), node),)


@rule_for(_nn.relu, "<lambda>")
def _general_relu_rule(node, g, needs, env):
    g = _scaled(g, env["slope"])
    return (keeping_operand(g, node) if env["uses_tf_relu"] else g,)


@rule_for(_nn._capped_relu)
def _capped_relu_rule(node, g, needs, env):
    out = node.data
    return (keeping_operand(_masked((out > 0) & (out < env["cap"]), g), node),)


@rule_for(_nn.leaky_relu)
def _leaky_relu_rule(node, g, needs, env):
    return (keeping_operand(M.where(env["positive"], g, M.multiply(g, env["alpha"])),
                            node._parents[0]),)


@rule_for(_nn.elu)
def _elu_rule(node, g, needs, env):
    slope = M.add(node, float(env["alpha"]))
    return (M.where(env["positive"], g, M.multiply(g, slope)),)


@rule_for(_nn.selu)
def _selu_rule(node, g, needs, env):
    scale, alpha = _nn._SELU_SCALE, _nn._SELU_ALPHA
    return (M.where(env["positive"], M.multiply(g, scale),
                    M.multiply(g, M.add(node, scale * alpha))),)


@rule_for(_nn.prelu)
def _prelu_rule(node, g, needs, env):
    x, alpha = node._parents
    positive, xd = env["positive"], env["xd"]
    zero = np.zeros((), g.dtype)
    gx = galpha = None
    if needs[0]:
        # at exactly 0 both of tf's relu terms have slope 0: no gradient there
        gx = M.where(positive, g, M.where(xd < 0, M.multiply(g, alpha), zero))
        gx = keeping_operand(gx, x)          # tf.keras' PReLU is made of two relus
    if needs[1]:
        galpha = unbroadcast(M.where(positive, zero, M.multiply(g, x)), np.shape(env["ad"]))
    return gx, galpha


@rule_for(_nn.silu)
def _silu_rule(node, g, needs, env):
    x = node._parents[0]
    s = M.sigmoid(x)
    slope = M.multiply(s, M.add(M.multiply(x, M.subtract(1.0, s)), 1.0))
    return (M.multiply(g, slope),)


@rule_for(_nn.softsign, "<lambda>")
def _softsign_rule(node, g, needs, env):
    x = node._parents[0]
    return (M.divide(g, M.square(M.add(M.abs(x), 1.0))),)


@rule_for(_nn.keras2_hard_sigmoid, "<lambda>")
def _hard_sigmoid_rule(node, g, needs, env):
    return (_scaled(g, env["inside"] * 0.2),)


@rule_for(_nn.dropout, "<lambda>")
def _dropout_rule(node, g, needs, env):
    return (unbroadcast(_scaled(g, env["mask"]), env["xd"].shape),)


def _inverse_std(variance, inv_std):
    """`1 / sqrt(variance + epsilon)` as a recorded op of `variance`, its value `inv_std`
    as the forward pass computed it (d/d variance = -inv_std**3 / 2)."""
    def backward(g, needs):
        return (g * (inv_std * inv_std * inv_std * np.asarray(-0.5, inv_std.dtype)),)
    return record(inv_std, (variance,), backward)


@rule_for(_layer_norm.layer_norm)
def _layer_norm_rule(node, g, needs, env):
    """The closed-form backward again, from normalised values recomputed in recorded ops."""
    x, gamma, beta = node._parents
    axes, batch_axes = env["axes"], env["batch_axes"]
    centred = M.subtract(x, M.mean(x, axis=axes, keepdims=True))
    variance = M.mean(M.square(centred), axis=axes, keepdims=True)
    inv_std = _inverse_std(variance, env["inv_std"])
    normalized = M.multiply(centred, inv_std)
    gx = ggamma = gbeta = None
    if gamma is not None and needs[1]:
        ggamma = M.reshape(M.sum(M.multiply(g, normalized), axis=batch_axes), gamma.shape)
    if beta is not None and needs[2]:
        gbeta = M.reshape(M.sum(g, axis=batch_axes), beta.shape)
    if needs[0]:
        dxhat = g if gamma is None else M.multiply(g, M.reshape(gamma, env["gamma_b"].shape))
        mean_dxhat = M.mean(dxhat, axis=axes, keepdims=True)
        mean_dxhat_xhat = M.mean(M.multiply(dxhat, normalized), axis=axes, keepdims=True)
        gx = M.multiply(inv_std, M.subtract(M.subtract(dxhat, mean_dxhat),
                                             M.multiply(normalized, mean_dxhat_xhat)))
    return gx, ggamma, gbeta


@rule_for(_nn.softmax)
def _softmax_rule(node, g, needs, env):
    axis = env["axis"]
    return (M.multiply(node, M.subtract(g, M.sum(M.multiply(g, node), axis=axis,
                                                  keepdims=True))),)


@rule_for(_nn.log_softmax)
def _log_softmax_rule(node, g, needs, env):
    axis = env["axis"]
    return (M.subtract(g, M.multiply(M.exp(node), M.sum(g, axis=axis, keepdims=True))),)


@rule_for(_nn.softmax_cross_entropy)
def _softmax_cross_entropy_rule(node, g, needs, env):
    labels, logits = node._parents
    axis = env["axis"]
    g = M.expand_dims(g, axis)
    return (M.multiply(M.negative(_nn.log_softmax(logits, axis=axis)), g) if needs[0] else None,
            M.multiply(M.subtract(_nn.softmax(logits, axis=axis), labels), g)
            if needs[1] else None)


@rule_for(_nn.sparse_softmax_cross_entropy)
def _sparse_softmax_cross_entropy_rule(node, g, needs, env):
    labels, logits = node._parents
    ld, idx = env["ld"], env["idx"]
    if env["axis"] not in (-1, ld.ndim - 1):
        raise _unsupported("sparse_softmax_cross_entropy over an inner axis")
    one_hot = np.zeros(ld.shape, ld.dtype)
    np.put_along_axis(one_hot, idx[..., None], 1, axis=-1)
    return (None, M.multiply(M.subtract(_nn.softmax(logits, axis=-1), one_hot),
                             M.expand_dims(g, -1)))


@rule_for(_nn.sigmoid_cross_entropy)
def _sigmoid_cross_entropy_rule(node, g, needs, env):
    labels, logits = node._parents
    return (M.negative(M.multiply(g, logits)) if needs[0] else None,
            M.multiply(g, M.subtract(M.sigmoid(logits), labels)) if needs[1] else None)


@rule_for(_nn._mean_of_losses, "mean_backward")
def _mean_of_losses_rule(node, g, needs, env):
    """The mean of per-sample losses, alone or standing for the op that made them too (whose
    rule then runs with the mean's inputs, its own)."""
    ld = env["ld"]
    per_element = M.broadcast_to(M.reshape(M.divide(g, float(env["count"])),
                                           (1,) * ld.ndim), ld.shape)
    inner = env["backward"]
    if inner is None:
        return (per_element,)
    rule = _RULES.get(inner.__code__)
    if rule is None:
        raise _unsupported(_op_name(inner))
    return rule(node, per_element, needs, _closure(inner))


# ---------------------------------------------------------------------------------------
# convolution: the forward op and its two gradients, each linear in each argument
# ---------------------------------------------------------------------------------------
class _Geometry:
    """What a convolution's shapes depend on besides its operands (channels_last)."""

    def __init__(self, x_shape, kernel_shape, strides, pads, dilation, groups):
        self.x_shape, self.kernel_shape = tuple(x_shape), tuple(kernel_shape)
        self.strides, self.pads = tuple(strides), tuple(pads)
        self.dilation, self.groups = tuple(dilation), groups

    def forward(self, xd, kd):
        return conv_kernels.conv_forward(xd, kd, self.strides, self.pads, self.dilation,
                                         self.groups)

    def input_gradient(self, gd, kd):
        _, ctx = self.forward(np.zeros(self.x_shape, gd.dtype), kd)
        return conv_kernels.conv_gradients(ctx, gd, True, False, False)[0].copy()

    def kernel_gradient(self, xd, gd):
        _, ctx = self.forward(xd, np.zeros(self.kernel_shape, gd.dtype))
        return conv_kernels.conv_gradients(ctx, gd, False, True, False)[1]


def convolution(x, kernel, geometry):
    """`conv(x, kernel)` (channels_last, no bias or activation) as a recorded op."""
    def backward(g, needs):
        return (geometry.input_gradient(g, unwrap(kernel)) if needs[0] else None,
                geometry.kernel_gradient(unwrap(x), g) if needs[1] else None)
    out, _ = geometry.forward(unwrap(x), unwrap(kernel))
    return record(out, (x, kernel), backward)


def convolution_input_gradient(g, kernel, geometry):
    """The input gradient of `conv(., kernel)` for the output gradient `g` (a transposed
    convolution): <v, result> = <g, conv(v, kernel)>."""
    def backward(gg, needs):
        return (geometry.forward(gg, unwrap(kernel))[0] if needs[0] else None,
                geometry.kernel_gradient(gg, unwrap(g)) if needs[1] else None)
    return record(geometry.input_gradient(unwrap(g), unwrap(kernel)), (g, kernel),
                  backward)


def convolution_kernel_gradient(x, g, geometry):
    """The kernel gradient of `conv(x, .)` for the output gradient `g`:
    <u, result> = <g, conv(x, u)>."""
    def backward(gg, needs):
        return (geometry.input_gradient(unwrap(g), gg) if needs[0] else None,
                geometry.forward(unwrap(x), gg)[0] if needs[1] else None)
    return record(geometry.kernel_gradient(unwrap(x), unwrap(g)), (x, g), backward)


@rule_for(convolution)
def _convolution_rule(node, g, needs, env):
    x, kernel = node._parents
    geometry = env["geometry"]
    return (convolution_input_gradient(g, kernel, geometry) if needs[0] else None,
            convolution_kernel_gradient(x, g, geometry) if needs[1] else None)


@rule_for(convolution_input_gradient)
def _input_gradient_rule(node, gg, needs, env):
    g, kernel = node._parents
    geometry = env["geometry"]
    return (convolution(gg, kernel, geometry) if needs[0] else None,
            convolution_kernel_gradient(gg, g, geometry) if needs[1] else None)


@rule_for(convolution_kernel_gradient)
def _kernel_gradient_rule(node, gg, needs, env):
    x, g = node._parents
    geometry = env["geometry"]
    return (convolution_input_gradient(g, gg, geometry) if needs[0] else None,
            convolution(x, gg, geometry) if needs[1] else None)


def _channels_last(t, data_format):
    if data_format != "channels_first":
        return t
    return M.transpose(t, [0] + list(range(2, t.ndim)) + [1])


def _channels_first(t, data_format):
    if data_format != "channels_first":
        return t
    return M.transpose(t, [0, t.ndim - 1] + list(range(1, t.ndim - 1)))


@rule_for(_conv.conv)
def _conv_rule(node, g, needs, env):
    """Layer convolutions (bias and a relu/tanh fused in) through the three primitives."""
    x, kernel, bias = node._parents
    ctx, data_format = env["ctx"], env["data_format"]
    geometry = _Geometry(ctx.x_shape, ctx.kernel.shape, ctx.strides, ctx.pads, ctx.dilation,
                         ctx.groups)
    out = _channels_last(node, data_format)
    g = _activation_gradient(ctx.activation, out, _channels_last(g, data_format))
    gx = gk = gb = None
    if needs[0]:
        gx = _channels_first(convolution_input_gradient(g, kernel, geometry), data_format)
    if needs[1]:
        gk = convolution_kernel_gradient(_channels_last(x, data_format), g, geometry)
    if bias is not None and needs[2]:
        gb = M.sum(g, axis=tuple(range(g.ndim - 1)))
    return gx, gk, gb


@rule_for(_conv.depthwise_conv)
def _depthwise_conv_rule(node, g, needs, env):
    """A depthwise convolution is the grouped convolution with one group per input channel
    and its `(*k, channels, multiplier)` kernel read as `(*k, 1, channels * multiplier)`
    (output channel `c * multiplier + m` in both)."""
    x, kernel = node._parents
    ctx, data_format = env["ctx"], env["data_format"]
    kernel_shape = tuple(kernel.shape)
    channels, multiplier = kernel_shape[-2:]
    grouped_shape = kernel_shape[:-2] + (1, channels * multiplier)
    geometry = _Geometry(ctx.x_shape, grouped_shape, ctx.strides, ctx.pads, ctx.dilation,
                         channels)
    g = _channels_last(g, data_format)
    gx = gk = None
    if needs[0]:
        grouped = M.reshape(kernel, grouped_shape)
        gx = _channels_first(convolution_input_gradient(g, grouped, geometry), data_format)
    if needs[1]:
        gk = M.reshape(convolution_kernel_gradient(_channels_last(x, data_format), g, geometry),
                       kernel_shape)
    return gx, gk


@rule_for(_conv.conv_transpose)
def _conv_transpose_rule(node, g, needs, env):
    """A transposed convolution is the input gradient `A` of the convolution from its output's
    shape to its input's: its gradients are that convolution's `C` and `B` (after the fused
    activation's gradient; the bias's is the sum of that)."""
    x, kernel, bias = node._parents
    ctx, data_format = env["ctx"], env["data_format"]
    padded, z_shape = ctx.padded_shape, ctx.z_shape
    pads = [(lo, padded[i + 1] - n - lo) for i, ((lo, _), n) in
            enumerate(zip(ctx.pads, z_shape[1:-1]))]
    geometry = _Geometry(z_shape, ctx.kernel.shape, ctx.strides, pads, ctx.dilation, 1)
    g = _activation_gradient(ctx.activation, _channels_last(node, data_format),
                             _channels_last(g, data_format))
    gx = gk = gb = None
    if needs[0]:
        gx = convolution(g, kernel, geometry)
        if gx.shape != tuple(ctx.x_shape):
            raise _unsupported("conv_transpose of this geometry")
        gx = _channels_first(gx, data_format)
    if needs[1]:
        gk = convolution_kernel_gradient(g, _channels_last(x, data_format), geometry)
    if bias is not None and needs[2]:
        gb = M.sum(g, axis=tuple(range(g.ndim - 1)))
    return gx, gk, gb


# ---------------------------------------------------------------------------------------
# pooling: the backward passes are linear in the gradient (max pooling's routing is fixed by
# the forward pass), each the adjoint of a pooling of the gradient
# ---------------------------------------------------------------------------------------
def _first_max_values(ctx, gg):
    """Max pooling's routing read backwards: each window's value of `gg` (channels_last,
    input-shaped) at the window's first maximum (3-D: the sum over all its maxima, as
    `pool_kernels.max_pool_backward` routes)."""
    ggp = np.zeros(ctx.xp.shape, gg.dtype)
    ggp[conv_kernels.interior(ctx.x_shape[1:-1], ctx.pads)] = gg
    out = ctx.out
    result = np.zeros(out.shape, gg.dtype)
    unclaimed = np.ones(out.shape, bool)
    ones = (1,) * len(ctx.pool_size)
    for index in conv_kernels.tap_slices(ctx.pool_size, ctx.strides, ones, ctx.out_sizes):
        hit = (ctx.xp[index] == out) & unclaimed
        result += np.where(hit, ggp[index], 0)
        if len(ctx.pool_size) != 3:
            unclaimed &= ~hit
    return result


def route_to_first_max(g, ctx):
    """Max pooling's input gradient for the (channels_last) output gradient `g`."""
    def backward(gg, needs):
        return (_first_max_values(ctx, gg),)
    return record(pool_kernels.max_pool_backward(ctx, unwrap(g)).copy(), (g,), backward)


def read_first_max(gg, ctx):
    """The adjoint of `route_to_first_max`: `gg` at each window's first maximum."""
    def backward(g, needs):
        return (pool_kernels.max_pool_backward(ctx, g).copy(),)
    return record(_first_max_values(ctx, unwrap(gg)), (gg,), backward)


@rule_for(route_to_first_max)
def _route_rule(node, gg, needs, env):
    return (read_first_max(gg, env["ctx"]),)


@rule_for(read_first_max)
def _read_rule(node, g, needs, env):
    return (route_to_first_max(g, env["ctx"]),)


@rule_for(_conv.max_pool)
def _max_pool_rule(node, g, needs, env):
    data_format = env["data_format"]
    routed = route_to_first_max(_channels_last(g, data_format), env["ctx"])
    return (keeping_operand(_channels_first(routed, data_format), node._parents[0]),)


def spread_over_windows(g, ctx):
    """Average pooling's input gradient for the (channels_last) output gradient `g`."""
    def backward(gg, needs):
        return (_average_of_windows(ctx, gg),)
    return record(pool_kernels.avg_pool_backward(ctx, unwrap(g)).copy(), (g,), backward)


def _average_of_windows(ctx, gg):
    return pool_kernels.avg_pool_forward(gg, ctx.pool_size, ctx.strides, ctx.pads)[0]


def average_of_windows(gg, ctx):
    """The adjoint of `spread_over_windows`: average pooling with the forward's geometry."""
    def backward(g, needs):
        return (pool_kernels.avg_pool_backward(ctx, g).copy(),)
    return record(_average_of_windows(ctx, unwrap(gg)), (gg,), backward)


@rule_for(spread_over_windows)
def _spread_rule(node, gg, needs, env):
    return (average_of_windows(gg, env["ctx"]),)


@rule_for(average_of_windows)
def _average_rule(node, g, needs, env):
    return (spread_over_windows(g, env["ctx"]),)


@rule_for(_conv.avg_pool)
def _avg_pool_rule(node, g, needs, env):
    data_format = env["data_format"]
    spread = spread_over_windows(_channels_last(g, data_format), env["ctx"])
    return (_channels_first(spread, data_format),)


@rule_for(_conv_pool.conv_max_pool)
def _conv_max_pool_rule(node, g, needs, env):
    """The fused training op (stride-1 convolution, bias, relu, max pooling that tiles) as
    its parts: the pooling's routing and the relu mask, from the pre-pooling values computed
    again, then the convolution's primitives."""
    x, kernel, bias = node._parents
    ctx = env["ctx"]
    geo, rank = ctx.geo, len(ctx.geo.pool_size)
    geometry = _Geometry(np.shape(x.data), np.shape(kernel.data), (1,) * rank, geo.pads,
                         geo.dilation, 1)
    y = geometry.forward(unwrap(x), unwrap(kernel))[0]
    if bias is not None:
        y = y + unwrap(bias)
    if ctx.activation == "relu":
        y = np.maximum(y, 0)
    _, pool_ctx = pool_kernels.max_pool_forward(y, geo.pool_size, geo.pool_size,
                                                [(0, 0)] * rank)
    g = route_to_first_max(g, pool_ctx)
    if ctx.activation == "relu":
        g = _masked(y > 0, g)
    g = keeping_operand(g, node)             # as tf's MaxPoolGrad and ReluGrad
    return (convolution_input_gradient(g, kernel, geometry) if needs[0] else None,
            convolution_kernel_gradient(x, g, geometry) if needs[1] else None,
            M.sum(g, axis=tuple(range(g.ndim - 1))) if bias is not None and needs[2] else None)


# ---------------------------------------------------------------------------------------
# batch normalization
# ---------------------------------------------------------------------------------------
def _stat_param(param, layout):
    """A scale or offset shaped to broadcast against the input (recorded)."""
    if param is None or np.ndim(param.data) == len(layout.shape):
        return param
    return M.reshape(param, layout.stat_shape)


def _param_gradient(grad_stat, param, layout):
    if np.ndim(param.data) == len(layout.shape):
        return unbroadcast(grad_stat, param.shape)
    return M.reshape(grad_stat, param.shape)


@rule_for(_batch_norm.batch_norm_train)
def _batch_norm_train_rule(node, g, needs, env):
    """The closed-form backward again (batch moments differentiated too), from normalised
    values recomputed in recorded ops; a fused activation's gradient first, from the output."""
    x, scale, offset = node._parents
    moments = env["moments"]
    layout = moments.layout
    axes = tuple(layout.axes)
    if moments.weights is None:
        def average(t):
            return M.mean(t, axis=axes, keepdims=True)

        def weigh(t):
            return t
    else:
        # under a mask: frequency-weighted moments, sum(w t) / sum(w) (0 where sum(w) is 0)
        weights = moments.weights
        total = np.where(moments.total_weight == 0, 1, moments.total_weight).astype(
            weights.dtype)

        def average(t):
            return M.divide(M.sum(t, axis=axes, keepdims=True), total)

        def weigh(t):
            return M.multiply(t, weights)
    if env["activation"] is not None:
        g = _activation_gradient(env["activation"], node, g)
    centred = M.subtract(x, average(weigh(x)))
    inv_std = _inverse_std(average(weigh(M.square(centred))), env["inv"])
    normalized = M.multiply(centred, inv_std)
    gx = dscale = doffset = None
    if scale is not None and needs[1]:
        dscale = _param_gradient(M.sum(M.multiply(g, normalized), axis=axes, keepdims=True),
                                 scale, layout)
    if offset is not None and needs[2]:
        doffset = _param_gradient(M.sum(g, axis=axes, keepdims=True), offset, layout)
    if needs[0]:
        dxhat = g if scale is None else M.multiply(g, _stat_param(scale, layout))
        mean_dxhat = weigh(average(dxhat))
        mean_dxhat_xhat = weigh(average(M.multiply(dxhat, normalized)))
        gx = M.multiply(inv_std, M.subtract(M.subtract(dxhat, mean_dxhat),
                                             M.multiply(normalized, mean_dxhat_xhat)))
    return gx, dscale, doffset


@rule_for(_batch_norm.max_pool_after_activation)
def _max_pool_after_activation_rule(node, g, needs, env):
    # the batch norm's rule takes its activation's gradient itself (from its output)
    return (route_to_first_max(g, env["ctx"]),)


@rule_for(_batch_norm.batch_norm_inference)
def _batch_norm_inference_rule(node, g, needs, env):
    """An affine map with constant statistics: linear in x, in the scale and in the offset."""
    x, scale, offset = node._parents
    inv = env["inv"]
    gx = dscale = doffset = None
    if needs[0]:
        gain = inv if scale is None else M.multiply(M.reshape(scale, env["scale_arr"].shape),
                                                    inv)
        gx = M.multiply(g, gain)
    if scale is not None and needs[1]:
        normalized = M.multiply(M.subtract(x, env["mean_arr"]), inv)
        dscale = M.reshape(unbroadcast(M.multiply(g, normalized), env["scale_arr"].shape),
                           scale.shape)
    if offset is not None and needs[2]:
        doffset = M.reshape(unbroadcast(g, env["offset_arr"].shape), offset.shape)
    return gx, dscale, doffset


# ---------------------------------------------------------------------------------------
# fused ops by recomputation: their forward again in recorded ops (which have rules)
# ---------------------------------------------------------------------------------------
def _rule_by_recomputing(reference):
    """A rule for a fused op from `reference(node, env)`, its output recomputed with recorded
    ops on the op's inputs: the gradients are those of `<reference, g>` built by this walk,
    so they differentiate again (third order too). The forward runs once more, and only on
    this path."""
    def rule(node, g, needs, env):
        sources = [parent for parent, needed in zip(node._parents, needs) if needed]
        grads = iter(recorded_gradients([reference(node, env)], sources, [g]))
        return tuple(next(grads) if needed else None for needed in needs)
    return rule


def _recurrent_activation(name, a):
    if name == "tanh":
        return M.tanh(a)
    if name == "sigmoid":
        return M.sigmoid(a)
    if name == "hard_sigmoid":
        return _nn.keras2_hard_sigmoid(a)
    if name == "relu":
        return _nn.relu(a)
    return a                                   # "linear"


def _columns(t, first, last):
    return M.getitem(t, (slice(None), slice(first, last)))


class _RecurrentReference:
    """`recurrent.fused_sequence`'s forward, one step at a time in recorded ops; reads the
    sequence object (`seq`) and the settings the fused op's backward closes over."""

    def __init__(self, node, env):
        self.env, self.seq = env, env["seq"]
        self.x, self.kernel, self.recurrent_kernel, self.bias = node._parents[:4]
        self.initial_states = list(node._parents[4:])
        self.units = self.seq.units

    def _state_for_gate(self, h, gate):
        rec_mask = self.seq.rec_mask
        if rec_mask is None:
            return h
        return M.multiply(h, rec_mask[gate] if self.seq.per_gate else rec_mask)

    def _recurrent(self, h, kernel, first_gate, gates):
        """`h @ kernel` (gates `first_gate`.. of `units` columns each), each gate's columns
        from the state as its recurrent dropout mask leaves it."""
        if not self.seq.per_gate:
            return M.matmul(self._state_for_gate(h, 0), kernel)
        u = self.units
        return M.concatenate([M.matmul(self._state_for_gate(h, first_gate + k),
                                       _columns(kernel, k * u, (k + 1) * u))
                              for k in range(gates)], axis=1)

    def _projection(self, x_t):
        gate_masks, u = self.env["gate_masks"], self.units
        if gate_masks is None:
            out = M.matmul(x_t, self.kernel)
        else:
            out = M.concatenate([M.matmul(M.multiply(x_t, gate_masks[k]),
                                          _columns(self.kernel, k * u, (k + 1) * u))
                                 for k in range(len(gate_masks))], axis=1)
        bias = self.bias
        if bias is not None:
            out = M.add(out, bias if bias.ndim == 1 else M.getitem(bias, 0))
        return out

    def _step(self, xp, h, c):
        seq, u = self.seq, self.units
        act, ract = seq.act, seq.ract
        cell = self.env["cell"]
        if cell == "simple_rnn":
            return _recurrent_activation(act, M.add(xp, self._recurrent(
                h, self.recurrent_kernel, 0, 1))), None
        if cell == "lstm":
            a = M.add(xp, self._recurrent(h, self.recurrent_kernel, 0, 4))
            i, f = (_recurrent_activation(ract, _columns(a, k * u, (k + 1) * u)) for k in (0, 1))
            candidate = _recurrent_activation(act, _columns(a, 2 * u, 3 * u))
            o = _recurrent_activation(ract, _columns(a, 3 * u, 4 * u))
            c_new = M.add(M.multiply(f, c), M.multiply(i, candidate))
            return M.multiply(o, _recurrent_activation(act, c_new)), c_new
        if seq.reset_after:
            hp = self._recurrent(h, self.recurrent_kernel, 0, 3)
            if self.bias is not None and self.bias.ndim == 2:
                hp = M.add(hp, M.getitem(self.bias, 1))
            zr = _recurrent_activation(ract, M.add(_columns(xp, 0, 2 * u), _columns(hp, 0, 2 * u)))
            candidate_in = M.multiply(_columns(zr, u, 2 * u), _columns(hp, 2 * u, 3 * u))
        else:
            zr = _recurrent_activation(ract, M.add(_columns(xp, 0, 2 * u), self._recurrent(
                h, _columns(self.recurrent_kernel, 0, 2 * u), 0, 2)))
            reset_state = M.multiply(_columns(zr, u, 2 * u), self._state_for_gate(h, 2))
            candidate_in = M.matmul(reset_state, _columns(self.recurrent_kernel, 2 * u, 3 * u))
        candidate = _recurrent_activation(act, M.add(_columns(xp, 2 * u, 3 * u), candidate_in))
        z = _columns(zr, 0, u)
        return M.add(candidate, M.multiply(z, M.subtract(h, candidate))), None

    def output(self):
        """The fused op's packed output: outputs (all steps or the last), then the states."""
        env, seq = self.env, self.seq
        x_tm = M.transpose(self.x, (1, 0, 2))
        if env["go_backwards"]:
            x_tm = M.flip(x_tm, 0)
        h = self.initial_states[0]
        c = self.initial_states[1] if env["cell"] == "lstm" else None
        outputs, previous = [], None
        for t in range(env["steps"]):
            h_new, c_new = self._step(self._projection(M.getitem(x_tm, t)), h, c)
            if seq.mask is None:
                y, h, c = h_new, h_new, c_new
            else:
                keep = seq.mask[t]                       # (batch, 1): 1 keeps the step
                y = M.multiply(h_new, keep)
                if previous is not None and not env["zero_output_for_mask"]:
                    y = M.add(y, M.multiply(previous, 1 - keep))
                h = M.add(M.multiply(h_new, keep), M.multiply(h, 1 - keep))
                if c is not None:
                    c = M.add(M.multiply(c_new, keep), M.multiply(c, 1 - keep))
            outputs.append(y)
            previous = y
        kept = outputs if env["return_sequences"] else outputs[-1:]
        return M.stack(kept + [h] + ([c] if c is not None else []), axis=1)


def _fused_sequence_reference(node, env):
    return _RecurrentReference(node, _closure(env["_backward"])).output()


_RULES[_backward_code(_recurrent._fused_sequence, "backward")] = \
    _rule_by_recomputing(_fused_sequence_reference)


def _lstm_gate_update_reference(node, env):
    """`recurrent.lstm_gate_update` (ConvLSTM's step) in recorded ops: `(h, c)` stacked."""
    z, c_prev = node._parents
    axis = _closure(env["gate"])["axis"]
    width = env["zd"].shape[axis] // 4

    def gate(k):
        index = [slice(None)] * z.ndim
        index[axis] = slice(k * width, (k + 1) * width)
        return M.getitem(z, tuple(index))
    act, ract = env["activation"], env["recurrent_activation"]
    i, f, o = (_recurrent_activation(ract, gate(k)) for k in (0, 1, 3))
    c = M.add(M.multiply(f, c_prev), M.multiply(i, _recurrent_activation(act, gate(2))))
    return M.stack([M.multiply(o, _recurrent_activation(act, c)), c])


_RULES[_backward_code(_recurrent.lstm_gate_update, "backward")] = \
    _rule_by_recomputing(_lstm_gate_update_reference)


def _prod_reference(node, env):
    """`prod` as a chain of products of the slices along its (flattened) reduced axes."""
    x = node._parents[0]
    xd, axes = env["xd"], env["axes"]
    others = [i for i in range(xd.ndim) if i not in axes]
    count = int(np.prod([xd.shape[a] for a in axes], dtype=np.int64))
    if count == 0:                              # an empty product: ones, constant
        return Tensor(np.ones(node.shape, xd.dtype))
    rows = M.reshape(M.transpose(x, list(axes) + others), (count, -1))
    product = M.getitem(rows, 0)
    for i in range(1, count):
        product = M.multiply(product, M.getitem(rows, i))
    return M.reshape(product, node.shape)


_RULES[_backward_code(M.prod, "backward")] = _rule_by_recomputing(_prod_reference)
