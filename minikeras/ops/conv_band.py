"""Convolution route for few input channels: one GEMM per chunk with a banded kernel.

Along the last spatial axis, `width_block` (wb) neighbouring output positions read one strip of
`span = wb + kw - 1` input columns. Copying, for every output row and block of wb output columns,
the strips of all leading kernel taps gives rows of `depth = taps_lead * span * cin` values
(`kw`-fold fewer than im2col's `taps * cin` per position, over wb positions); multiplying them by
the banded kernel `(depth, wb * filters)`, whose block for output column j holds the kernel at
strip offset j, writes wb positions x filters outputs per row, i.e. the output in its own
channels_last layout. The zeros of the band cost `span / kw` times the useful multiply-adds, but
the GEMM is wide (K = depth, N = wb * filters instead of K = taps * cin, N = filters) and the copy
small: LeNet's Conv2D(6, 5) on 28x28x1 ran 2.0 ms against 7 ms for im2col (256 samples, one
thread). The last spatial axis needs stride 1 and dilation 1; the leading axes may have any.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

# Width blocks are chosen among the divisors of the output width up to this size, aiming at
# about _TARGET_COLUMNS GEMM columns (wb * filters). Wider blocks widen the GEMM but multiply
# more band zeros (span / kw): LeNet's Conv2D(6, 5) forward + kernel gradient took 4.4 ms at
# wb = 8 (48 columns) against 5.1 ms at wb = 12 (72), 256 samples, one thread; the other
# few-channel shapes measured kept their block or timed the same.
_MAX_WIDTH_BLOCK = 16
_TARGET_COLUMNS = 48


def width_block(out_width, kernel_width, filters):
    """The width block for a band route, or None when none fits (no divisor of the output width
    between 2 and _MAX_WIDTH_BLOCK)."""
    divisors = [d for d in range(2, min(out_width, _MAX_WIDTH_BLOCK) + 1) if out_width % d == 0]
    if not divisors or kernel_width < 2:
        return None
    return min(divisors, key=lambda d: (abs(d * filters - _TARGET_COLUMNS), -d))


class BandKernel:
    """The banded kernel of a `(*k, cin, filters)` kernel for windows of `wb` output columns,
    and the copies between inputs and band rows (and their adjoints)."""

    def __init__(self, kernel, wb, strides, dilation, dtype):
        *self.lead_kernel, self.kw = kernel.shape[:-2]
        self.lead_kernel = tuple(self.lead_kernel)
        self.cin, self.filters = kernel.shape[-2:]
        self.wb, self.span = wb, wb + self.kw - 1
        self.lead_strides, self.lead_dilation = tuple(strides[:-1]), tuple(dilation[:-1])
        taps = int(np.prod(self.lead_kernel, dtype=np.int64))
        self.depth = taps * self.span * self.cin
        band = np.zeros(self.lead_kernel + (self.span, self.cin, wb, self.filters), dtype)
        for j in range(wb):
            band[..., j:j + self.kw, :, j, :] = kernel
        self.matrix = band.reshape(self.depth, wb * self.filters)

    def _window_geometry(self, xp, out_sizes):
        """Shape and strides of the view `(n, *out_lead, blocks, *k_lead, span, cin)` of `xp`."""
        s_batch, *s_spatial, s_channel = xp.strides
        blocks = out_sizes[-1] // self.wb
        shape = (xp.shape[0],) + tuple(out_sizes[:-1]) + (blocks,) + self.lead_kernel + \
            (self.span, self.cin)
        strides = ((s_batch,) + tuple(s * t for s, t in zip(s_spatial, self.lead_strides))
                   + (s_spatial[-1] * self.wb,)
                   + tuple(s * d for s, d in zip(s_spatial, self.lead_dilation))
                   + (s_spatial[-1], s_channel))
        return shape, strides

    def rows_into(self, xp, out_sizes, dest):
        """Copy the band rows of the padded samples `xp` into `dest (rows, depth)`; rows =
        samples x output positions / wb, in output order."""
        shape, strides = self._window_geometry(xp, out_sizes)
        view = dest.view()
        view.shape = shape                     # raises rather than copying
        np.copyto(view, as_strided(xp, shape, strides, writeable=False))
        return dest

    def rows_add_back(self, drows, dxp, out_sizes):
        """Adjoint of `rows_into`: add `drows (rows, depth)` back into the padded input gradient
        `dxp`. Strips of neighbouring blocks overlap, so blocks go in `phases` interleaved sets
        whose strips are disjoint; one add per leading kernel tap and phase."""
        shape, strides = self._window_geometry(dxp, out_sizes)
        source = drows.reshape(shape)
        rank_lead = len(self.lead_kernel)
        blocks = shape[1 + rank_lead]
        phases = -(-self.span // self.wb)
        s_spatial = dxp.strides[1:-1]
        for tap in np.ndindex(*self.lead_kernel):
            offset = sum(t * d * s for t, d, s in zip(tap, self.lead_dilation, s_spatial))
            for phase in range(min(phases, blocks)):
                count = len(range(phase, blocks, phases))
                start = offset + phase * self.wb * s_spatial[-1]
                target_shape = shape[:1 + rank_lead] + (count, self.span, self.cin)
                target_strides = strides[:1 + rank_lead] + (strides[1 + rank_lead] * phases,
                                                            s_spatial[-1], dxp.strides[-1])
                flat = dxp.reshape(-1)
                target = as_strided(flat[start // dxp.itemsize:], target_shape, target_strides)
                index = (slice(None),) * (1 + rank_lead) + (slice(phase, None, phases),) + tap
                target += source[index]
        return dxp

    def kernel_from_band(self, dband):
        """The kernel gradient from a gradient of the band matrix (adds the wb copies)."""
        blocks = dband.reshape(self.lead_kernel + (self.span, self.cin, self.wb, self.filters))
        dk = blocks[..., 0:self.kw, :, 0, :].copy()
        for j in range(1, self.wb):
            dk += blocks[..., j:j + self.kw, :, j, :]
        return dk
