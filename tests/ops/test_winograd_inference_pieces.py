"""Winograd inference in near-equal pieces and slices (conv_kernels.winograd_inference,
winograd.even_slices): any batch size gives the im2col route's numbers, every sample once."""
import numpy as np
import pytest

from minikeras.ops import conv_kernels as K
from minikeras.ops import fused
from minikeras.ops import winograd as W


@pytest.mark.parametrize("count, step", [(1, 1), (5, 2), (16, 6), (11, 3), (10, 3), (7, 7),
                                         (6, 4), (0, 3)])
def test_even_slices_cover_the_samples_in_near_equal_slices(count, step):
    slices = W.even_slices(count, step)
    assert len(slices) == -(-count // step)
    assert [lo for lo, _ in slices] == ([0] + [hi for _, hi in slices[:-1]])[:len(slices)]
    assert (slices[-1][1] if slices else 0) == count
    sizes = [hi - lo for lo, hi in slices]
    assert all(0 < size <= step for size in sizes)
    assert sizes == sorted(sizes, reverse=True) and (not sizes or sizes[0] - sizes[-1] <= 1)


@pytest.mark.parametrize("batch", [1, 2, 5, 13, 40])
@pytest.mark.parametrize("spatial, channels, filters", [((6, 6), 16, 16), ((5, 7), 20, 8)])
def test_pieces_give_the_im2col_numbers(batch, spatial, channels, filters, monkeypatch):
    # Small chunks and slices: many pieces of uneven sizes, slices of two sizes.
    monkeypatch.setattr(K, "_CHUNK_BYTES", 1 << 17)
    monkeypatch.setattr(W, "_SLICE_BYTES", 1 << 14)
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch,) + spatial + (channels,)).astype(np.float32)
    kernel = (rng.standard_normal((3, 3, channels, filters)) * 0.2).astype(np.float32)
    bias = rng.standard_normal(filters).astype(np.float32)
    residual = rng.standard_normal((batch,) + spatial + (filters,)).astype(np.float32)
    pads = [(1, 1), (1, 1)]

    def epilogue():
        return fused.Epilogue([fused.bias_step(bias), fused.residual_step(residual),
                               fused.activation_step("relu")])
    monkeypatch.setattr(K, "_PLANS", {})
    monkeypatch.setattr(K, "plan", lambda key, candidates, **options: K._PLANS.setdefault(
        key, "im2col" if "im2col" in candidates else next(iter(candidates))))
    expected, _ = K.conv_forward(x, kernel, (1, 1), pads, (1, 1), epilogue=epilogue())
    for key in list(K._PLANS):
        if key[0] == "conv_forward":
            K._PLANS[key] = "winograd"
    out = K.winograd_inference(x, kernel.shape, W.transform_kernel(kernel), pads, epilogue())
    assert out is not None
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_inference_pieces_are_at_most_a_chunk_and_at_least_an_eighth():
    assert K._inference_piece(64, 25) == 8
    assert K._inference_piece(64, 6) == 6
    assert K._inference_piece(3, 25) == 1
    assert K._inference_piece(100, 1) == 1
