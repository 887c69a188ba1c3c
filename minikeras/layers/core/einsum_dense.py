"""EinsumDense: a dense layer whose product is any einsum of the input and the kernel."""
import re
import string

from ... import activations, constraints, initializers, ops, regularizers
from ...engine.base_layer import Layer


class EinsumDense(Layer):
    """`activation(einsum(equation, inputs, kernel) + bias)`. `equation` is `"ab,bc->ac"`-like,
    optionally with `...` standing for the leading (`"...b,bc->...c"`) or trailing
    (`"ab...,bc->ac..."`) axes the equation does not name; `output_shape` gives the output's
    sizes (without the batch axis; None for a size read from the input); `bias_axes` names
    the output letters the bias spans.

    Example:
    >>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 6), bias_axes="d")
    >>> layer(np.ones((2, 5, 3), "float32")).shape
    (2, 5, 6)
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.equation = equation
        self.partial_output_shape = list(output_shape) if isinstance(output_shape, (list, tuple)) \
            else [output_shape]
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        kernel_shape, bias_shape, self.full_output_shape = _analyze(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        self.kernel = self.add_weight("kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint, trainable=True)
        self.bias = None
        if bias_shape is not None:
            self.bias = self.add_weight("bias", shape=bias_shape,
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint, trainable=True)
        self.built = True

    def call(self, inputs):
        out = ops.einsum(_explicit(self.equation, inputs.ndim), inputs, self.kernel)
        if self.bias is not None:
            out = ops.add(out, self.bias)
        return out if self.activation is None else self.activation(out)

    def compute_output_shape(self, input_shape):
        """The output shape, sizes shared with the input read from `input_shape` (tf.keras'
        own method returns the shape it built for, unknown sizes left None)."""
        input_shape = tuple(input_shape)
        _analyze(self.equation, self.bias_axes, input_shape, self.partial_output_shape)  # checks
        input_spec, _, output_spec, left_elided = _split(self.equation)
        elided = len(input_shape) - len(input_spec)
        partial = list(self.partial_output_shape)
        if left_elided:        # the elided leading axes, in order, then the named ones
            output_shape = list(input_shape[:elided]) + partial
        else:
            output_shape = [input_shape[0]] + partial + \
                list(input_shape[len(input_shape) - max(elided, 0):] if elided > 0 else [])
        offset = elided if left_elided else 0
        for i, letter in enumerate(output_spec):
            if letter in input_spec and output_shape[i + offset] is None:
                position = input_spec.index(letter) + offset
                output_shape[i + offset] = input_shape[position]
        return tuple(output_shape)

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_shape": self.partial_output_shape,
            "equation": self.equation,
            "activation": activations.serialize(self.activation),
            "bias_axes": self.bias_axes,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
        })
        return config


_FORMS = (("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)", False),
          ("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)", True),
          ("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0", False))


def _split(equation):
    marked = equation.replace("...", "0")
    for pattern, left_elided in _FORMS:
        match = re.fullmatch(pattern, marked)
        if match:
            return match.group(1), match.group(2), match.group(3), left_elided
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                     "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def _explicit(equation, rank):
    """The equation with `...` replaced by letters it does not use, for an input of `rank`."""
    if "..." not in equation:
        return equation
    input_spec = equation.split(",")[0].replace("...", "")
    free = [c for c in string.ascii_letters if c not in equation]
    filler = "".join(free[:rank - len(input_spec)])
    return equation.replace("...", filler)


def _analyze(equation, bias_axes, input_shape, partial_output_shape):
    """(kernel shape, bias shape or None, full output shape) from the equation and shapes."""
    input_spec, weight_spec, output_spec, left_elided = _split(equation)
    elided = len(input_shape) - len(input_spec)
    if elided < 0 or (elided > 0 and "..." not in equation):
        # TensorFlow's einsum words; minikeras built a wrongly shaped layer, then NumPy failed
        raise ValueError(f"Shape must be rank {len(input_spec)} but is rank {len(input_shape)} "
                         f"for 0th input and equation: {equation}")
    output_shape = [input_shape[0]] + list(partial_output_shape)
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output_shape.insert(1, input_shape[i])
    elif elided > 0:
        output_shape.extend(input_shape[len(input_shape) - elided:])
    if left_elided:
        input_index = {c: i + elided - len(input_shape) for i, c in enumerate(input_spec)}
        output_index = {c: i + elided for i, c in enumerate(output_spec)}
    else:
        input_index = {c: i for i, c in enumerate(input_spec)}
        output_index = {c: i for i, c in enumerate(output_spec)}
    for c in input_spec:
        if c in output_index:
            size = output_shape[output_index[c]]
            if size is not None and size != input_shape[input_index[c]]:
                raise ValueError(f"Input shape and output shape do not match at shared "
                                 f"dimension '{c}'. Input shape is {input_shape[input_index[c]]}, "
                                 f"and output shape is {size}.")
    for c in output_spec:
        if c not in input_spec and c not in weight_spec:
            raise ValueError(f"Dimension '{c}' was specified in the output '{output_spec}' but "
                             f"has no corresponding dim in the input spec '{input_spec}' or "
                             f"weight spec '{output_spec}'")
    kernel_shape = []
    for c in weight_spec:
        if c in input_index:
            kernel_shape.append(input_shape[input_index[c]])
        elif c in output_index:
            kernel_shape.append(output_shape[output_index[c]])
        else:
            raise ValueError(f"Weight dimension '{c}' did not have a match in either the input "
                             f"spec '{input_spec}' or the output spec '{output_spec}'. For this "
                             "layer, the weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        offset = elided if left_elided else 0
        sizes = {c: output_shape[i + offset] for i, c in enumerate(output_spec)}
        for c in bias_axes:
            if c not in output_spec:
                raise ValueError(f"Bias dimension '{c}' was requested, but is not part of the "
                                 f"output spec '{output_spec}'")
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [sizes[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape += [1] * max(elided, 0)
    return kernel_shape, bias_shape, output_shape
