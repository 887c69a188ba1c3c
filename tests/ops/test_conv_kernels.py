"""The NumPy conv/pool kernels directly: adjointness, first-maximum routing, scratch reuse."""
import numpy as np

from minikeras.ops import conv_kernels as K
from minikeras.ops import pool_kernels as P


def test_conv_backward_is_the_adjoint_of_forward():
    """<conv(x), g> = <x, dx(g)> = <kernel, dk(g)> for stride 1 (flipped-kernel path) and
    stride 2 (col2im path), with groups and padding."""
    rng = np.random.default_rng(0)
    for strides, dilation, groups in (((1, 1), (2, 1), 2), ((2, 3), (1, 1), 1)):
        x = rng.standard_normal((2, 7, 8, 4))
        kernel = rng.standard_normal((3, 2, 4 // groups, 6))
        pads = [(1, 2), (0, 1)]
        out, ctx = K.conv_forward(x, kernel, strides, pads, dilation, groups)
        g = rng.standard_normal(out.shape)
        dx, dk = K.conv_backward(ctx, g)
        np.testing.assert_allclose(np.sum(out * g), np.sum(x * dx), rtol=1e-10)
        np.testing.assert_allclose(np.sum(out * g), np.sum(kernel * dk), rtol=1e-10)


def test_max_pool_gradient_goes_to_first_maximum_of_overlapping_windows():
    x = np.zeros((1, 3, 3, 1))                     # all tied: each window's first cell wins
    out, ctx = P.max_pool_forward(x, (2, 2), (1, 1), [(0, 0), (0, 0)])
    dx = P.max_pool_backward(ctx, np.ones_like(out))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_same_avg_pool_divides_by_real_cells():
    x = np.ones((1, 3, 3, 1), np.float32)
    out, _ = P.avg_pool_forward(x, (2, 2), (2, 2), [(0, 1), (0, 1)])
    np.testing.assert_array_equal(out, np.ones((1, 2, 2, 1), np.float32))
    assert out.dtype == np.float32


def test_scratch_never_hands_out_a_buffer_in_use():
    shape = (1 << 19,)                             # 2 MB of float32: cached
    first = K.scratch(shape, np.float32)
    second = K.scratch(shape, np.float32)
    assert first is not second
    view = second[::2]
    del second
    third = K.scratch(shape, np.float32)
    assert third is not view.base and third is not first
    del view, third
    assert K.scratch(shape, np.float32).shape == shape
    K.clear_scratch()


def test_outputs_from_the_scratch_cache_survive_while_held_and_are_reused_once_released():
    """Recorded (training) convolution outputs, their input gradients and pooled outputs come
    from the scratch cache: one still referenced (even through a view) is never overwritten by
    the next call, and one released is handed out again. Inference outputs are fresh arrays
    (caching them would keep every layer's output resident)."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 96, 96, 8)).astype(np.float32)       # 2.3 MB outputs: cached
    kernel = rng.standard_normal((2, 2, 8, 8)).astype(np.float32)
    pads = [(0, 0), (0, 0)]

    def forward(x):
        out, ctx = K.conv_forward(x, kernel, (1, 1), pads, (1, 1), activation="relu",
                                  cached_output=True)
        pooled, pool_ctx = P.max_pool_forward(out, (2, 2), (2, 2), pads, cached_output=True)
        return out, ctx, pooled, pool_ctx
    first, ctx, pooled, pool_ctx = forward(x)
    dx = K.conv_backward(ctx, np.ones_like(first))[0]
    kept = [first.copy(), pooled.copy(), dx.copy()]
    view = first[1:]
    second, ctx2, pooled2, _ = forward(-x)
    dx2 = K.conv_backward(ctx2, np.full_like(second, 2))[0]
    assert second is not first and pooled2 is not pooled and dx2 is not dx
    for held, copy in zip((first, pooled, dx), kept):
        np.testing.assert_array_equal(held, copy)
    address = first.__array_interface__["data"][0]
    del first, ctx, pool_ctx, pooled, view
    third = forward(x)[0]
    assert third.__array_interface__["data"][0] == address
    np.testing.assert_array_equal(third, kept[0])
    K.clear_scratch()
    inference = [K.conv_forward(x, kernel, (1, 1), pads, (1, 1))[0] for _ in range(2)]
    assert not any(array is cached for arrays in K._SCRATCH.values() for array in arrays
                   for cached in inference)
