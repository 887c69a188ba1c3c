"""Keras 2 backend functions (`K.*`): tf.keras 2.21 fixture values, NumPy references, dtypes
and gradients."""
import json

import numpy as np
import pytest

import minikeras as keras
from minikeras import backend as K
from minikeras.core.tensor import Tensor, Variable
from conftest import fixture_path
from gradcheck import check_gradients

RTOL, ATOL = 1e-5, 1e-6

with open(fixture_path("functions", "backend.json")) as _handle:
    BACKEND = json.load(_handle)
ARRAYS = np.load(fixture_path("functions", "arrays.npz"))


def _np(x):
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def _arg(value):
    if isinstance(value, list):
        return [_arg(v) for v in value]
    if isinstance(value, str) and value.startswith("@"):
        array = ARRAYS[value[1:]]
        return K.constant(array, dtype=array.dtype.name)
    return value


def _id(case):
    return case["function"] + "-" + json.dumps(case["kwargs"], sort_keys=True)


@pytest.mark.parametrize("case", BACKEND["functions"], ids=[_id(c) for c in BACKEND["functions"]])
def test_fixture_functions(case):
    fn = getattr(K, case["function"])
    out = fn(*[_arg(a) for a in case["args"]], **case["kwargs"])
    value = _np(out)
    assert list(value.shape) == case["shape"]
    assert value.dtype == np.dtype(case["dtype"])
    np.testing.assert_allclose(value, case["value"], rtol=RTOL, atol=ATOL)


def test_fixture_scalars():
    s = BACKEND["scalars"]
    assert K.epsilon() == s["epsilon"]
    assert K.floatx() == s["floatx"]
    assert K.image_data_format() == s["image_data_format"]
    assert K.int_shape(K.constant(ARRAYS["m"])) == tuple(s["int_shape_m"])
    assert K.ndim(K.constant(ARRAYS["img4"])) == s["ndim_img4"]
    assert K.learning_phase() == s["learning_phase"]
    assert K.count_params(K.variable(ARRAYS["m"])) == s["count_params_variable"]


def test_settings_round_trip():
    K.set_epsilon(1e-5)
    try:
        assert K.epsilon() == 1e-5
    finally:
        K.set_epsilon(1e-7)
    K.set_floatx("float64")
    assert K.floatx() == "float64"
    assert K.constant(1.0).dtype == np.float64
    K.set_floatx("float32")
    with pytest.raises(ValueError, match="Unknown floatx type"):
        K.set_floatx("int8")
    K.set_image_data_format("channels_first")
    try:
        assert K.image_data_format() == "channels_first"
    finally:
        K.set_image_data_format("channels_last")
    with pytest.raises(ValueError):
        K.set_image_data_format("nchw")


M = ARRAYS["m"]           # (3, 4)
POS = ARRAYS["pos"]       # (3, 4) positive
B3A, B3B = ARRAYS["b3a"], ARRAYS["b3b"]   # (2, 3, 4), (2, 4, 5)
B2A, B2B = ARRAYS["b2a"], ARRAYS["b2b"]   # (3, 4), (3, 4)


ELEMENTWISE = {
    "square": (lambda x: K.square(x), np.square, M),
    "sqrt": (lambda x: K.sqrt(x), np.sqrt, POS),
    "exp": (lambda x: K.exp(x), np.exp, M),
    "log": (lambda x: K.log(x), np.log, POS),
    "abs": (lambda x: K.abs(x), np.abs, M),
    "pow": (lambda x: K.pow(x, 3), lambda x: x ** 3, M),
    "pow_frac": (lambda x: K.pow(x, 0.5), np.sqrt, POS),
    "clip": (lambda x: K.clip(x, -0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), M),
    "relu": (lambda x: K.relu(x), lambda x: np.maximum(x, 0), M),
    "sigmoid": (lambda x: K.sigmoid(x), lambda x: 1 / (1 + np.exp(-x)), M),
    "tanh": (lambda x: K.tanh(x), np.tanh, M),
    "softplus": (lambda x: K.softplus(x), lambda x: np.log1p(np.exp(x)), M),
    "softsign": (lambda x: K.softsign(x), lambda x: x / (1 + np.abs(x)), M),
    "elu": (lambda x: K.elu(x), lambda x: np.where(x > 0, x, np.expm1(x)), M),
    "hard_sigmoid": (lambda x: K.hard_sigmoid(x), lambda x: np.clip(0.2 * x + 0.5, 0, 1), M),
    "softmax": (lambda x: K.softmax(x), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), M),
    "sin": (lambda x: K.sin(x), np.sin, M),
    "cos": (lambda x: K.cos(x), np.cos, M),
    "maximum": (lambda x: K.maximum(x, 0.1), lambda x: np.maximum(x, 0.1), M),
    "minimum": (lambda x: K.minimum(x, 0.1), lambda x: np.minimum(x, 0.1), M),
    "l2_normalize_none": (lambda x: K.l2_normalize(x), lambda x: x / np.sqrt((x * x).sum()), M),
    "l2_normalize_1": (lambda x: K.l2_normalize(x, axis=1),
                       lambda x: x / np.sqrt((x * x).sum(1, keepdims=True)), M),
    "transpose": (lambda x: K.transpose(x), np.transpose, M),
    "permute_dimensions": (lambda x: K.permute_dimensions(x, (2, 0, 1)),
                           lambda x: np.transpose(x, (2, 0, 1)), B3A),
    "expand_dims": (lambda x: K.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), M),
    "squeeze": (lambda x: K.squeeze(K.expand_dims(x, 1), 1), lambda x: x, M),
    "reshape": (lambda x: K.reshape(x, (2, -1)), lambda x: x.reshape(2, -1), M),
    "flatten": (lambda x: K.flatten(x), lambda x: x.reshape(-1), B3A),
    "batch_flatten": (lambda x: K.batch_flatten(x), lambda x: x.reshape(2, -1), B3A),
    "tile": (lambda x: K.tile(x, (2, 3)), lambda x: np.tile(x, (2, 3)), M),
    "repeat_elements": (lambda x: K.repeat_elements(x, 2, axis=1),
                        lambda x: np.repeat(x, 2, axis=1), M),
    "repeat": (lambda x: K.repeat(x, 3), lambda x: np.repeat(x[:, None, :], 3, axis=1), M),
    "sum": (lambda x: K.sum(x, axis=0), lambda x: x.sum(0), M),
    "sum_keep": (lambda x: K.sum(x, axis=[0, 2], keepdims=True),
                 lambda x: x.sum((0, 2), keepdims=True), B3A),
    "mean": (lambda x: K.mean(x, axis=-1), lambda x: x.mean(-1), M),
    "max": (lambda x: K.max(x, axis=1), lambda x: x.max(1), M),
    "min": (lambda x: K.min(x, axis=0, keepdims=True), lambda x: x.min(0, keepdims=True), M),
    "prod": (lambda x: K.prod(x, axis=1), lambda x: x.prod(1), M),
    "var": (lambda x: K.var(x, axis=1), lambda x: x.var(1), M),
    "std": (lambda x: K.std(x), lambda x: x.std(), M),
    "logsumexp": (lambda x: K.logsumexp(x, axis=1),
                  lambda x: np.log(np.exp(x).sum(1)), M),
    "cumsum": (lambda x: K.cumsum(x, axis=1), lambda x: np.cumsum(x, 1), M),
    "gather": (lambda x: K.gather(x, np.array([2, 0, 2])), lambda x: x[[2, 0, 2]], M),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_function_values_and_dtype(name):
    fn, ref, x = ELEMENTWISE[name]
    out = _np(fn(K.constant(x)))
    assert out.dtype == np.float32, name
    np.testing.assert_allclose(out, ref(x.astype(np.float64)), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_function_gradients(name, float64):
    fn, _, x = ELEMENTWISE[name]
    x = x.astype(np.float64)
    if name in ("relu", "clip", "maximum", "minimum", "abs"):
        x = x + 0.0123
    check_gradients(fn, [x], rtol=1e-5, atol=1e-7)


def test_sqrt_clips_negatives_to_zero():
    np.testing.assert_allclose(_np(K.sqrt(K.constant([-4.0, 4.0]))), [0.0, 2.0])


def test_clip_raises_max_to_min():
    np.testing.assert_allclose(_np(K.clip(K.constant([0.0, 5.0]), 2.0, 1.0)), [2.0, 2.0])
    np.testing.assert_allclose(_np(K.clip(K.constant([-9.0, 9.0]), None, 1.0)), [-9.0, 1.0])


def test_dot_variants():
    a, b = B3A, B3B
    # 2-D
    np.testing.assert_allclose(_np(K.dot(K.constant(M), K.constant(ARRAYS["m2"]))),
                               M.astype(float) @ ARRAYS["m2"], rtol=RTOL, atol=ATOL)
    # N-D x 2-D and N-D x N-D (Keras 2: contract x's last with y's second-to-last)
    w = ARRAYS["m2"]
    np.testing.assert_allclose(_np(K.dot(K.constant(a), K.constant(w))),
                               np.einsum("bij,jk->bik", a.astype(float), w), rtol=RTOL, atol=ATOL)
    y = np.random.default_rng(0).standard_normal((3, 4, 2)).astype(np.float32)
    got = _np(K.dot(K.constant(a), K.constant(y)))
    assert got.shape == (2, 3, 3, 2)
    np.testing.assert_allclose(got, np.einsum("abi,cid->abcd", a.astype(float), y),
                               rtol=RTOL, atol=ATOL)


def test_dot_gradients(float64):
    rng = np.random.default_rng(1)
    check_gradients(lambda x, y: K.dot(x, y), [rng.standard_normal((3, 4)),
                                             rng.standard_normal((4, 2))])
    check_gradients(lambda x, y: K.dot(x, y), [rng.standard_normal((2, 3, 4)),
                                             rng.standard_normal((4, 2))])
    check_gradients(lambda x, y: K.dot(x, y), [rng.standard_normal((2, 3, 4)),
                                             rng.standard_normal((3, 4, 2))])


BATCH_DOT_CASES = [
    ((2, 3, 4), (2, 4, 5), (2, 1), "bij,bjk->bik"),
    ((2, 3, 4), (2, 4, 5), None, "bij,bjk->bik"),
    ((3, 4), (3, 4), 1, "bi,bi->b"),
    ((3, 4), (3, 4), None, "bi,bi->b"),
    ((2, 3, 4), (2, 5, 4), (2, 2), "bij,bkj->bik"),
    ((2, 3, 4), (2, 3, 5), (1, 1), "bij,bik->bjk"),
    ((2, 4), (2, 4, 5), (1, 1), "bi,bik->bk"),
    ((2, 3, 4), (2, 4), (2, 1), "bij,bj->bi"),
]


@pytest.mark.parametrize("xs,ys,axes,spec", BATCH_DOT_CASES)
def test_batch_dot(xs, ys, axes, spec):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(xs).astype(np.float32)
    y = rng.standard_normal(ys).astype(np.float32)
    got = _np(K.batch_dot(K.constant(x), K.constant(y), axes=axes))
    expected = np.einsum(spec, x.astype(float), y.astype(float))
    if expected.ndim == 1:
        expected = expected[:, None]
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("xs,ys,axes,spec", BATCH_DOT_CASES)
def test_batch_dot_gradients(xs, ys, axes, spec, float64):
    rng = np.random.default_rng(3)
    check_gradients(lambda x, y: K.batch_dot(x, y, axes=axes),
                    [rng.standard_normal(xs), rng.standard_normal(ys)])


def test_batch_dot_rank_error():
    with pytest.raises(ValueError, match="rank < 2"):
        K.batch_dot(K.constant(np.ones(3)), K.constant(np.ones((3, 2))))


def test_batch_dot_size_mismatch_error_names_the_axes():
    # cifar10_cnn_capsule's routing (batch_dot(o, hat_inputs, [2, 3])) fails so in tf.keras
    o, hat_inputs = K.constant(np.ones((2, 10, 10, 16))), K.constant(np.ones((2, 10, 7, 16)))
    with pytest.raises(ValueError, match=r"x.shape\[2\] != y.shape\[3\] \(10 != 16\)"):
        K.batch_dot(o, hat_inputs, [2, 3])


def test_concatenate_stack_gradients(float64):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 2))
    check_gradients(lambda x, y: K.concatenate([x, y], axis=-1), [a, b])
    check_gradients(lambda x, y: K.stack([x, y], axis=1), [a, rng.standard_normal((3, 4))])


def test_construction_and_values():
    c = K.constant(3)
    assert c.dtype == np.float32 and c.shape == ()
    assert K.constant(ARRAYS["idx"]).dtype == np.float32
    assert K.constant(ARRAYS["idx"], dtype="int32").dtype == np.int32
    assert K.constant(1.5, shape=(2, 3)).shape == (2, 3)
    v = K.variable(M, name="v")
    assert isinstance(v, Variable) and v.dtype == np.float32 and v.name == "v:0"
    np.testing.assert_array_equal(K.get_value(v), M)
    K.set_value(v, np.zeros((3, 4)))
    assert K.get_value(v).sum() == 0 and v.dtype == np.float32
    K.batch_set_value([(v, np.ones((3, 4)))])
    assert K.batch_get_value([v])[0].sum() == 12
    with pytest.raises(ValueError):
        K.set_value(v, np.zeros((2, 2)))
    assert K.eval(v).shape == (3, 4)
    assert _np(K.zeros_like(v)).dtype == np.float32 and _np(K.ones_like(v)).sum() == 12
    assert K.zeros((2, 3)).dtype == np.float32 and _np(K.ones((2,))).sum() == 2
    np.testing.assert_array_equal(_np(K.eye(3)), np.eye(3))
    np.testing.assert_array_equal(_np(K.shape(v)), [3, 4])
    assert K.int_shape(v) == (3, 4) and K.ndim(v) == 2 and K.dtype(v) == "float32"
    assert K.count_params(v) == 12
    assert K.cast(v, "float16").dtype == np.float16
    assert K.cast(K.constant([1.7]), "int32").dtype == np.int32
    assert K.cast_to_floatx(np.arange(3)).dtype == np.float32
    assert K.is_tensor(v) and not K.is_tensor(M)


def test_comparisons_and_logic():
    a = K.constant(M)
    np.testing.assert_array_equal(_np(K.greater(a, 0.0)), M > 0)
    np.testing.assert_array_equal(_np(K.less_equal(a, 0.0)), M <= 0)
    np.testing.assert_array_equal(_np(K.equal(a, a)), np.ones_like(M, bool))
    np.testing.assert_array_equal(_np(K.any(K.greater(a, 1.0), axis=1)), (M > 1).any(1))
    np.testing.assert_array_equal(_np(K.all(K.greater(a, -5.0))), True)
    np.testing.assert_array_equal(_np(K.argmax(a)), M.argmax(-1))
    np.testing.assert_array_equal(_np(K.argmin(a, axis=0)), M.argmin(0))
    np.testing.assert_array_equal(_np(K.sign(a)), np.sign(M))
    np.testing.assert_array_equal(_np(K.round(K.constant([0.4, 1.6]))), [0.0, 2.0])
    np.testing.assert_allclose(_np(K.switch(K.greater(a, 0.0), a, -a)), np.abs(M))


def test_one_hot_and_phase_helpers():
    np.testing.assert_array_equal(_np(K.one_hot(ARRAYS["labels"], 4)), np.eye(4)[ARRAYS["labels"]])
    # tf.one_hot: an index outside [0, num_classes) is a row of zeros (not wrapped around)
    np.testing.assert_array_equal(_np(K.one_hot(np.array([-1, 3, 1]), 3)),
                                  [[0, 0, 0], [0, 0, 0], [0, 1, 0]])
    assert K.in_train_phase(lambda: 1, lambda: 2, training=True) == 1
    assert K.in_train_phase(1, 2, training=False) == 2
    assert K.in_test_phase(1, 2, training=False) == 1
    K.set_learning_phase(1)
    assert K.learning_phase() == 1
    K.clear_session()
    assert K.learning_phase() == 0
    with pytest.raises(ValueError):
        K.set_learning_phase(2)


def test_bias_add_and_dropout():
    x = K.constant(B3A)
    b = K.constant(np.arange(4, dtype=np.float32))
    np.testing.assert_allclose(_np(K.bias_add(x, b)), B3A + np.arange(4), rtol=RTOL)
    bc = K.constant(np.arange(3, dtype=np.float32))
    np.testing.assert_allclose(_np(K.bias_add(x, bc, data_format="channels_first")),
                               B3A + np.arange(3)[None, :, None], rtol=RTOL)
    out = _np(K.dropout(K.constant(np.ones((50, 40))), 0.25, seed=3))
    assert out.dtype == np.float32
    assert np.all((out == 0) | np.isclose(out, 1 / 0.75))
    assert 0.2 < np.mean(out == 0) < 0.3
    np.testing.assert_array_equal(out, _np(K.dropout(K.constant(np.ones((50, 40))), 0.25, seed=3)))


def test_backend_crossentropies():
    t, p = ARRAYS["bin_true"], ARRAYS["bin_prob"]
    pc = np.clip(p.astype(float), 1e-7, 1 - 1e-7)
    expected = -(t * np.log(pc + 1e-7) + (1 - t) * np.log(1 - pc + 1e-7))
    np.testing.assert_allclose(_np(K.binary_crossentropy(K.constant(t), K.constant(p))), expected,
                               rtol=RTOL, atol=ATOL)
    oh, cp = ARRAYS["onehot_true"], ARRAYS["cat_prob"]
    expected = -(oh * np.log(np.clip(cp / cp.sum(-1, keepdims=True), 1e-7, 1 - 1e-7))).sum(-1)
    np.testing.assert_allclose(_np(K.categorical_crossentropy(K.constant(oh), K.constant(cp))),
                               expected, rtol=RTOL, atol=ATOL)
    got = _np(K.sparse_categorical_crossentropy(K.constant(ARRAYS["sparse_true"], "int32"),
                                                K.constant(ARRAYS["cat_logits"]), from_logits=True))
    z = ARRAYS["cat_logits"].astype(float)
    lsm = z - np.log(np.exp(z).sum(-1, keepdims=True))
    np.testing.assert_allclose(got, -lsm[np.arange(4), ARRAYS["sparse_true"]], rtol=RTOL, atol=ATOL)


def test_unique_object_names():
    assert K.unique_object_name("dense") == "dense"
    assert K.unique_object_name("dense") == "dense_1"
    assert K.unique_object_name("conv") == "conv"
    K.clear_session()
    assert K.unique_object_name("dense") == "dense"


def test_custom_loss_with_backend_functions_trains():
    def my_loss(y_true, y_pred):
        return K.mean(K.square(y_pred - y_true), axis=-1)
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", loss=my_loss)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32)
    y = np.zeros((8, 2), np.float32)
    hist = model.fit(x, y, epochs=3, verbose=0)
    assert hist.history["loss"][-1] < hist.history["loss"][0]


def test_unseeded_random_functions_follow_set_random_seed():
    from minikeras import backend as K
    draws = []
    for _ in range(2):
        keras.utils.set_random_seed(11)
        draws.append([K.random_normal((4,)).data, K.random_uniform((4,)).data,
                      K.random_bernoulli((4,), p=0.5).data, K.truncated_normal((4,)).data])
    for first, second in zip(*draws):
        np.testing.assert_array_equal(first, second)
    assert not np.array_equal(K.random_normal((4,)).data, draws[0][0])


def test_get_value_is_a_snapshot_and_a_numpy_scalar_for_0d():
    # tf.keras: K.get_value(v) is v.numpy(), a copy; 0-d values are NumPy scalars (np.float32)
    vector = K.variable([1.0, 2.0])
    got, via_numpy = K.get_value(vector), vector.numpy()
    K.set_value(vector, [5.0, 6.0])
    np.testing.assert_array_equal(got, [1.0, 2.0])
    np.testing.assert_array_equal(via_numpy, [1.0, 2.0])
    scalar = K.variable(3.0)
    assert type(K.get_value(scalar)) is np.float32 and K.get_value(scalar) == 3.0
    assert [type(v) for v in K.batch_get_value([scalar, vector])] == [np.float32, np.ndarray]


def test_learning_rates_recorded_by_a_callback_keep_their_values():
    # HOML2 chapter 11's learning-rate finder appends K.get_value(optimizer.learning_rate)
    # every batch, then multiplies the rate: each entry must keep the rate of its batch
    class Record(keras.callbacks.Callback):
        rates = []

        def on_batch_end(self, batch, logs=None):
            self.rates.append(K.get_value(self.model.optimizer.learning_rate))
            K.set_value(self.model.optimizer.learning_rate,
                        self.model.optimizer.learning_rate * 2.0)

    model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    model.fit(np.ones((8, 2), "float32"), np.ones((8, 1), "float32"), batch_size=2,
              epochs=1, verbose=0, callbacks=[Record()])
    np.testing.assert_allclose(Record.rates, 0.01 * 2.0 ** np.arange(4), rtol=1e-6)


def test_random_bernoulli_takes_tensor_probability_and_shape():
    # keras-drop-block: p computed with backend ops, shape from K.shape (a tensor)
    x = K.zeros((4, 50, 3))
    draws = K.random_bernoulli(K.shape(x), p=K.constant(0.25), seed=3)
    assert draws.shape == (4, 50, 3) and draws.dtype == np.float32
    assert set(np.unique(draws.numpy())) <= {0.0, 1.0}
    assert abs(float(np.mean(draws.numpy())) - 0.25) < 0.05
