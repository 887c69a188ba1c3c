"""The fused recurrent op: forward against a plain step-by-step NumPy reference, gradients
against finite differences (float64), for every cell, masking, go_backwards, initial states,
recurrent dropout masks and the non-default activations."""
import numpy as np
import pytest

from minikeras.ops.recurrent import fused_sequence
from gradcheck import check_gradients

RNG = np.random.default_rng(3)

ACT = {
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0, 1),
    "relu": lambda x: np.maximum(x, 0),
    "linear": lambda x: x,
}


def reference(cell, x, w, u, b, states, mask=None, go_backwards=False, zero_output=False,
              act="tanh", ract="sigmoid", reset_after=True, rec_mask=None):
    """Step-by-step NumPy: (outputs (B, T, U) in processing order, final states)."""
    f, rf = ACT[act], ACT[ract]
    steps = x.shape[1]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    states = [s.copy() for s in states]
    prev_out = np.zeros_like(states[0])
    outs = []
    n = u.shape[0]
    for t in order:
        h = states[0]
        hr = h if rec_mask is None else h * rec_mask
        xt = x[:, t]
        if cell == "simple_rnn":
            new = [f(xt @ w + b + hr @ u)]
        elif cell == "lstm":
            z = xt @ w + b + hr @ u
            i, fg, g, o = rf(z[:, :n]), rf(z[:, n:2 * n]), f(z[:, 2 * n:3 * n]), rf(z[:, 3 * n:])
            c = fg * states[1] + i * g
            new = [o * f(c), c]
        else:
            bx, bh = (b[0], b[1]) if reset_after else (b, 0)
            xz = xt @ w + bx
            if reset_after:
                hp = hr @ u + bh
                zg, r = rf(xz[:, :n] + hp[:, :n]), rf(xz[:, n:2 * n] + hp[:, n:2 * n])
                hh = f(xz[:, 2 * n:] + r * hp[:, 2 * n:])
            else:
                zr = rf(xz[:, :2 * n] + hr @ u[:, :2 * n])
                zg, r = zr[:, :n], zr[:, n:]
                hh = f(xz[:, 2 * n:] + (r * hr) @ u[:, 2 * n:])
            new = [zg * h + (1 - zg) * hh]
        out = new[0]
        if mask is not None:
            keep = mask[:, t][:, None]
            new = [np.where(keep, s_new, s) for s_new, s in zip(new, states)]
            out = np.where(keep, out, 0 if zero_output else prev_out)
        states, prev_out = new, out
        outs.append(out)
    return np.stack(outs, axis=1), states


def make(cell, batch=3, steps=5, features=4, units=3, reset_after=True):
    gates = {"simple_rnn": 1, "lstm": 4, "gru": 3}[cell]
    x = RNG.standard_normal((batch, steps, features))
    w = RNG.standard_normal((features, gates * units)) * 0.5
    u = RNG.standard_normal((units, gates * units)) * 0.5
    b = RNG.standard_normal((2, gates * units) if cell == "gru" and reset_after else (gates * units,)) * 0.3
    states = [RNG.standard_normal((batch, units)) * 0.5 for _ in range(2 if cell == "lstm" else 1)]
    return x, w, u, b, states


MASK = np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool)

CASES = [
    dict(cell="simple_rnn"), dict(cell="lstm"), dict(cell="gru"),
    dict(cell="gru", reset_after=False),
    dict(cell="lstm", mask=MASK), dict(cell="gru", mask=MASK, go_backwards=True),
    dict(cell="simple_rnn", mask=MASK, zero_output=True),
    dict(cell="gru", mask=MASK, reset_after=False),
    dict(cell="lstm", go_backwards=True, act="relu", ract="hard_sigmoid"),
    dict(cell="lstm", mask=MASK, zero_output=True, go_backwards=True),
    dict(cell="gru", act="linear", ract="sigmoid", rec_mask=True),
    dict(cell="lstm", rec_mask=True), dict(cell="gru", reset_after=False, rec_mask=True),
    dict(cell="simple_rnn", rec_mask=True, act="tanh"),
]


def _case_id(case):
    return "-".join(f"{k}" if v is True else f"{v}" for k, v in case.items()
                    if not isinstance(v, np.ndarray)) + ("-masked" if "mask" in case else "")


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_fused_sequence_matches_reference_and_finite_differences(case, return_sequences, float64):
    case = dict(case)
    cell = case.pop("cell")
    reset_after = case.pop("reset_after", True)
    mask = case.pop("mask", None)
    rec_mask = case.pop("rec_mask", None)
    x, w, u, b, states = make(cell, reset_after=reset_after)
    if rec_mask:
        rec_mask = (RNG.random(states[0].shape) > 0.3) / 0.7
    kwargs = dict(mask=mask, go_backwards=case.get("go_backwards", False),
                  zero_output_for_mask=case.get("zero_output", False),
                  activation=case.get("act", "tanh"), recurrent_activation=case.get("ract", "sigmoid"),
                  reset_after=reset_after, recurrent_mask=rec_mask)
    expected, expected_states = reference(
        cell, x, w, u, b, states, mask=mask, go_backwards=kwargs["go_backwards"],
        zero_output=kwargs["zero_output_for_mask"], act=kwargs["activation"],
        ract=kwargs["recurrent_activation"], reset_after=reset_after, rec_mask=rec_mask)
    out, final = fused_sequence(cell, x, w, u, b, states, return_sequences=return_sequences, **kwargs)
    np.testing.assert_allclose(out.data, expected if return_sequences else expected[:, -1], atol=1e-12)
    for got, want in zip(final, expected_states):
        np.testing.assert_allclose(got.data, want, atol=1e-12)

    def fn(x, w, u, b, *states):
        out, final = fused_sequence(cell, x, w, u, b, list(states),
                                    return_sequences=return_sequences, **kwargs)
        return [out] + final
    check_gradients(fn, [x, w, u, b] + states, rtol=1e-5, atol=1e-8)


def test_float32_stays_float32():
    x, w, u, b, states = make("lstm")
    cast = [a.astype(np.float32) for a in (x, w, u, b)]
    out, final = fused_sequence("lstm", *cast, [s.astype(np.float32) for s in states],
                                return_sequences=True)
    assert out.dtype == np.float32 and all(s.dtype == np.float32 for s in final)
    expected, _ = reference("lstm", x, w, u, b, states)
    np.testing.assert_allclose(out.data, expected, atol=1e-5)


def test_unknown_cell_is_rejected():
    x, w, u, b, states = make("lstm")
    with pytest.raises(ValueError, match="Unknown recurrent cell"):
        fused_sequence("peephole", x, w, u, b, states)
