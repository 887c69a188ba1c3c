"""Fused recurrent sequences: a whole SimpleRNN / LSTM / GRU pass over time is ONE tape op.

Forward: the input projection of every timestep is one GEMM; each step is one recurrent GEMM
into a preallocated buffer followed by the gate math in place. Backward-through-time walks the
steps in reverse collecting the pre-activation gradients of every step in one buffer; the
kernel, recurrent-kernel and bias gradients and the input gradient are then one GEMM each.

Conventions (tf.keras): gate order LSTM i, f, c, o and GRU z, r, h; at a masked timestep the
states are carried unchanged and the output repeats the previous step's output (zeros before
the first unmasked step), or is zero with `zero_output_for_mask`; `go_backwards` processes the
sequence reversed and returns the outputs in processing order. Dropout masks are drawn once
per sequence: one shared by all gates, or (tf.keras' implementation 1, which recurrent dropout
forces for LSTM and GRU) one per gate, each gate's `units`-wide block of the products then
seeing its own masked copy of the input and of the state.

Internally everything is time-major: `(time, batch, features)`.
"""
import numpy as np

from ..core.tensor import record
from .activation_kernels import sigmoid_array
from .blas_threads import small_gemm_threads
from .math import as_array, getitem, split, squeeze

# Activations whose derivative can be read from their output (what backward-through-time keeps).
FUSED_ACTIVATIONS = ("tanh", "sigmoid", "hard_sigmoid", "relu", "linear")
CELL_KINDS = ("simple_rnn", "lstm", "gru")


def _activate(name, a):
    """Apply activation `name` to `a` in place."""
    if name == "tanh":
        np.tanh(a, out=a)
    elif name == "sigmoid":
        # 0.5 tanh(x / 2) + 0.5: stable for any x, no overflow warnings.
        a *= 0.5
        np.tanh(a, out=a)
        a *= 0.5
        a += 0.5
    elif name == "hard_sigmoid":   # Keras 2: clip(0.2 x + 0.5, 0, 1)
        a *= 0.2
        a += 0.5
        np.clip(a, 0, 1, out=a)
    elif name == "relu":
        np.maximum(a, 0, out=a)
    elif name != "linear":
        raise ValueError(f"activation {name!r} has no fused recurrent kernel")


def _derivative(name, y):
    """d activation / d pre-activation, from the activation's output `y`."""
    if name == "tanh":
        return 1 - y * y
    if name == "sigmoid":
        return y * (1 - y)
    if name == "hard_sigmoid":
        return ((y > 0) & (y < 1)) * np.asarray(0.2, y.dtype)
    if name == "relu":
        return (y > 0).astype(y.dtype)
    return np.ones_like(y)


def _derivative_into(name, y, out):
    """`_derivative(name, y)` written into `out` (the same operations, so the same bits):
    the backward steps take each step's derivatives in a reused buffer instead of whole-
    sequence arrays (those cost more in page faults and cache misses than the arithmetic)."""
    if name == "tanh":
        np.multiply(y, y, out=out)
        np.subtract(1, out, out=out)
    elif name == "sigmoid":
        np.subtract(1, y, out=out)
        np.multiply(y, out, out=out)
    elif name == "hard_sigmoid":
        np.multiply((y > 0) & (y < 1), np.asarray(0.2, y.dtype), out=out)
    elif name == "relu":
        np.copyto(out, y > 0)
    else:
        out.fill(1)
    return out


class _Sequence:
    """Buffers and the step loops shared by the three cells (subclasses hold the gate math)."""

    n_states = 1
    gates = 1

    def __init__(self, xp, kernel_r, h0, states0, mask, rec_mask, act, ract, dtype):
        self.xp = xp                  # (T, B, G) input projections (with the input bias)
        self.u = kernel_r             # (units, G) recurrent kernel
        self.mask = mask              # (T, B, 1) float or None
        # recurrent dropout: None, (B, units) shared by the gates, or (gates, B, units)
        self.rec_mask = rec_mask
        self.per_gate = rec_mask is not None and rec_mask.ndim == 3
        self.act, self.ract = act, ract
        steps, batch, _ = xp.shape
        units = h0.shape[-1]
        self.steps, self.batch, self.units = steps, batch, units
        self.dtype = dtype
        self.h = np.empty((steps + 1, batch, units), dtype)    # carried hidden state
        self.h[0] = h0
        if mask is None:
            self.hn = self.h[1:]                               # new state of each step
            self.y = self.hn                                   # outputs
        else:
            self.hn = np.empty((steps, batch, units), dtype)
            self.y = np.empty((steps, batch, units), dtype)

    def h_rec(self, t, gate=0):
        """The state as gate `gate`'s recurrent GEMM sees it (after recurrent dropout)."""
        h = self.h[t]
        if self.rec_mask is None:
            return h
        return h * (self.rec_mask[gate] if self.per_gate else self.rec_mask)

    def recurrent_product(self, t, kernel, out, first_gate=0):
        """`h_rec(t) @ kernel` into `out`; with a mask per gate each `units`-wide block of
        columns (gates first_gate, first_gate + 1, ...) is its own gate's masked state's."""
        if not self.per_gate:
            np.matmul(self.h_rec(t), kernel, out=out)
            return
        u = self.units
        for k in range(kernel.shape[1] // u):
            block = slice(k * u, (k + 1) * u)
            np.matmul(self.h_rec(t, first_gate + k), kernel[:, block], out=out[:, block])

    def recurrent_input_grad(self, dz, kernel_t, first_gate=0):
        """The state's gradient from `dz`, the gradient of `recurrent_product`'s output
        (`kernel_t` is the kernel transposed)."""
        if not self.per_gate:
            dh = dz @ kernel_t
            if self.rec_mask is not None:
                dh *= self.rec_mask
            return dh
        u = self.units
        dh = None
        for k in range(kernel_t.shape[0] // u):
            block = slice(k * u, (k + 1) * u)
            part = dz[:, block] @ kernel_t[block]
            part *= self.rec_mask[first_gate + k]
            dh = part if dh is None else np.add(dh, part, out=dh)
        return dh

    def recurrent_kernel_grad(self, dz_flat):
        """The recurrent kernel's gradient over all steps, `dz_flat` (steps * batch, columns)
        holding the gradients of every step's `recurrent_product` output (first gate 0)."""
        u = self.units
        h_prev = self.h[:-1]
        if not self.per_gate:
            if self.rec_mask is not None:
                h_prev = h_prev * self.rec_mask
            return h_prev.reshape(-1, u).T @ dz_flat
        grad = np.empty((u, dz_flat.shape[1]), self.dtype)
        for k in range(dz_flat.shape[1] // u):
            block = slice(k * u, (k + 1) * u)
            masked = (h_prev * self.rec_mask[k]).reshape(-1, u)
            np.matmul(masked.T, dz_flat[:, block], out=grad[:, block])
        return grad

    def forward(self, zero_output_for_mask):
        for t in range(self.steps):
            self.step(t)
            if self.mask is not None:
                keep = self.mask[t] > 0
                np.copyto(self.h[t + 1], self.hn[t])
                np.copyto(self.h[t + 1], self.h[t], where=~keep)
                if zero_output_for_mask or t == 0:
                    self.y[t] = np.where(keep, self.hn[t], 0)
                else:
                    self.y[t] = np.where(keep, self.hn[t], self.y[t - 1])
                self.carry_other_states(t, keep)

    def carry_other_states(self, t, keep):
        pass

    def backward(self, g_y, g_last, g_states, zero_output_for_mask):
        """Walk the steps in reverse, filling the per-step pre-activation gradients; returns
        the gradient of the initial hidden state."""
        self.init_backward(g_states)
        dh = np.zeros((self.batch, self.units), self.dtype) if g_states[0] is None \
            else np.array(g_states[0], self.dtype)
        d_carry_y = None        # gradient flowing to the previous step's output (masking)
        for t in range(self.steps - 1, -1, -1):
            gy = None if g_y is None else g_y[t]
            if t == self.steps - 1 and g_last is not None:
                gy = g_last if gy is None else gy + g_last
            if d_carry_y is not None:
                gy = d_carry_y if gy is None else gy + d_carry_y
            if self.mask is None:
                dhn = dh if gy is None else dh + gy
                skip = None
            else:
                m = self.mask[t]
                nm = 1 - m
                dhn = (dh if gy is None else dh + gy) * m
                # a masked step passes the state (and, unless zeroed, the output) through
                skip = dh * nm
                d_carry_y = gy * nm if (gy is not None and not zero_output_for_mask) else None
            dh = self.step_backward(t, dhn)
            if skip is not None:
                dh += skip
        return dh


class _SimpleRNN(_Sequence):
    def step(self, t):
        out = self.hn[t]
        self.recurrent_product(t, self.u, out)
        out += self.xp[t]
        _activate(self.act, out)

    def init_backward(self, g_states):
        self.dxp = np.empty_like(self.xp)
        self.u_t = np.ascontiguousarray(self.u.T)

    def step_backward(self, t, dhn):
        da = self.dxp[t]
        np.multiply(dhn, _derivative(self.act, self.hn[t]), out=da)
        return self.recurrent_input_grad(da, self.u_t)

    def weight_gradients(self):
        dxp = self.dxp.reshape(-1, self.dxp.shape[-1])
        return dxp, self.recurrent_kernel_grad(dxp), None


class _LSTM(_Sequence):
    n_states = 2
    gates = 4

    def __init__(self, xp, kernel_r, h0, states0, mask, rec_mask, act, ract, dtype):
        super().__init__(xp, kernel_r, h0, states0, mask, rec_mask, act, ract, dtype)
        steps, batch, units = self.steps, self.batch, self.units
        self.c = np.empty((steps + 1, batch, units), dtype)
        self.c[0] = states0[1]
        self.a = np.empty((steps, batch, 4 * units), dtype)    # activated gates i, f, c, o
        self.tc = np.empty((steps, batch, units), dtype)       # act(new cell state)
        self.scratch_fwd = np.empty((batch, units), dtype)
        self.fast = act == "tanh" and ract == "sigmoid"
        if self.fast:
            # sigmoid(x) = 0.5 tanh(x / 2) + 0.5: one tanh over all four gates; the halving
            # is folded into the recurrent kernel (and the projections, by the caller).
            scale = np.full(4 * units, 0.5, dtype)
            scale[2 * units:3 * units] = 1
            self.gate_scale = scale
            self.gate_offset = (np.full(4 * units, 0.5, dtype) *
                                (scale != 1)).astype(dtype)
            self.u_scaled = kernel_r * scale

    def step(self, t):
        u = self.units
        a = self.a[t]
        if self.fast:
            self.recurrent_product(t, self.u_scaled, a)
            a += self.xp[t]            # projections pre-scaled in `fused_sequence`
            np.tanh(a, out=a)
            a *= self.gate_scale
            a += self.gate_offset
        else:
            self.recurrent_product(t, self.u, a)
            a += self.xp[t]
            _activate(self.ract, a[:, :2 * u])
            _activate(self.act, a[:, 2 * u:3 * u])
            _activate(self.ract, a[:, 3 * u:])
        i, f, g, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
        c_new = self.c[t + 1]
        np.multiply(f, self.c[t], out=c_new)
        c_new += np.multiply(i, g, out=self.scratch_fwd)
        tc = self.tc[t]
        if self.act == "tanh":
            np.tanh(c_new, out=tc)
        else:
            np.copyto(tc, c_new)
            _activate(self.act, tc)
        np.multiply(o, tc, out=self.hn[t])

    def carry_other_states(self, t, keep):
        np.copyto(self.c[t + 1], self.c[t], where=~keep)

    def init_backward(self, g_states):
        u = self.units
        self.dc = np.zeros((self.batch, u), self.dtype) if g_states[1] is None \
            else np.array(g_states[1], self.dtype)
        # each step's activation derivatives (gates; act of the cell state)
        self.d_gates = np.empty((self.batch, 4 * u), self.dtype)
        self.d_tc = np.empty((self.batch, u), self.dtype)
        self.dxp = np.empty_like(self.a)
        self.scratch = np.empty((self.batch, 4 * u), self.dtype)
        self.u_t = np.ascontiguousarray(self.u.T)

    def step_backward(self, t, dhn):
        u = self.units
        a = self.a[t]
        i, f, g, o = a[:, :u], a[:, u:2 * u], a[:, 2 * u:3 * u], a[:, 3 * u:]
        dc = self.dc
        dcn = dhn * o
        dcn *= _derivative_into(self.act, self.tc[t], self.d_tc)
        if self.mask is None:
            dcn += dc
        else:
            dcn += dc * self.mask[t]
        da = self.scratch
        np.multiply(dcn, g, out=da[:, :u])
        np.multiply(dcn, self.c[t], out=da[:, u:2 * u])
        np.multiply(dcn, i, out=da[:, 2 * u:3 * u])
        np.multiply(dhn, self.tc[t], out=da[:, 3 * u:])
        d_gates = self.d_gates
        _derivative_into(self.ract, a[:, :2 * u], d_gates[:, :2 * u])
        _derivative_into(self.act, g, d_gates[:, 2 * u:3 * u])
        _derivative_into(self.ract, o, d_gates[:, 3 * u:])
        dz = self.dxp[t]
        np.multiply(da, d_gates, out=dz)
        if self.mask is not None:
            dc *= 1 - self.mask[t]
            dc += dcn * f
        else:
            np.multiply(dcn, f, out=dc)
        return self.recurrent_input_grad(dz, self.u_t)

    def weight_gradients(self):
        dxp = self.dxp.reshape(-1, self.dxp.shape[-1])
        return dxp, self.recurrent_kernel_grad(dxp), None


class _GRU(_Sequence):
    gates = 3

    def __init__(self, xp, kernel_r, h0, states0, mask, rec_mask, act, ract, dtype,
                 reset_after=True, recurrent_bias=None):
        super().__init__(xp, kernel_r, h0, states0, mask, rec_mask, act, ract, dtype)
        steps, batch, units = self.steps, self.batch, self.units
        self.reset_after = reset_after
        self.recurrent_bias = recurrent_bias
        self.a = np.empty((steps, batch, 3 * units), dtype)     # z, r, candidate
        if reset_after:
            self.hp = np.empty((steps, batch, 3 * units), dtype)  # h U + recurrent bias
        else:
            self.u_zr = np.ascontiguousarray(kernel_r[:, :2 * units])
            self.u_h = np.ascontiguousarray(kernel_r[:, 2 * units:])
            self.rh = np.empty((steps, batch, units), dtype)      # r * h (recurrent input)

    def step(self, t):
        u = self.units
        a = self.a[t]
        xp = self.xp[t]
        if self.reset_after:
            hp = self.hp[t]
            self.recurrent_product(t, self.u, hp)
            if self.recurrent_bias is not None:
                hp += self.recurrent_bias
            np.add(xp[:, :2 * u], hp[:, :2 * u], out=a[:, :2 * u])
            _activate(self.ract, a[:, :2 * u])
            np.multiply(a[:, u:2 * u], hp[:, 2 * u:], out=a[:, 2 * u:])
        else:
            self.recurrent_product(t, self.u_zr, a[:, :2 * u])
            a[:, :2 * u] += xp[:, :2 * u]
            _activate(self.ract, a[:, :2 * u])
            np.multiply(a[:, u:2 * u], self.h_rec(t, gate=2), out=self.rh[t])
            np.matmul(self.rh[t], self.u_h, out=a[:, 2 * u:])
        hh = a[:, 2 * u:]
        hh += xp[:, 2 * u:]
        _activate(self.act, hh)
        # new state z h + (1 - z) hh = hh + z (h - hh)
        hn = self.hn[t]
        np.subtract(self.h[t], hh, out=hn)
        hn *= a[:, :u]
        hn += hh

    def init_backward(self, g_states):
        u = self.units
        self.dxp = np.empty_like(self.a)
        if self.reset_after:
            self.dhp = np.empty_like(self.a)
            self.u_t = np.ascontiguousarray(self.u.T)
        else:
            self.u_zr_t = np.ascontiguousarray(self.u_zr.T)
            self.u_h_t = np.ascontiguousarray(self.u_h.T)
        self.d_zr = np.empty((self.batch, 2 * u), self.dtype)    # each step's derivatives
        self.d_hh = np.empty((self.batch, u), self.dtype)

    def step_backward(self, t, dhn):
        u = self.units
        a = self.a[t]
        z, reset, hh = a[:, :u], a[:, u:2 * u], a[:, 2 * u:]
        h_prev = self.h[t]
        d_zr = _derivative_into(self.ract, a[:, :2 * u], self.d_zr)
        dx = self.dxp[t]
        # d pre-activations: update gate, candidate
        np.multiply(dhn * (h_prev - hh), d_zr[:, :u], out=dx[:, :u])
        dah = dx[:, 2 * u:]
        np.multiply(dhn * (1 - z), _derivative_into(self.act, hh, self.d_hh), out=dah)
        dh_direct = dhn * z
        if self.reset_after:
            hp = self.hp[t]
            np.multiply(dah * hp[:, 2 * u:], d_zr[:, u:], out=dx[:, u:2 * u])
            dhp = self.dhp[t]
            dhp[:, :2 * u] = dx[:, :2 * u]
            np.multiply(dah, reset, out=dhp[:, 2 * u:])
            d_rec = self.recurrent_input_grad(dhp, self.u_t)
        else:
            d_rh = dah @ self.u_h_t
            np.multiply(d_rh * self.h_rec(t, gate=2), d_zr[:, u:], out=dx[:, u:2 * u])
            if self.per_gate:
                d_rec = self.recurrent_input_grad(dx[:, :2 * u], self.u_zr_t)
                d_rec += d_rh * reset * self.rec_mask[2]
            else:
                d_rec = dx[:, :2 * u] @ self.u_zr_t
                d_rec += d_rh * reset
                if self.rec_mask is not None:
                    d_rec *= self.rec_mask
        d_rec += dh_direct
        return d_rec

    def weight_gradients(self):
        u = self.units
        dxp = self.dxp.reshape(-1, 3 * u)
        if self.reset_after:
            dhp = self.dhp.reshape(-1, 3 * u)
            return dxp, self.recurrent_kernel_grad(dhp), dhp.sum(axis=0)
        grad_u = np.empty((u, 3 * u), self.dtype)
        grad_u[:, :2 * u] = self.recurrent_kernel_grad(dxp[:, :2 * u])
        grad_u[:, 2 * u:] = self.rh.reshape(-1, u).T @ dxp[:, 2 * u:]
        return dxp, grad_u, None


def fused_sequence(cell, inputs, kernel, recurrent_kernel, bias, initial_states, mask=None,
                   go_backwards=False, return_sequences=False, zero_output_for_mask=False,
                   activation="tanh", recurrent_activation="sigmoid", reset_after=True,
                   recurrent_mask=None, input_gate_masks=None):
    """Run a `cell` ('simple_rnn', 'lstm' or 'gru') over `inputs` (batch, time, features).

    `bias` is (G,) or, for a GRU with `reset_after`, (2, G) (input and recurrent rows);
    `initial_states` one (batch, units) tensor per state (h; h, c for an LSTM); `mask` a
    (batch, time) boolean array; `recurrent_mask` a (batch, units) dropout mask applied to the
    state before the recurrent GEMM, or (gates, batch, units), one per gate; `input_gate_masks`
    (gates, batch, features) dropout masks of the inputs, one per gate (a mask shared by the
    gates is the caller's product of the inputs and the mask). Returns `(output, [final states])`: the output sequence
    (batch, time, units) in processing order, or the last output (batch, units).
    """
    with small_gemm_threads():
        return _fused_sequence(cell, inputs, kernel, recurrent_kernel, bias, initial_states,
                               mask, go_backwards, return_sequences, zero_output_for_mask,
                               activation, recurrent_activation, reset_after, recurrent_mask,
                               input_gate_masks)


def _fused_sequence(cell, inputs, kernel, recurrent_kernel, bias, initial_states, mask,
                    go_backwards, return_sequences, zero_output_for_mask, activation,
                    recurrent_activation, reset_after, recurrent_mask, input_gate_masks):
    if cell not in CELL_KINDS:
        raise ValueError(f"Unknown recurrent cell kind {cell!r}; expected one of {CELL_KINDS}")
    x = as_array(inputs)
    dtype = x.dtype
    w, u = as_array(kernel), as_array(recurrent_kernel)
    b = None if bias is None else as_array(bias)
    states = [as_array(s).astype(dtype, copy=False) for s in initial_states]
    batch, steps, features = x.shape
    units = u.shape[0]
    if steps == 0:
        raise ValueError("Cannot run a recurrent layer over a sequence of 0 timesteps.")

    # time-major, in processing order
    x_tm = x.transpose(1, 0, 2)
    m = None
    if mask is not None:
        m = np.asarray(mask, bool).T[..., None].astype(dtype)      # (T, B, 1)
    if go_backwards:
        x_tm = x_tm[::-1]
        m = None if m is None else m[::-1]
    x_tm = np.ascontiguousarray(x_tm)
    x_flat = x_tm.reshape(-1, features)

    input_bias = b if (b is None or b.ndim == 1) else b[0]
    rec_bias = None if (b is None or b.ndim == 1) else b[1]
    gate_masks = None if input_gate_masks is None else \
        np.asarray(input_gate_masks).astype(dtype, copy=False)

    def gate_inputs(gate):
        """The flat time-major inputs as gate `gate` sees them (its dropout mask applied)."""
        return (x_tm * gate_masks[gate]).reshape(-1, features)

    def input_projection(kernel_data):
        if gate_masks is None:
            if features == 1:
                # one product per entry, the GEMM's own result: an outer product at half
                # the cost (25088 x 1 @ 1 x 512: 20 -> 9 ms)
                return np.multiply(x_flat, kernel_data)
            return x_flat @ kernel_data
        projection = np.empty((x_flat.shape[0], kernel_data.shape[1]), dtype)
        for gate in range(len(gate_masks)):
            block = slice(gate * units, (gate + 1) * units)
            np.matmul(gate_inputs(gate), kernel_data[:, block], out=projection[:, block])
        return projection

    lstm_fast = cell == "lstm" and activation == "tanh" and recurrent_activation == "sigmoid"
    if lstm_fast:
        scale = np.full(4 * units, 0.5, dtype)
        scale[2 * units:3 * units] = 1
        xp = input_projection(w * scale)
        if input_bias is not None:
            xp += input_bias * scale
    else:
        xp = input_projection(w)
        if input_bias is not None:
            xp += input_bias
    xp = xp.reshape(steps, batch, w.shape[-1])
    rec_mask = None if recurrent_mask is None else as_array(recurrent_mask).astype(dtype, copy=False)
    args = (xp, u, states[0], states, m, rec_mask, activation, recurrent_activation, dtype)
    if cell == "simple_rnn":
        seq = _SimpleRNN(*args)
    elif cell == "lstm":
        seq = _LSTM(*args)
    else:
        seq = _GRU(*args, reset_after=reset_after, recurrent_bias=rec_bias)
    seq.forward(zero_output_for_mask)

    n_out = steps if return_sequences else 1
    final_states = [seq.h[steps]] + ([seq.c[steps]] if cell == "lstm" else [])
    packed = np.empty((batch, n_out + len(final_states), units), dtype)
    if return_sequences:
        packed[:, :steps] = seq.y.transpose(1, 0, 2)
    else:
        packed[:, 0] = seq.y[steps - 1]
    for k, state in enumerate(final_states):
        packed[:, n_out + k] = state

    def backward(g, needs):
        with small_gemm_threads():
            return _backward(g, needs)

    def _backward(g, needs):
        g_y = g[:, :steps].transpose(1, 0, 2) if return_sequences else None
        g_last = None if return_sequences else g[:, 0]
        g_states = [g[:, n_out + k] for k in range(len(final_states))]
        dh0 = seq.backward(g_y, g_last, g_states, zero_output_for_mask)
        dxp, grad_u, grad_rec_bias = seq.weight_gradients()
        grad_x = grad_w = grad_b = None
        if needs[0]:
            grad_x = _input_grad(dxp, w, gate_masks, steps, batch, units)
            if go_backwards:
                grad_x = grad_x[::-1]
            grad_x = np.ascontiguousarray(grad_x.transpose(1, 0, 2))
        if needs[1]:
            if gate_masks is None:
                grad_w = x_flat.T @ dxp
            else:
                grad_w = np.empty(w.shape, dtype)
                for gate in range(len(gate_masks)):
                    block = slice(gate * units, (gate + 1) * units)
                    np.matmul(gate_inputs(gate).T, dxp[:, block], out=grad_w[:, block])
        if b is not None and needs[3]:
            grad_b = dxp.sum(axis=0)
            if grad_rec_bias is not None:
                grad_b = np.stack([grad_b, grad_rec_bias])
        grad_states = [dh0] + ([seq.dc] if cell == "lstm" else [])
        return (grad_x, grad_w, grad_u if needs[2] else None, grad_b) + tuple(grad_states)

    hub = record(packed, (inputs, kernel, recurrent_kernel, bias) + tuple(initial_states),
                 backward)
    pieces = split(hub, [n_out + k for k in range(len(final_states))], axis=1)
    output = pieces[0]
    output = output if return_sequences else _squeeze_time(output)
    return output, [_squeeze_time(p) for p in pieces[1:]]


def _input_grad(dxp, kernel_data, gate_masks, steps, batch, units):
    """The time-major inputs' gradient (steps, batch, features) from the projections' `dxp`:
    with a dropout mask per gate, each gate's part through its own mask."""
    features = kernel_data.shape[0]
    if gate_masks is None:
        return (dxp @ kernel_data.T).reshape(steps, batch, features)
    total = None
    for gate in range(len(gate_masks)):
        block = slice(gate * units, (gate + 1) * units)
        part = (dxp[:, block] @ kernel_data[:, block].T).reshape(steps, batch, features)
        part *= gate_masks[gate]
        total = part if total is None else np.add(total, part, out=total)
    return total


def _activated(name, a):
    """`name` applied to `a` (a new array); the logistic as the stepped layers compute it."""
    if name == "sigmoid":
        return sigmoid_array(a)
    out = np.array(a)
    _activate(name, out)
    return out


def lstm_gate_update(z, c_prev, activation="tanh", recurrent_activation="hard_sigmoid",
                     axis=-1):
    """One LSTM cell update as one recorded op: `z` holds the pre-activations of the gates
    i, f, c, o (in that order along `axis`); returns `(h, c)` with `c = f c_prev + i act(z_c)`
    and `h = o act(c)`. A cell stepped on the tape (ConvLSTM) records this instead of a split
    and ten elementwise ops a step. Activations: those of `FUSED_ACTIVATIONS`."""
    zd, cp = as_array(z), as_array(c_prev)
    axis = axis % zd.ndim
    width = zd.shape[axis] // 4

    def gate(array, k):
        index = [slice(None)] * array.ndim
        index[axis] = slice(k * width, (k + 1) * width)
        return array[tuple(index)]
    i, f, o = (_activated(recurrent_activation, gate(zd, k)) for k in (0, 1, 3))
    g = _activated(activation, gate(zd, 2))
    c = f * cp
    c += i * g
    tc = _activated(activation, c)
    h = o * tc
    packed = np.stack([h, c])

    def backward(grad, needs):
        dh, dc_out = grad[0], grad[1]
        dc = dh * o
        dc *= _derivative(activation, tc)
        dc += dc_out
        dz = np.empty_like(zd)
        np.multiply(dc * g, _derivative(recurrent_activation, i), out=gate(dz, 0))
        np.multiply(dc * cp, _derivative(recurrent_activation, f), out=gate(dz, 1))
        np.multiply(dc * i, _derivative(activation, g), out=gate(dz, 2))
        np.multiply(dh * tc, _derivative(recurrent_activation, o), out=gate(dz, 3))
        return dz, (dc * f if needs[1] else None)
    hub = record(packed, (z, c_prev), backward)
    return getitem(hub, 0), getitem(hub, 1)


def _squeeze_time(piece):
    return squeeze(piece, axis=1)
