"""`einsum` of two operands with an explicit output, differentiable (tf.einsum's common use:
attention and EinsumDense projections)."""
import numpy as np

from ..core.tensor import as_array, record


def _parse(equation):
    equation = equation.replace(" ", "")
    if "->" not in equation or "." in equation:
        raise NotImplementedError(f"einsum: only explicit equations without '...' are supported "
                                  f"(e.g. 'abc,cd->abd'). Received: {equation!r}")
    inputs, output = equation.split("->")
    operands = inputs.split(",")
    if len(operands) != 2:
        raise NotImplementedError(f"einsum: only two operands are supported. Received: "
                                  f"{equation!r}")
    for spec in operands + [output]:
        if len(set(spec)) != len(spec):
            raise NotImplementedError(f"einsum: repeated indices within one operand (diagonals) "
                                      f"are not supported. Received: {equation!r}")
    return operands[0], operands[1], output


def einsum(equation, a, b):
    """`np.einsum(equation, a, b)` with gradients: each operand's gradient is the einsum of the
    output gradient with the other operand. An index summed inside one operand alone (absent
    from the other operand and the output) is refused."""
    a_spec, b_spec, out_spec = _parse(equation)
    for spec, other in ((a_spec, b_spec), (b_spec, a_spec)):
        lonely = set(spec) - set(other) - set(out_spec)
        if lonely:
            raise NotImplementedError(f"einsum: index {sorted(lonely)} is summed within a single "
                                      f"operand; not supported. Received: {equation!r}")
    ad, bd = as_array(a), as_array(b)
    out = np.einsum(f"{a_spec},{b_spec}->{out_spec}", ad, bd, optimize=True)
    out = out.astype(np.result_type(ad, bd), copy=False)

    def backward(g, needs):
        ga = np.einsum(f"{out_spec},{b_spec}->{a_spec}", g, bd, optimize=True) \
            if needs[0] else None
        gb = np.einsum(f"{out_spec},{a_spec}->{b_spec}", g, ad, optimize=True) \
            if needs[1] else None
        return ga, gb
    return record(out, (a, b), backward)
