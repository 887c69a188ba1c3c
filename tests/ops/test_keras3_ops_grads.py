"""Finite-difference gradient checks (float64) of the Keras 3 ops that Keras differentiates,
and the pieces of keras.random that can be checked without TensorFlow's numbers."""
import numpy as np
import pytest

import minikeras as keras
from gradcheck import check_gradients

ops = keras.ops
rng = np.random.default_rng(3)


def r(*shape, low=None, high=None):
    if low is None:
        return rng.standard_normal(shape)
    return rng.uniform(low, high, shape)


SPD = (lambda m: m @ m.T + 3 * np.eye(3))(rng.standard_normal((3, 3)))
IMG = r(2, 5, 6, 3)
DIFFERENTIABLE = {
    "log2": (ops.log2, [r(3, 4, low=0.5, high=2)]),
    "log10": (ops.log10, [r(3, 4, low=0.5, high=2)]),
    "exp2": (ops.exp2, [r(3, 4)]),
    "rsqrt": (ops.rsqrt, [r(3, 4, low=0.5, high=2)]),
    "reciprocal": (ops.reciprocal, [r(3, 4, low=0.5, high=2)]),
    "cbrt": (ops.cbrt, [r(3, 4, low=0.5, high=2)]),
    "tan": (ops.tan, [r(3, 4, low=-1, high=1)]),
    "sinh": (ops.sinh, [r(3, 4)]),
    "cosh": (ops.cosh, [r(3, 4)]),
    "arcsin": (ops.arcsin, [r(3, 4, low=-0.9, high=0.9)]),
    "arccos": (ops.arccos, [r(3, 4, low=-0.9, high=0.9)]),
    "arctan": (ops.arctan, [r(3, 4)]),
    "arcsinh": (ops.arcsinh, [r(3, 4)]),
    "arccosh": (ops.arccosh, [r(3, 4, low=1.2, high=3)]),
    "arctanh": (ops.arctanh, [r(3, 4, low=-0.9, high=0.9)]),
    "sinc": (ops.sinc, [r(3, 4)]),
    "erfinv": (ops.erfinv, [r(3, 4, low=-0.9, high=0.9)]),
    "erfc": (ops.erfc, [r(3, 4)]),
    "arctan2": (ops.arctan2, [r(3, 4), r(3, 4)]),
    "logaddexp": (ops.logaddexp, [r(3, 4), r(4)]),
    "logaddexp2": (ops.logaddexp2, [r(3, 4), r(3, 4)]),
    "hypot": (ops.hypot, [r(3, 4), r(3, 4)]),
    "cumprod": (lambda x: ops.cumprod(x, axis=1), [r(3, 4)]),
    "cumprod_zero": (lambda x: ops.cumprod(x), [np.array([[1.5, 0.0, 2.0], [0.5, -1.0, 3.0]])]),
    "cumsum_flat": (ops.cumsum, [r(3, 4)]),
    "amax": (lambda x: ops.amax(x, axis=0), [r(3, 4)]),
    "sort": (lambda x: ops.sort(x, axis=0), [r(3, 4)]),
    "top_k": (lambda x: ops.top_k(x, 2)[0], [r(3, 4)]),
    "take_along_axis": (lambda x: ops.take_along_axis(
        x, np.array([[0, 0, 2], [1, 3, 3], [2, 1, 0]]), axis=1), [r(3, 4)]),
    "take": (lambda x: ops.take(x, np.array([[2, 0], [2, 1]]), axis=1), [r(3, 4)]),
    "roll": (lambda x: ops.roll(x, 2, axis=1), [r(3, 4)]),
    "swapaxes": (lambda x: ops.swapaxes(x, 0, 2), [r(2, 3, 4)]),
    "moveaxis": (lambda x: ops.moveaxis(x, [0, 1], [2, 0]), [r(2, 3, 4)]),
    "tril": (lambda x: ops.tril(x, -1), [r(2, 3, 4)]),
    "triu": (ops.triu, [r(3, 4)]),
    "diagonal": (lambda x: ops.diagonal(x, 1), [r(3, 4)]),
    "diag": (ops.diag, [r(3)]),
    "trace": (ops.trace, [r(3, 3)]),
    "pad_reflect": (lambda x: ops.pad(x, ((1, 2), (2, 1)), mode="reflect"), [r(3, 4)]),
    "rot90": (ops.rot90, [r(3, 4)]),
    "diff": (lambda x: ops.diff(x, n=2), [r(3, 5)]),
    "outer": (ops.outer, [r(3), r(4)]),
    "vdot": (ops.vdot, [r(5), r(5)]),
    "inner": (ops.inner, [r(3, 4), r(2, 4)]),
    "dot": (ops.dot, [r(2, 3, 4), r(3, 4, 2)]),
    "average": (lambda x, w: ops.average(x, axis=1, weights=w), [r(3, 4), r(4, low=0.5, high=1)]),
    "norm_vector": (lambda x: ops.norm(x, axis=1), [r(3, 4)]),
    "norm_p3": (lambda x: ops.norm(x, ord=3, axis=1), [r(3, 4)]),
    "norm_matrix_inf": (lambda x: ops.norm(x, ord=np.inf, axis=(0, 1)), [r(3, 4)]),
    "silu": (ops.silu, [r(3, 4)]),
    "gelu": (ops.gelu, [r(3, 4)]),
    "gelu_exact": (lambda x: ops.gelu(x, approximate=False), [r(3, 4)]),
    "log_sigmoid": (ops.log_sigmoid, [r(3, 4)]),
    "hard_silu": (ops.hard_silu, [r(3, 4) * 2]),
    "celu": (ops.celu, [r(3, 4)]),
    "glu": (ops.glu, [r(3, 4)]),
    "squareplus": (ops.squareplus, [r(3, 4)]),
    "sparsemax": (ops.sparsemax, [r(3, 4) * 2]),
    "categorical_crossentropy": (lambda t, p: ops.categorical_crossentropy(t, p),
                                 [r(4, 5, low=0, high=1), r(4, 5, low=0.1, high=1)]),
    "binary_crossentropy": (ops.binary_crossentropy, [r(3, 4, low=0, high=1),
                                                      r(3, 4, low=0.1, high=0.9)]),
    "sparse_categorical_crossentropy": (
        lambda p: ops.sparse_categorical_crossentropy(np.array([1, 0, 4]), p),
        [r(3, 5, low=0.1, high=1)]),
    "moments": (lambda x: ops.moments(x, axes=[0, 2]), [r(2, 3, 4)]),
    "normalize": (ops.normalize, [r(3, 4)]),
    "normalize_l1": (lambda x: ops.normalize(x, order=1), [r(3, 4)]),
    "batch_normalization": (lambda x, m, v, o, s: ops.batch_normalization(x, m, v, -1, o, s),
                            [r(3, 4), r(4), r(4, low=0.5, high=1), r(4), r(4)]),
    "layer_normalization": (lambda x, g, b: ops.layer_normalization(x, g, b),
                            [r(3, 4), r(4), r(4)]),
    "rms_normalization": (lambda x, s: ops.rms_normalization(x, s), [r(3, 4), r(4)]),
    "conv": (lambda x, k: ops.conv(x, k, strides=2, padding="same"), [IMG, r(3, 3, 3, 2)]),
    "depthwise_conv": (lambda x, k: ops.depthwise_conv(x, k), [IMG, r(2, 2, 3, 2)]),
    "separable_conv": (lambda x, d, p: ops.separable_conv(x, d, p),
                       [IMG, r(2, 2, 3, 1), r(1, 1, 3, 2)]),
    "conv_transpose": (lambda x, k: ops.conv_transpose(x, k, strides=2), [IMG[:1], r(2, 2, 2, 3)]),
    "max_pool": (lambda x: ops.max_pool(x, 2), [IMG]),
    "average_pool": (lambda x: ops.average_pool(x, 3, strides=2, padding="same"), [IMG]),
    "adaptive_average_pool": (lambda x: ops.adaptive_average_pool(x, (3, 4)), [IMG]),
    "adaptive_max_pool": (lambda x: ops.adaptive_max_pool(x, (3, 4)), [IMG]),
    "unfold": (lambda x: ops.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=2),
               [r(1, 2, 5, 6)]),
    "fold": (lambda x: ops.fold(x, (3, 4), 2, padding=1), [r(1, 8, 20)]),
    "depth_to_space": (lambda x: ops.depth_to_space(x, 2), [r(1, 2, 3, 8)]),
    "space_to_depth": (lambda x: ops.space_to_depth(x, 2), [r(1, 4, 6, 2)]),
    "dot_product_attention": (
        lambda q, k, v: ops.dot_product_attention(q, k, v, is_causal=True),
        [r(1, 3, 2, 4), r(1, 3, 2, 4), r(1, 3, 2, 4)]),
    "slice": (lambda x: ops.slice(x, (1, 0), (2, 3)), [r(3, 4)]),
    "slice_update": (lambda x, u: ops.slice_update(x, (1, 1), u), [r(3, 4), r(2, 2)]),
    "scatter": (lambda v: ops.scatter(np.array([[0, 1], [2, 3], [0, 1]]), v, (3, 4)), [r(3)]),
    "scatter_update": (lambda x, u: ops.scatter_update(x, np.array([[0, 1], [2, 3]]), u),
                       [r(3, 4), r(2)]),
    "segment_sum": (lambda x: ops.segment_sum(x, np.array([0, 0, 2, 1])), [r(4, 3)]),
    "segment_max": (lambda x: ops.segment_max(x, np.array([0, 0, 2, 1])), [r(4, 3)]),
    "inv": (ops.inv, [SPD]),
    "det": (ops.det, [r(2, 3, 3)]),
    "logdet": (ops.logdet, [SPD]),
    "solve": (ops.solve, [SPD, r(3, 2)]),
    "solve_vector": (ops.solve, [SPD, r(3)]),
    "solve_triangular": (lambda a, b: ops.solve_triangular(a, b, lower=True), [SPD, r(3, 2)]),
    "cholesky": (lambda a: ops.cholesky((a + ops.transpose(a)) / 2), [SPD]),
    "cdist": (ops.cdist, [r(3, 2), r(4, 2)]),
    "resize": (lambda x: ops.image.resize(x, (7, 4)), [IMG]),
    "affine_transform": (lambda x: ops.image.affine_transform(
        x, np.array([1.0, 0.1, 0.5, -0.1, 1.0, 0.3, 0.0, 0.0])), [IMG]),
    "rgb_to_grayscale": (ops.image.rgb_to_grayscale, [IMG]),
    "scale_and_translate": (lambda x: ops.image.scale_and_translate(
        x, (2, 7, 4, 3), np.array([1.5, 0.6]), np.array([0.5, 0.0]), (1, 2), "cubic"), [IMG]),
    "ssim": (lambda a, b: ops.image.ssim(a, b, filter_size=3), [IMG, r(2, 5, 6, 3)]),
    "perspective_transform": (lambda x: ops.image.perspective_transform(
        x, np.array([[0, 0], [5, 0], [0, 4], [5, 4]]),
        np.array([[1, 0.5], [4, 0], [0.5, 4], [5, 3.5]])), [IMG]),
    "map_coordinates": (lambda x: ops.image.map_coordinates(
        x, np.array([[-0.5, 0.2, 1.7, 2.9], [0.0, 1.5, 3.2, -1.0]]), 1), [r(3, 4)]),
    "gaussian_blur": (lambda x: ops.image.gaussian_blur(x, (3, 5), (1.0, 2.0)), [IMG]),
    "sobel_edges": (ops.image.sobel_edges, [IMG]),
    "crop_pad_images": (lambda x: ops.image.pad_images(ops.image.crop_images(
        x, 1, 1, target_height=3, target_width=4), 2, 0, target_height=6, target_width=5),
        [IMG]),
    "extract_patches": (lambda x: ops.image.extract_patches(x, 2), [IMG]),
    "extract_patches_3d": (lambda x: ops.image.extract_patches_3d(x, 2, padding="same"),
                           [r(1, 3, 4, 3, 2)]),
    "scan": (lambda c, xs: ops.scan(lambda a, x: (a * x + 1, a), c, xs), [r(4), r(3, 4)]),
    "while_loop": (lambda x: ops.while_loop(lambda i, s: i < 3, lambda i, s: (i + 1, s * s),
                                            (0, x))[1], [r(3, low=0.5, high=1.2)]),
    "map": (lambda x: ops.map(lambda row: ops.sum(row * row), x), [r(3, 4)]),
    "ctc_loss": (lambda logits: ops.ctc_loss(np.array([[1, 2, 0], [3, 3, 1]]), logits,
                                             np.array([2, 3]), np.array([6, 5])),
                 [r(2, 6, 4)]),
    "einsum_two": (lambda a, b: ops.einsum("ij,jk->ik", a, b), [r(2, 3), r(3, 4)]),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradients(name, float64):
    fn, inputs = DIFFERENTIABLE[name]
    check_gradients(fn, inputs, rtol=1e-5, atol=1e-6)


def test_custom_gradient_uses_the_given_gradient(float64):
    @ops.custom_gradient
    def clipped_identity(x):
        def grad(upstream):
            return ops.clip(upstream, -0.5, 0.5)
        return x * 1.0, grad

    x = keras.Variable(np.array([1.0, 2.0]))
    with keras.GradientTape() as tape:
        y = ops.sum(clipped_identity(x) * np.array([3.0, -0.25]))
    np.testing.assert_allclose(tape.gradient(y, x).data, [0.5, -0.25])


def test_float32_stays_float32():
    x = np.linspace(0.1, 0.9, 12, dtype=np.float32).reshape(3, 4)
    for name in ("log2", "rsqrt", "silu", "gelu", "cumprod", "logaddexp", "normalize", "sort"):
        fn = getattr(ops, name)
        out = fn(x, x) if name == "logaddexp" else fn(x)
        assert out.dtype == np.float32, name
    assert ops.inv(np.eye(3, dtype=np.float32) * 2).dtype == np.float32
    assert ops.arange(3).dtype == np.int32 and ops.argmax(x).dtype == np.int32


# --- keras.random: seeds, dtypes, shapes and distributions -----------------------------------
def test_integer_seed_repeats_and_seed_generator_advances():
    first = keras.random.normal((4,), seed=7).data
    np.testing.assert_array_equal(first, keras.random.normal((4,), seed=7).data)
    generator = keras.random.SeedGenerator(7)
    a, b = keras.random.uniform((4,), seed=generator), keras.random.uniform((4,), seed=generator)
    assert not np.array_equal(a.data, b.data)
    again = keras.random.SeedGenerator(7)
    np.testing.assert_array_equal(a.data, keras.random.uniform((4,), seed=again).data)


def test_global_seed_makes_unseeded_draws_repeat():
    keras.utils.set_random_seed(3)
    first = keras.random.uniform((5,)).data
    keras.utils.set_random_seed(3)
    np.testing.assert_array_equal(first, keras.random.uniform((5,)).data)


def test_distributions():
    n = 20000
    normal = keras.random.normal((n,), mean=2.0, stddev=0.5, seed=1).data
    assert normal.dtype == np.float32 and abs(normal.mean() - 2) < 0.02 and \
        abs(normal.std() - 0.5) < 0.02
    truncated = keras.random.truncated_normal((n,), stddev=2.0, seed=1).data
    assert np.abs(truncated).max() <= 4.0 and truncated.std() < 2.0 * 0.9
    uniform = keras.random.uniform((n,), minval=-1, maxval=3, seed=1).data
    assert uniform.min() >= -1 and uniform.max() < 3 and abs(uniform.mean() - 1) < 0.05
    ints = keras.random.randint((n,), 2, 5, seed=1).data
    assert ints.dtype == np.int32 and set(np.unique(ints)) == {2, 3, 4}
    logits = np.log(np.array([[0.7, 0.2, 0.1]], np.float32))
    draws = keras.random.categorical(logits, n, seed=1).data
    assert draws.shape == (1, n) and draws.dtype == np.int32
    np.testing.assert_allclose(np.bincount(draws[0]) / n, [0.7, 0.2, 0.1], atol=0.02)
    gamma = keras.random.gamma((n,), alpha=3.0, seed=1).data
    assert abs(gamma.mean() - 3.0) < 0.1
    beta = keras.random.beta((n,), 2.0, 5.0, seed=1).data
    assert abs(beta.mean() - 2 / 7) < 0.01
    binomial = keras.random.binomial((n,), 10, 0.3, seed=1).data
    assert binomial.dtype == np.float32 and abs(binomial.mean() - 3) < 0.1


def test_dropout_and_shuffle():
    x = np.ones((200, 50), np.float32)
    dropped = keras.random.dropout(x, 0.25, seed=2).data
    kept = dropped != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(dropped[kept], 1 / 0.75, rtol=1e-6)
    rows = keras.random.dropout(x, 0.5, noise_shape=(None, 1), seed=2).data
    assert np.all((rows == 0).all(axis=1) | (rows != 0).all(axis=1))
    values = np.arange(10)
    shuffled = keras.random.shuffle(values, seed=3).data
    assert sorted(shuffled) == list(values) and not np.array_equal(shuffled, values)
    with pytest.raises(ValueError, match="rate"):
        keras.random.dropout(x, 1.0)


def test_map_coordinates_mirror_is_scipys_whole_sample_mirror():
    """Keras 3.15 on TensorFlow reads out of bounds in "mirror" mode; ours is scipy's."""
    ndimage = pytest.importorskip("scipy.ndimage")
    image = rng.standard_normal((4, 5))
    points = np.array([[-1.2, 0.6, 4.4, 3.5, 7.25, -5.5], [0.4, 5.5, -2.6, 4.1, 9.0, 2.0]])
    got = ops.image.map_coordinates(image, points, 1, fill_mode="mirror").data
    np.testing.assert_allclose(got, ndimage.map_coordinates(image, points, order=1,
                                                            mode="mirror"), atol=1e-12)


def test_elastic_transform_displaces_smoothly_and_repeats_with_its_seed():
    image = rng.uniform(size=(1, 12, 12, 2)).astype(np.float32)
    moved = ops.image.elastic_transform(image, alpha=3.0, sigma=2.0, seed=4).data
    again = ops.image.elastic_transform(image, alpha=3.0, sigma=2.0, seed=4).data
    np.testing.assert_array_equal(moved, again)
    assert moved.dtype == np.float32 and not np.allclose(moved, image)
    # A constant image stays constant whatever the displacement (reflect fill).
    flat = ops.image.elastic_transform(np.full((1, 6, 7, 1), 0.25, np.float32), seed=1).data
    np.testing.assert_allclose(flat, 0.25, rtol=1e-6)
