"""keras.mixed_precision as in tf_keras 2.21: single-dtype policies, 'mixed_float16' layers
(float32 variables read as float16 in `call`, float16 outputs), LossScaleOptimizer and the
compiled fits that wrap their optimizer in it. Numbers from tf_keras 2.21 on CPU
(tests/fixtures/mixed_precision/, recipe benchmarks/fixture_recipes/mixed_precision.py)."""
import json
import zipfile

import h5py
import numpy as np
import pytest

import minikeras as keras
from conftest import fixture_path
from minikeras import ops
from minikeras.saving.tf_bundle import read_bundle_index

mixed_precision = keras.mixed_precision
L = keras.layers
EXPECTED = np.load(fixture_path("mixed_precision", "expected.npz"))
FACTS = json.load(open(fixture_path("mixed_precision", "expected.json")))
MIXED_CONFIG = {"module": "keras.mixed_precision", "class_name": "Policy",
                "config": {"name": "mixed_float16"}, "registered_name": None}


@pytest.fixture(autouse=True)
def _restore_global_policy():
    yield
    mixed_precision.set_global_policy(None)


def float16_ulps(got, want):
    """|got - want| in units of float16 spacing at `want`."""
    want16 = np.asarray(want).astype(np.float16)
    spacing = np.spacing(np.abs(want16)).astype(np.float32)
    return np.abs(np.asarray(got, np.float32) - want16.astype(np.float32)) / spacing


# --- policies ---------------------------------------------------------------------------
def test_default_policy_follows_floatx():
    assert mixed_precision.global_policy() == mixed_precision.Policy("float32")
    assert keras.layers.Dense(2).dtype_policy.name == "float32"


def test_policy_attributes():
    mixed = mixed_precision.Policy("mixed_float16")
    assert (mixed.compute_dtype, mixed.variable_dtype) == ("float16", "float32")
    plain = mixed_precision.Policy("float64")
    assert (plain.compute_dtype, plain.variable_dtype) == ("float64", "float64")
    assert mixed_precision.Policy.from_config(plain.get_config()) == plain
    assert repr(plain) == '<Policy "float64">'


def test_global_float64_policy_makes_float64_layers_and_outputs():
    mixed_precision.set_global_policy("float64")
    layer = keras.layers.Dense(3)
    out = layer(np.ones((2, 4), np.float32))
    assert layer.dtype == "float64" and layer.kernel.dtype == np.float64
    assert np.asarray(out).dtype == np.float64
    mixed_precision.set_global_policy(None)
    assert keras.layers.Dense(3).dtype == "float32"


def test_policy_object_as_layer_dtype():
    layer = keras.layers.Dense(2, dtype=mixed_precision.Policy("float64"))
    assert layer.dtype == "float64"


@pytest.mark.parametrize("name", ["mixed_bfloat16", "bfloat16"])
def test_bfloat16_policies_raise_naming_them(name):
    # NumPy has no bfloat16: refused, not computed in float16
    with pytest.raises(NotImplementedError, match=name):
        mixed_precision.set_global_policy(name)
    assert mixed_precision.global_policy().name == "float32"
    with pytest.raises(NotImplementedError, match=name):
        keras.layers.Dense(2, dtype=mixed_precision.Policy(name))


def test_bad_policies():
    with pytest.raises(ValueError, match="floating-point policies"):
        mixed_precision.set_global_policy("int32")
    with pytest.raises(ValueError, match="Cannot convert value foo"):
        mixed_precision.Policy("foo")
    with pytest.raises(TypeError, match="must be a string"):
        mixed_precision.Policy(3)


# --- mixed_float16 layers ---------------------------------------------------------------
def test_mixed_layer_dtypes_inside_and_outside_call():
    seen = {}

    class Probe(L.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", shape=(input_shape[-1], 2))

        def call(self, x):
            seen["w"], seen["x"] = self.w.dtype, x.dtype
            return ops.matmul(x, self.w)

    mixed_precision.set_global_policy("mixed_float16")
    probe = Probe()
    out = probe(np.ones((1, 3), np.float32))
    assert (seen["w"], seen["x"], out.dtype) == (np.float16,) * 3      # tf: AutoCastVariable
    assert probe.w.dtype == np.float32 and probe.get_weights()[0].dtype == np.float32
    assert (probe.dtype, probe.compute_dtype, probe.variable_dtype) == \
        ("float32", "float16", "float32")
    assert probe.dtype_policy == mixed_precision.Policy("mixed_float16")


def test_mixed_config_records_the_policy_as_tf_keras():
    layer = L.Dense(2, dtype="mixed_float16")
    assert layer.get_config()["dtype"] == MIXED_CONFIG == FACTS["dense_relu"]["config_dtype"]
    assert L.Dense.from_config(layer.get_config()).dtype_policy.name == "mixed_float16"
    assert L.Activation("softmax", dtype="float32").get_config()["dtype"] == "float32"


LAYERS = {
    "dense_relu": lambda: L.Dense(5, activation="relu"),
    "dense_tanh": lambda: L.Dense(5, activation="tanh"),
    "dense_sigmoid": lambda: L.Dense(5, activation="sigmoid"),
    "conv2d": lambda: L.Conv2D(4, 3, padding="same", activation="relu"),
    "batchnorm": lambda: L.BatchNormalization(),
    "layernorm": lambda: L.LayerNormalization(),
    "softmax": lambda: L.Activation("softmax"),
    "softmax_float32": lambda: L.Activation("softmax", dtype="float32"),
    "embedding": lambda: L.Embedding(5, 3),
    "lstm": lambda: L.LSTM(3),
    "conv2d_transpose": lambda: L.Conv2DTranspose(2, 3, strides=2),
    "depthwise": lambda: L.DepthwiseConv2D(3),
    "max_pool": lambda: L.MaxPooling2D(),
    "global_avg": lambda: L.GlobalAveragePooling2D(),
}
# float16 units in the last place from tf's output: products accumulate in float32 and round
# once as tf's CPU kernels (0 ulp); float16 elementwise ops (Eigen's half math) and tf's
# depthwise/transposed kernels round differently by a few ulps
ULPS = {"dense_sigmoid": 1, "layernorm": 4, "softmax": 2, "lstm": 4, "depthwise": 8}


def build_case(name):
    mixed_precision.set_global_policy("mixed_float16")
    x = EXPECTED[f"{name}/x"]
    layer = LAYERS[name]()
    layer(x)
    layer.set_weights([EXPECTED[f"{name}/w{i}"] for i in range(len(layer.get_weights()))])
    return layer, x


@pytest.mark.parametrize("name", [n for n in LAYERS if n != "conv2d_transpose"])
def test_mixed_layer_outputs_match_tf_keras(name):
    layer, x = build_case(name)
    facts = FACTS[name]
    assert [(w.name.split("/", 1)[1], w.dtype.name) for w in layer.weights] == \
        [(n.split("/", 1)[1], d) for n, d in facts["weights"]]
    for training in (True, False):
        out = layer(x, training=training)
        assert np.asarray(out).dtype.name == facts["out_dtype"]
        want = EXPECTED[f"{name}/out_{'train' if training else 'infer'}"]
        if facts["out_dtype"] == "float32":
            np.testing.assert_allclose(np.asarray(out), want, rtol=1e-6, atol=1e-7)
        else:
            assert float16_ulps(out, want).max() <= ULPS.get(name, 0), name


def test_conv2d_transpose_output_to_float16_round_off():
    layer, x = build_case("conv2d_transpose")
    want = EXPECTED["conv2d_transpose/out_infer"].astype(np.float32)
    out = layer(x)
    assert np.asarray(out).dtype == np.float16
    np.testing.assert_allclose(np.asarray(out, np.float32), want, atol=4e-3)


@pytest.mark.parametrize("name", list(LAYERS))
def test_mixed_layer_gradients_are_float32_and_match_tf_keras(name):
    layer, x = build_case(name)
    with keras.GradientTape() as tape:
        source = ops.convert_to_tensor(x)
        if x.dtype.kind == "f":
            tape.watch(source)
        out = layer(source, training=True)
        loss = ops.sum(ops.cast(out, "float32") * EXPECTED[f"{name}/r"])
    sources = list(layer.trainable_weights) + ([source] if x.dtype.kind == "f" else [])
    grads = tape.gradient(loss, sources)
    assert [np.asarray(g).dtype.name for g in grads[:len(layer.trainable_weights)]] == \
        FACTS[name]["grad_dtypes"][:len(layer.trainable_weights)]
    for k, g in enumerate(grads):
        want = EXPECTED[f"{name}/g{k}"]
        np.testing.assert_allclose(np.asarray(g, np.float32), want,
                                   atol=4e-3 * max(1.0, float(np.abs(want).max())))


def test_float16_products_accumulate_in_float32():
    """tf's CPU float16 matmul equals the float32 product rounded once (the fixtures' dense
    cases show 0 ulp); NumPy's own float16 matmul accumulates otherwise."""
    rng = np.random.default_rng(0)
    a = rng.random((64, 512)).astype(np.float16)
    b = rng.random((512, 32)).astype(np.float16)
    want = (a.astype(np.float32) @ b.astype(np.float32)).astype(np.float16)
    np.testing.assert_array_equal(np.asarray(ops.matmul(a, b)), want)
    np.testing.assert_array_equal(np.asarray(ops.matmul(a[None], b[None]))[0], want)


def test_functional_model_keeps_float32_inputs_and_outputs():
    mixed_precision.set_global_policy("mixed_float16")
    inputs = keras.Input((3,))
    hidden = L.Dense(4)(inputs)
    outputs = L.Activation("softmax", dtype="float32")(hidden)
    model = keras.Model(inputs, outputs)
    assert inputs.dtype == np.float32 and hidden.dtype == np.float16
    assert model.output.dtype == np.float32
    assert model.dtype_policy.name == "mixed_float16"
    assert np.asarray(model.predict(np.ones((2, 3)), verbose=0)).dtype == np.float32


# --- compiled fits ----------------------------------------------------------------------
def guide_mlp():
    inputs = keras.Input(shape=(12,), name="digits")
    x = L.Dense(16, activation="relu", name="dense_1")(inputs)
    x = L.Dense(16, activation="relu", name="dense_2")(x)
    x = L.Dense(4, name="dense_logits")(x)
    outputs = L.Activation("softmax", dtype="float32", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def conv_bn():
    return keras.Sequential([
        keras.Input((6, 6, 2)), L.Conv2D(4, 3, padding="same"), L.BatchNormalization(),
        L.Activation("relu"), L.MaxPooling2D(), L.Flatten(), L.Dense(3),
        L.Activation("softmax", dtype="float32")])


LSO = mixed_precision.LossScaleOptimizer
FITS = {
    "mlp_rmsprop": (guide_mlp, lambda: keras.optimizers.RMSprop()),
    "mlp_sgd_growth": (guide_mlp, lambda: LSO(keras.optimizers.SGD(0.1, momentum=0.9),
                                              dynamic_growth_steps=2)),
    "mlp_overflow": (guide_mlp, lambda: LSO(keras.optimizers.Adam(0.01),
                                            initial_scale=2.0 ** 40, dynamic_growth_steps=3)),
    "conv_bn_adam": (conv_bn, lambda: keras.optimizers.Adam(0.01)),
}


class ScaleRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.scales, self.counters, self.iterations = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        optimizer = self.model.optimizer
        self.scales.append(float(optimizer.loss_scale))
        self.counters.append(int(optimizer.dynamic_counter))
        self.iterations.append(int(optimizer.iterations))


def fit_case(name):
    mixed_precision.set_global_policy("mixed_float16")
    build, make_optimizer = FITS[name]
    prefix = f"fit_{name}/"
    model = build()
    model.set_weights([EXPECTED[f"{prefix}w{i}"] for i in range(len(model.get_weights()))])
    model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    recorder = ScaleRecorder()
    history = model.fit(EXPECTED[prefix + "x"], EXPECTED[prefix + "y"], batch_size=8,
                        epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    return model, history, recorder


@pytest.mark.parametrize("name", list(FITS))
def test_mixed_fit_matches_tf_keras(name):
    facts = FACTS[f"fit_{name}"]
    model, history, recorder = fit_case(name)
    assert type(model.optimizer).__name__ == facts["optimizer_class"] == "LossScaleOptimizerV3"
    assert isinstance(model.optimizer, LSO)
    assert model.optimizer.get_config() == facts["optimizer_config"]
    # the loss scale of every step: growth, and halving on an overflow (the step skipped)
    assert recorder.scales == facts["scales"]
    assert recorder.counters == facts["counters"]
    assert recorder.iterations == facts["iterations"]
    assert list(history.history) == list(facts["history"])
    for key, values in facts["history"].items():
        np.testing.assert_allclose(history.history[key], values, rtol=2e-4, atol=1e-6)
    for k, (got, variable) in enumerate(zip(model.get_weights(), model.weights)):
        if name == "conv_bn_adam" and ("conv2d" in variable.name and "bias" in variable.name
                                       or "moving_mean" in variable.name):
            continue    # a bias before batch norm: its gradient is float16 round-off noise
        want = EXPECTED[f"fit_{name}/after{k}"]
        np.testing.assert_allclose(got, want, atol=5e-4 * max(1.0, float(np.abs(want).max())),
                                   err_msg=variable.name)


def test_overflowing_steps_leave_the_weights_alone():
    model, _, _ = fit_case("mlp_overflow")
    for k, got in enumerate(model.get_weights()):
        np.testing.assert_array_equal(got, EXPECTED[f"fit_mlp_overflow/w{k}"])


def test_custom_loop_with_scaled_loss_and_unscaled_gradients():
    """The mixed-precision guide's custom training loop."""
    mixed_precision.set_global_policy("mixed_float16")
    model = guide_mlp()
    model.set_weights([EXPECTED[f"loop/w{i}"] for i in range(len(model.get_weights()))])
    optimizer = LSO(keras.optimizers.SGD(0.05))
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    x, y = EXPECTED["loop/x"], EXPECTED["loop/y"]
    facts = FACTS["loop"]
    for step in range(3):
        with keras.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
            scaled_loss = optimizer.get_scaled_loss(loss)
        assert np.asarray(scaled_loss).dtype.name == facts["scaled_dtype"]
        np.testing.assert_allclose(float(loss), facts["losses"][step], rtol=1e-4)
        np.testing.assert_allclose(float(scaled_loss), facts["scaled_losses"][step], rtol=1e-4)
        grads = tape.gradient(scaled_loss, model.trainable_variables)
        if step == 0:
            for k, g in enumerate(grads):
                want = EXPECTED[f"loop/scaled_grad{k}"]
                np.testing.assert_allclose(np.asarray(g), want,
                                           atol=2e-3 * float(np.abs(want).max()))
        grads = optimizer.get_unscaled_gradients(grads)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    for k, got in enumerate(model.get_weights()):
        np.testing.assert_allclose(got, EXPECTED[f"loop/after{k}"], atol=1e-4)


def test_loss_scale_optimizer_arguments():
    inner = keras.optimizers.SGD()
    fixed = LSO(inner, dynamic=False, initial_scale=128)
    assert not fixed.dynamic and float(fixed.loss_scale) == 128.0
    assert fixed.dynamic_counter is None and fixed.dynamic_growth_steps is None
    assert fixed.inner_optimizer is inner and fixed.learning_rate is inner.learning_rate
    with pytest.raises(ValueError, match="already wrapped"):
        LSO(inner)
    with pytest.raises(ValueError, match='"initial_scale" must be specified'):
        LSO(keras.optimizers.SGD(), dynamic=False)
    with pytest.raises(TypeError, match="cannot wrap another"):
        LSO(fixed)
    dynamic = LSO(keras.optimizers.Adam())
    assert (dynamic.initial_scale, dynamic.dynamic_growth_steps) == (32768.0, 2000)
    assert float(dynamic.loss_scale) == 32768.0 and int(dynamic.dynamic_counter) == 0


def test_float32_models_keep_their_optimizer():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2)])
    model.compile("adam", "mse")
    assert type(model.optimizer).__name__ == "Adam"


def test_tf_keras_h5_of_a_compiled_mixed_model_loads_and_trains_on(tmp_path):
    path = fixture_path("mixed_precision", "mlp_rmsprop.h5")
    model = keras.models.load_model(path)
    assert [layer.dtype_policy.name for layer in model.layers] == \
        ["float32", "mixed_float16", "mixed_float16", "mixed_float16", "float32"]
    assert type(model.optimizer).__name__ == "LossScaleOptimizerV3"
    assert type(model.optimizer.inner_optimizer).__name__ == "RMSprop"
    assert int(model.optimizer.iterations) == 6
    x = EXPECTED["fit_mlp_rmsprop/x"]
    want = EXPECTED["fit_mlp_rmsprop/predict"]
    np.testing.assert_allclose(model.predict(x, verbose=0), want, atol=2e-3)
    # our own file round trip keeps the float32 weights and the policy
    model.save(tmp_path / "again.h5")
    again = keras.models.load_model(tmp_path / "again.h5")
    assert again.layers[1].dtype_policy.name == "mixed_float16"
    assert again.layers[1].kernel.dtype == np.float32
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    again.fit(x, EXPECTED["fit_mlp_rmsprop/y"], epochs=1, verbose=0)
    assert int(again.optimizer.iterations) == 7     # one batch of 24
    # our file names the optimizer and its weights as tf_keras' does
    with h5py.File(path, "r") as theirs, h5py.File(tmp_path / "again.h5", "r") as ours:
        for f in (theirs, ours):
            assert json.loads(f.attrs["training_config"])["optimizer_config"]["class_name"] \
                == "LossScaleOptimizerV3"
        assert list(ours["optimizer_weights"].attrs["weight_names"]) == \
            list(theirs["optimizer_weights"].attrs["weight_names"])


def test_symbolic_outputs_are_float16_as_the_eager_ones():
    """Layers whose output is inferred by running `call` (Lambda, custom layers) run it as
    the eager call does: inputs cast to float16, weights read as float16."""
    class Scale(L.Layer):
        def build(self, input_shape):
            self.s = self.add_weight("s", shape=(input_shape[-1],), initializer="ones")

        def call(self, t):
            return t * self.s

    mixed_precision.set_global_policy("mixed_float16")
    inputs = keras.Input((5, 8))
    doubled = L.Lambda(lambda t: t * 2.0)(inputs)
    scaled = Scale()(inputs)
    assert (doubled.dtype, scaled.dtype) == (np.float16, np.float16)
    model = keras.Model(inputs, [doubled, scaled])
    assert [np.asarray(o).dtype for o in model(np.ones((2, 5, 8)))] == [np.float16] * 2


def test_multi_head_attention_sublayers_keep_float32_weights():
    mixed_precision.set_global_policy("mixed_float16")
    mha = L.MultiHeadAttention(2, 4)
    query = np.ones((2, 5, 8), np.float32)
    out = mha(query, query)
    assert np.asarray(out).dtype == np.float16
    assert {w.dtype for w in mha.weights} == {np.dtype(np.float32)}
    assert mha.query_dense.dtype_policy.name == "mixed_float16"


# --- TF-format checkpoints --------------------------------------------------------------
def checkpoint_model():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2),
                              L.Activation("linear", dtype="float32")])
    model.compile(LSO(keras.optimizers.Adam(), dynamic_growth_steps=2), "mse")
    return model


def test_tf_checkpoint_restores_the_loss_scale():
    mixed_precision.set_global_policy("mixed_float16")
    facts = FACTS["ckpt"]
    model = checkpoint_model()
    model.load_weights(fixture_path("mixed_precision", "ckpt", "ckpt"))
    model.fit(np.zeros((2, 3)), np.zeros((2, 2)), batch_size=2, verbose=0)   # restores lazily
    assert int(model.optimizer.iterations) == facts["iterations"] + 1
    # tf's 131072 after 5 steps growing every 2, then one more finite step
    assert float(model.optimizer.loss_scale) == facts["scale"] * 2
    assert int(model.optimizer.dynamic_counter) == 0


def test_tf_checkpoint_of_a_loss_scale_optimizer_has_tf_keys(tmp_path):
    mixed_precision.set_global_policy("mixed_float16")
    model = checkpoint_model()
    model.fit(np.zeros((10, 3)), np.zeros((10, 2)), batch_size=2, verbose=0)
    model.save_weights(str(tmp_path / "ckpt"))
    index = (tmp_path / "ckpt.index").read_bytes()
    assert sorted(read_bundle_index(index)[0]) == FACTS["ckpt"]["keys"]
    again = checkpoint_model()
    again.load_weights(str(tmp_path / "ckpt"))
    again.fit(np.zeros((2, 3)), np.zeros((2, 2)), batch_size=2, verbose=0)
    assert float(again.optimizer.loss_scale) == float(model.optimizer.loss_scale) * 2


def test_legacy_optimizers_get_tf_keras_v2_wrapper_class():
    # tf_keras 2.21: compile() wraps keras.optimizers.legacy.Adam in `LossScaleOptimizer`
    # (its OptimizerV2 wrapper), the current Adam in `LossScaleOptimizerV3`
    mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((6,)), L.Dense(3)])
    model.compile(keras.optimizers.legacy.Adam(), "mse")
    assert type(model.optimizer).__name__ == "LossScaleOptimizer"
    assert type(model.optimizer.inner_optimizer).__name__ == "Adam"
    model.fit(np.ones((4, 6)), np.ones((4, 3)), verbose=0)
    assert int(model.optimizer.iterations) == 1
    assert isinstance(LSO(keras.optimizers.Adam()), mixed_precision.LossScaleOptimizer)


def test_float16_outputs_train_with_a_float16_loss_as_tf_keras():
    """Without a float32 last layer the compiled loss is float16 (tf's too): loss * 2**15
    overflows to inf when the loss passes 2, and that step is skipped (no NumPy warning)."""
    mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((2,)), L.Dense(1, kernel_initializer="ones")])
    model.compile(keras.optimizers.SGD(0.01), "mse")
    with np.errstate(all="raise"):
        model.fit(np.full((2, 2), 2.0), np.zeros((2, 1)), verbose=0)    # loss 16
    assert float(model.optimizer.loss_scale) == 16384.0
    assert model.get_weights()[0].tolist() == [[1.0], [1.0]]


def test_noise_layers_and_normalization_under_mixed_float16():
    mixed_precision.set_global_policy("mixed_float16")
    x = np.ones((2, 3), np.float32)
    for layer in (L.GaussianNoise(0.1, seed=1), L.GaussianDropout(0.2, seed=1)):
        assert np.asarray(layer(x, training=True)).dtype == np.float16
    # tf_keras keeps an adapted Normalization's mean and variance in the compute dtype
    normalization = L.Normalization()
    normalization.adapt(np.arange(6, dtype=np.float32).reshape(3, 2))
    assert [w.dtype.name for w in normalization.weights] == ["float16", "float16", "int64"]
    out = normalization(np.ones((2, 2), np.float32))
    assert np.asarray(out).dtype == np.float16
    want = (1 - np.array([2.0, 3.0])) / np.sqrt(8 / 3)
    assert float16_ulps(np.asarray(out)[0], want).max() <= 1


def test_keras_file_of_a_mixed_model_is_written_as_keras3_writes_it(tmp_path):
    # Keras 3.15 writes a mixed layer's dtype as its DTypePolicy and compile()'s own optimizer
    # (not the LossScaleOptimizer wrapping it); it failed to read our file before
    mixed_precision.set_global_policy("mixed_float16")
    model = keras.Sequential([keras.Input((4,)), L.Dense(3, activation="relu"),
                              L.Activation("softmax", dtype="float32")])
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.ones((4, 4)), np.array([0, 1, 0, 1]), verbose=0)
    model.save(tmp_path / "mixed.keras")
    with zipfile.ZipFile(tmp_path / "mixed.keras") as archive:
        config = json.loads(archive.read("config.json"))
    dense = next(entry["config"] for entry in config["config"]["layers"]
                 if entry["class_name"] == "Dense")
    # (by its name, which tf_keras 2.21 reads too: fid-kfmt)
    assert dense["dtype"] == "mixed_float16"
    assert config["compile_config"]["optimizer"]["class_name"] == "Adam"
    again = keras.models.load_model(tmp_path / "mixed.keras")
    assert again.layers[0].dtype_policy.name == "mixed_float16"
    assert type(again.optimizer).__name__ == "LossScaleOptimizerV3"
    assert int(again.optimizer.iterations) == 1
