"""Winograd inference on a thread running whole batches (predict's two batches in flight):
larger slices (conv_kernels._IN_FLIGHT_SLICE_BYTES) from the whole batch as one piece, the
same bits as the usual slices."""
import numpy as np

from minikeras.ops import conv_kernels as K
from minikeras.ops import fused, parallel
from minikeras.ops import winograd as W


def test_batch_threads_take_larger_slices_with_the_same_bits(monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((24, 8, 8, 32)).astype(np.float32)
    kernel = (rng.standard_normal((3, 3, 32, 32)) * 0.2).astype(np.float32)
    bias = rng.standard_normal(32).astype(np.float32)
    residual = rng.standard_normal((24, 8, 8, 32)).astype(np.float32)
    pads = [(1, 1), (1, 1)]
    monkeypatch.setattr(K, "_PLANS", {})
    key = K._winograd_plan_key(x.shape, kernel.shape, pads, x.dtype, None, False,
                               min(max(1, K._CHUNK_BYTES // (64 * (9 * 32 + 32) * 4)), 24))
    K._PLANS[key] = "winograd"
    steps, counts = [], []
    even_slices = W.even_slices
    monkeypatch.setattr(W, "even_slices", lambda count, step: steps.append(step) or
                        counts.append(count) or even_slices(count, step))

    def run():
        epilogue = fused.Epilogue([fused.bias_step(bias), fused.residual_step(residual),
                                   fused.activation_step("relu")])
        return K.winograd_inference(x, kernel.shape, W.transform_kernel(kernel), pads,
                                    epilogue)
    usual = run()
    usual_step = steps[-1]
    counts.clear()
    parallel.enter_batch_thread()
    try:
        in_flight = run()
    finally:
        parallel.leave_batch_thread()
    tiling = W.Tiling(x.shape[1:-1], pads)
    assert usual_step == W.slice_samples(tiling, 32)
    assert steps[-1] == W.slice_samples(tiling, 32, K._IN_FLIGHT_SLICE_BYTES) > usual_step
    assert counts == [24]                    # the whole batch as one piece
    assert not parallel.in_batch_thread()
    np.testing.assert_array_equal(in_flight, usual)
