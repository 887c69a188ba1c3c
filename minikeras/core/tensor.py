"""Tensor, Variable and the tape that records operations for reverse-mode autodiff.

A `Tensor` is an `np.ndarray` (`.data`) plus, only while something records gradients, a link to
the op that produced it: its parent tensors and a backward function. Ops are recorded only when
a tape is active *and* one of their inputs is tracked (a trainable Variable, a watched tensor or
the result of a tracked op), so inference builds no graph at all.
"""
import contextlib
import threading

import numpy as np

from . import config
from .indexed_rows import add_gradients
from .tensor_shape import TensorShape


class _RecordingState(threading.local):
    def __init__(self):
        self.depth = 0          # number of active recording scopes (tapes, train steps)
        self.paused = 0         # stop_recording() nesting
        self.open_tapes = []    # the GradientTapes recording now


_state = _RecordingState()
_no_scope = contextlib.nullcontext()


def is_recording():
    return _state.depth > 0 and _state.paused == 0


class Tensor:
    """An n-dimensional float array that can take part in automatic differentiation.

    Example:
    >>> t = Tensor(np.ones((2, 3), "float32"))
    >>> float((t * 2).numpy().sum())
    12.0
    """
    __slots__ = ("data", "_parents", "_backward", "_needs", "_tracked", "_keras_logits",
                 "_keras_mask", "__weakref__")
    __array_priority__ = 100

    def __init__(self, data, dtype=None):
        if isinstance(data, Tensor):
            data = data.data
        if dtype is not None:
            data = np.asarray(data, dtype=dtype)
        elif not isinstance(data, np.ndarray):
            data = _to_array(data)
        self.data = data
        self._parents = None
        self._backward = None
        self._needs = None
        self._tracked = False
        self._keras_logits = None
        self._keras_mask = None

    # --- array-like surface -------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    def get_shape(self):
        """tf.Tensor's spelling of `shape` (a TensorShape: `as_list()`, `rank`)."""
        return TensorShape(self.data.shape)

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def numpy(self):
        # tf gives a NumPy scalar for a 0-d tensor (`np.float32(0.5)`: round() and format work)
        return self.data[()] if np.ndim(self.data) == 0 else self.data

    def __array__(self, dtype=None, copy=None):
        # np.asarray: a reduction may have left a NumPy scalar, and __array__ must give an array
        data = np.asarray(self.data)
        if dtype is not None:
            data = data.astype(dtype, copy=False) if not copy else data.astype(dtype)
        elif copy:
            # np.array(variable) is a snapshot, as with tf.Variable: NumPy 2 trusts `copy`
            data = data.copy()
        return data

    def __len__(self):
        return len(self.data)

    def __float__(self):
        return float(self.data)

    def __int__(self):
        return int(self.data)

    def __bool__(self):
        return bool(self.data)

    def __index__(self):
        return int(self.data)

    def __repr__(self):
        # tf's layout: `<tf.Tensor: shape=(2,), dtype=float32, numpy=array([1., 2.], ...)>`
        return (f"<Tensor: shape={self.shape}, dtype={self.dtype.name}, "
                f"numpy={_numpy_text(self.data)}>")

    def __str__(self):
        # tf's `print(t)`: `tf.Tensor([1. 2.], shape=(2,), dtype=float32)` (NumPy's str)
        return (f"Tensor({_numpy_text(self.data, as_str=True)}, shape={self.shape}, "
                f"dtype={self.dtype.name})")

    def __hash__(self):
        return id(self)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    # Operators and `T` are attached in ops/math.py (it defines the differentiable ops they call).


class Variable(Tensor):
    """A named, assignable tensor: a weight of a layer or a slot of an optimizer.

    Its name follows Keras, e.g. `dense/kernel:0`. Trainable variables are tracked
    automatically by every active `GradientTape`, as in TensorFlow.
    """
    __slots__ = ("name", "trainable", "constraint", "_handle_name", "regularizer")

    def __init__(self, initial_value, dtype=None, trainable=True, name=None, constraint=None,
                 **unused_tf_kwargs):
        if callable(initial_value):
            initial_value = initial_value()
        value = np.asarray(unwrap(initial_value))
        if dtype is None:
            # Python floats become floatx (like tf.Variable); NumPy arrays keep their dtype.
            from_python = not isinstance(unwrap(initial_value), (np.ndarray, np.generic))
            dtype = config.floatx() if (from_python and value.dtype.kind == "f") else value.dtype
        super().__init__(np.array(value, dtype=dtype))
        base = name or "Variable"
        self._handle_name = base
        self.name = base if base.endswith(":0") else base + ":0"
        self.trainable = bool(trainable)
        self.constraint = constraint
        self.regularizer = None

    @property
    def _tracked_now(self):
        return self.trainable or self._tracked

    def assign(self, value):
        value = np.asarray(unwrap(value))
        if value.shape != self.data.shape:
            raise ValueError(
                f"Cannot assign value of shape {value.shape} to variable '{self.name}' "
                f"of shape {self.data.shape}.")
        np.copyto(self.data, value, casting="unsafe")
        return self

    def assign_add(self, delta):
        self.data += np.asarray(unwrap(delta), dtype=self.data.dtype)
        return self

    def assign_sub(self, delta):
        self.data -= np.asarray(unwrap(delta), dtype=self.data.dtype)
        return self

    def numpy(self):
        # a snapshot, as tf.Variable.numpy(): later assign* calls must not change it (a 0-d
        # variable gives a NumPy scalar, as tf's)
        return self.data[()] if self.data.ndim == 0 else self.data.copy()

    def value(self):
        # tf's read: a snapshot later assign* calls (training) leave alone, and a read a tape
        # differentiates through to this variable
        return record(self.data.copy(), (self,), _read_backward)

    def read_value(self):
        return self.value()

    def __array__(self, dtype=None, copy=None):
        # np.asarray(variable) is a snapshot too, as with tf.Variable: training updates the
        # variable's array in place
        return super().__array__(dtype, copy=True if copy is None else copy)

    def __repr__(self):
        return (f"<Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}, "
                f"numpy={_numpy_text(self.data)}>")

    __str__ = __repr__      # tf prints a variable as its repr


def _numpy_text(array, as_str=False):
    """The array as tf's reprs show it: on a line of its own only when it takes several; a 0-d
    value as a plain number (`numpy=0.5`, not `array(0.5, dtype=float32)`)."""
    if np.ndim(array) == 0:
        value = np.asarray(array)[()]
        return repr(value.item()) if isinstance(value, (str, bytes)) else str(value)
    text = str(array) if as_str else repr(array)
    return "\n" + text if "\n" in text else text


def unwrap(x):
    """The ndarray inside a Tensor; anything else unchanged (Python scalars stay scalars, so they
    do not upcast float32 arrays)."""
    return x.data if isinstance(x, Tensor) else x


def as_array(x, dtype=None):
    """A NumPy array from a Tensor, an array or a Python value (Python numbers become floatx
    arrays), cast to `dtype` when given."""
    data = unwrap(x)
    # (a Tensor holding a NumPy float64 scalar, which is a Python float too, keeps its dtype)
    if isinstance(data, (int, float)) and not isinstance(data, bool) and \
            not (data is not x and isinstance(data, np.generic)):
        array = np.asarray(data, dtype=config.floatx())
    else:
        array = np.asarray(data)
    return array if dtype is None or array.dtype == dtype else array.astype(dtype)


def _to_array(x):
    """Python numbers and lists become floatx arrays, as `tf.constant` of floats does."""
    arr = np.asarray(x)
    if arr.dtype == np.float64 and not isinstance(x, (np.ndarray, np.generic)):
        arr = arr.astype(config.floatx())
    return arr


def is_tracked(x):
    if isinstance(x, Variable):
        return x.trainable or x._tracked
    return isinstance(x, Tensor) and x._tracked


def _read_backward(g, needs):
    return (g,)


def record(out_data, inputs, backward):
    """Wrap an op result; link it to its inputs when the tape is recording.

    `backward(grad, needs)` returns one gradient (or None) per input; `needs[i]` says whether
    input i wants one, so an op can skip work (e.g. the input gradient of the first layer).
    """
    out = Tensor.__new__(Tensor)
    out.data = out_data
    out._parents = None
    out._backward = None
    out._needs = None
    out._tracked = False
    out._keras_logits = None
    out._keras_mask = None
    state = _state
    if state.depth and not state.paused:
        # `is_tracked` of each input, inline (a call and a generator per op cost more)
        needs = tuple([isinstance(t, Tensor) and (t._tracked or (
            isinstance(t, Variable) and t.trainable)) for t in inputs])
        if True in needs:
            out._tracked = True
            out._parents = inputs
            out._backward = backward
            out._needs = needs
    return out


def unbroadcast(grad, shape):
    """Sum `grad` over the axes that broadcasting added or stretched to reach `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def _topological_order(targets):
    """Tensors reachable from `targets` through recorded ops, parents before children."""
    order, visited = [], set()
    stack = [(t, False) for t in reversed(targets)]
    pop, push, seen, mark = stack.pop, stack.append, visited.__contains__, visited.add
    while stack:
        node, expanded = pop()
        if expanded:
            order.append(node)
            continue
        key = id(node)
        if seen(key):
            continue
        mark(key)
        push((node, True))
        parents = node._parents
        if parents is not None:
            for parent in parents:
                if isinstance(parent, Tensor) and not seen(id(parent)) and (
                        parent._tracked or (isinstance(parent, Variable) and parent.trainable)):
                    push((parent, False))
    return order


class SliceGradient:
    """The gradient of a slice `x[index]` (what getitem and split return): `values` at
    `index` of an otherwise zero array of `x`'s shape. The backward pass adds such gradients
    into one array per tensor, so reading T slices of a sequence costs O(T) slices, not T
    dense arrays of zeros and T dense sums (a layer stepped over time on the tape)."""
    __slots__ = ("shape", "dtype", "index", "values", "basic")

    def __init__(self, shape, dtype, index, values):
        self.shape, self.dtype, self.index, self.values = shape, dtype, index, values
        # slices and integers address each element once; fancy indices may repeat
        parts = index if isinstance(index, tuple) else (index,)
        self.basic = all(part is None or part is Ellipsis or isinstance(part, (slice, int, np.integer))
                         and not isinstance(part, bool) for part in parts)

    def add_into(self, array):
        if self.basic:
            array[self.index] += self.values
        else:
            np.add.at(array, self.index, self.values)


def _accumulate(grads, parents, needs, parent_grads, owned):
    """Add each needed parent gradient to `grads`. `owned` maps the ids of arrays this pass
    made (and no op has seen yet) to them: slice gradients are added into those in place."""
    for parent, needed, g in zip(parents, needs, parent_grads):
        if not needed or g is None:
            continue
        pkey = id(parent)
        if isinstance(g, SliceGradient):
            total = grads.get(pkey)
            if total is None or id(total) not in owned:
                total = np.zeros(g.shape, g.dtype) if total is None else np.array(total)
                owned[id(total)] = total
            g.add_into(total)
            grads[pkey] = total
        else:
            grads[pkey] = add_gradients(grads[pkey], g) if pkey in grads else g


def _leading_to(order, wanted):
    """Ids of the tensors of `order` (parents first) from which a wanted source is reached
    going towards the inputs: the sources themselves and every result of an op on them."""
    leading = set()
    for node in order:
        if id(node) in wanted or (node._parents is not None and any(
                id(parent) in leading for parent in node._parents)):
            leading.add(id(node))
    return leading


def _all_leaves_wanted(order, wanted):
    """Whether every tensor of `order` without recorded parents is a requested source."""
    for node in order:
        if node._parents is None and id(node) not in wanted:
            return False
    return True


def compute_gradients(target, sources, output_gradient=None, keep_graph=False):
    """Gradients of `target` with respect to each of `sources` (None where unconnected).

    `target` may be a list of tensors (with `output_gradient` a matching list or None): the
    result is the gradient of their sum, computed in one backward pass so that intermediates
    shared by several targets are visited once, after every contribution has arrived.
    """
    targets = list(target) if isinstance(target, (list, tuple)) else [target]
    if isinstance(target, (list, tuple)):
        out_grads = list(output_gradient) if output_gradient is not None else [None] * len(targets)
    else:
        out_grads = [output_gradient]
    grads = {}
    roots = []
    for tgt, og in zip(targets, out_grads):
        target_data = tgt.data
        if og is None:
            seed = np.ones_like(target_data)
        else:
            seed = np.asarray(unwrap(og), dtype=target_data.dtype)
        key = id(tgt)
        grads[key] = grads[key] + seed if key in grads else seed
        roots.append(tgt)
    wanted = {id(s) for s in sources}
    order = _topological_order(roots)
    # Only the inputs through which a requested source is reached get a gradient: a frozen
    # layer's variables (tracked, but not asked for) cost nothing. When every leaf of the
    # graph is a requested source (a plain training step), every tracked input leads to one.
    leads_to_source = None if _all_leaves_wanted(order, wanted) else _leading_to(order, wanted)
    owned = {}
    for node in reversed(order):
        key = id(node)
        grad = grads.get(key) if key in wanted else grads.pop(key, None)
        if grad is None:
            continue
        owned.pop(id(grad), None)     # an op may pass it on: never written in place again
        if node._backward is None:
            continue
        if leads_to_source is None:
            needs = node._needs
        else:
            needs = tuple([needed and id(parent) in leads_to_source
                           for parent, needed in zip(node._parents, node._needs)])
        if True in needs:
            _accumulate(grads, node._parents, needs, node._backward(grad, needs), owned)
        if not keep_graph and key not in wanted:
            node._parents = node._backward = node._needs = None
    result = []
    for s in sources:
        g = grads.get(id(s))
        if g is not None and g.dtype != s.dtype and s.dtype.kind == "f":
            g = g.astype(s.dtype)
        result.append(g)
    return result


class recording_scope:
    """Record ops for autodiff inside this block (what `fit`'s train step uses)."""

    def __enter__(self):
        _state.depth += 1
        return self

    def __exit__(self, *exc):
        _state.depth -= 1
        return False


class stop_recording:
    """Ops inside this block are not recorded (like `tf.stop_gradient` for a whole block)."""

    def __enter__(self):
        _state.paused += 1
        return self

    def __exit__(self, *exc):
        _state.paused -= 1
        return False


# What `GradientTape.gradient` runs the backward pass in (a factory of context managers, or
# None): set by models/ to fit's BLAS thread policy, so that hand-written training loops get the
# protection a `fit` step has (core cannot import it).
_backward_scope = None


def set_backward_scope(factory):
    """Have `GradientTape.gradient` run its backward pass inside `factory()` (None: nothing)."""
    global _backward_scope
    _backward_scope = factory


class TapeGradient(Tensor):
    """A gradient `GradientTape.gradient` computed while nothing recorded: a constant, as
    tf's gradient taken outside every tape is."""
    __slots__ = ()


# How a gradient is taken while something records (an enclosing tape, a train step, a
# persistent tape inside its own block): with recorded ops, so that it can be differentiated
# again. Set by ops/second_order.py (core cannot import the ops): a function of
# `(targets, sources, output_gradients)` returning one Tensor (or None) per source.
_recorded_gradients = None


def set_recorded_gradients(function):
    """Have gradients taken while recording computed by `function` (see `_recorded_gradients`)."""
    global _recorded_gradients
    _recorded_gradients = function


def gradients_while_recording(targets, sources, output_gradients=None, untracked_sources=False):
    """Gradients of the sum of `targets` with respect to `sources` as recorded Tensors (None
    where unconnected), differentiable by any tape or train step now recording.
    `untracked_sources`: sources used while untracked get gradients too (`tf.gradients`)."""
    if _recorded_gradients is None:
        raise NotImplementedError("Higher-order gradients need minikeras.ops (not imported).")
    if output_gradients is None:
        output_gradients = [None] * len(targets)
    return _recorded_gradients(list(targets), list(sources), list(output_gradients),
                               untracked_sources)


class GradientTape:
    """Records operations so that `gradient(target, sources)` can differentiate them.

    Works like `tf.GradientTape`: trainable variables are watched automatically, other
    tensors with `tape.watch(t)`.

    Example:
    >>> v = Variable(np.float32(3.0))
    >>> with GradientTape() as tape:
    ...     y = v * v
    >>> float(tape.gradient(y, v))
    6.0
    """

    def __init__(self, persistent=False, watch_accessed_variables=True):
        if not watch_accessed_variables:
            raise NotImplementedError(
                "GradientTape(watch_accessed_variables=False) is not supported: "
                "minikeras tapes watch every trainable variable.")
        self.persistent = persistent
        self._watched = []
        self._active = False
        self._used = False
        self._sharing = []      # tapes that recorded alongside this one (the same graph)

    def __enter__(self):
        _state.depth += 1
        self._active = True
        for tape in _state.open_tapes:
            tape._sharing.append(self)
            self._sharing.append(tape)
        _state.open_tapes.append(self)
        return self

    def __exit__(self, *exc):
        self._stop_recording_here()
        return False

    def _stop_recording_here(self):
        if self._active:
            _state.depth -= 1
            self._active = False
            _state.open_tapes.remove(self)

    def watch(self, tensor):
        for t in _flatten(tensor):
            if not isinstance(t, Tensor):
                raise ValueError(f"GradientTape.watch expects tensors or variables, got {type(t)}")
            t._tracked = True
            self._watched.append(t)

    def stop_recording(self):
        return stop_recording()

    def reset(self):
        self._watched = []

    def gradient(self, target, sources, output_gradients=None, unconnected_gradients="none"):
        if self._used and not self.persistent:
            raise RuntimeError(
                "A non-persistent GradientTape can only be used to compute one set of "
                "gradients (or jacobians)")
        self._used = True
        if not self.persistent:
            # as tf: a non-persistent tape asked inside its block stops recording there
            self._stop_recording_here()
        flat_sources = _flatten(sources)
        targets = _flatten(target)
        out_grads = _flatten(output_gradients) if output_gradients is not None else [None] * len(targets)
        pairs = [(t, og) for t, og in zip(targets, out_grads) if isinstance(t, Tensor)]
        if pairs and is_recording():
            # an enclosing tape (or train step, or this persistent tape) records: the gradient
            # is made of recorded ops, so that it can be differentiated again
            total = gradients_while_recording([t for t, _ in pairs], flat_sources,
                                              [og for _, og in pairs])
            if unconnected_gradients == "zero":
                total = [Tensor(np.zeros_like(s.data)) if g is None else g
                         for g, s in zip(total, flat_sources)]
            return _pack_like(sources, total)
        # The graph is shared with any enclosing tape (nested tapes): keep it while one records,
        # and while a tape that recorded alongside this one has its gradient still to take
        # (the DCGAN tutorial's `with tf.GradientTape() as gen_tape, tf.GradientTape() as
        # disc_tape:` differentiates one graph twice).
        keep = self.persistent or _state.depth > 0 or any(
            tape.persistent or not tape._used for tape in self._sharing)
        if pairs:
            with _backward_scope() if _backward_scope is not None else _no_scope:
                total = compute_gradients([t for t, _ in pairs], flat_sources,
                                          [og for _, og in pairs], keep_graph=keep)
        else:
            total = [None] * len(flat_sources)
        if unconnected_gradients == "zero":
            total = [np.zeros_like(s.data) if g is None else g for g, s in zip(total, flat_sources)]
        wrapped = [None if g is None else TapeGradient(g) for g in total]
        return _pack_like(sources, wrapped)


def _flatten(structure):
    if isinstance(structure, (list, tuple)):
        out = []
        for item in structure:
            out.extend(_flatten(item))
        return out
    if isinstance(structure, dict):
        out = []
        for key in sorted(structure):
            out.extend(_flatten(structure[key]))
        return out
    return [structure]


def _pack_like(structure, flat):
    it = iter(flat)

    def pack(s):
        if isinstance(s, (list, tuple)):
            return type(s)(pack(x) for x in s) if isinstance(s, list) else tuple(pack(x) for x in s)
        if isinstance(s, dict):
            # filled in sorted key order, returned in the dict's own order (core.nest's rule)
            packed = {k: pack(s[k]) for k in sorted(s)}
            return {k: packed[k] for k in s}
        return next(it)
    return pack(structure)
