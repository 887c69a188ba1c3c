"""Round 4 of adversarial inputs, compared with tf_keras 2.21 (the peer venv; probes in
/work/scratch/fid-adv4/, outside the repository): saturated and extreme values, whose numbers
must be tf.keras' (the same NaN where it has NaN, none where it has none)."""
import os

import numpy as np
import pytest

import minikeras as keras

K = keras.backend

# Logits that saturate a softmax/sigmoid in float32: from its logits a crossentropy is exact,
# from the clipped probabilities it stops at -log(1e-7) = 16.118.
LOGITS = np.array([[100.0, -100.0, 50.0, 30.0]], "float32")
ONE_HOT = np.array([[0.0, 1.0, 0.0, 0.0]], "float32")
CLIPPED = -np.log(np.float32(1e-7))


def softmax_cross_entropy(labels, logits):
    """Per-row -sum(labels * log_softmax(logits)) in float64."""
    logits = logits.astype("float64")
    shifted = logits - logits.max(-1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -(labels * log_softmax).sum(-1)


# --- outputs that remember their logits (tf.keras' K.softmax / K.sigmoid `_keras_logits`) -----
@pytest.mark.parametrize("make_softmax", [
    lambda: K.softmax,
    lambda: keras.layers.Softmax(),
    lambda: keras.layers.Softmax(axis=[-1]),
    lambda: lambda x: K.softmax(x, axis=(0, 1)),
], ids=["K.softmax", "Softmax", "Softmax(axis=[-1])", "K.softmax(axis=tuple)"])
def test_a_crossentropy_after_a_softmax_reads_its_logits(make_softmax):
    """tf.keras: K.softmax (and the Softmax layer, which calls it) keeps `_keras_logits`, so
    categorical_crossentropy(y, softmax(z)) is 200 here (peer: 200.0), not 16.118."""
    probabilities = make_softmax()(K.constant(LOGITS))
    loss = keras.losses.categorical_crossentropy(ONE_HOT, probabilities)
    np.testing.assert_allclose(np.asarray(loss), [200.0], rtol=1e-6)
    sparse = keras.losses.sparse_categorical_crossentropy(np.array([1]), probabilities)
    np.testing.assert_allclose(np.asarray(sparse), [200.0], rtol=1e-6)


def test_a_masked_softmax_layer_hands_on_its_masked_logits():
    """Peer: 1.00000026e+09 (the masked logit is -100 - 1e9)."""
    probabilities = keras.layers.Softmax()(K.constant(LOGITS),
                                           mask=np.array([[True, False, True, True]]))
    loss = keras.losses.categorical_crossentropy(ONE_HOT, probabilities)
    np.testing.assert_allclose(np.asarray(loss), [1.00000026e9], rtol=1e-6)


def test_a_softmax_over_several_axes_keeps_no_logits():
    """tf.keras' Softmax(axis=[0, 1]) is exp(x - logsumexp(x)): the loss clips (peer: 16.118)."""
    probabilities = keras.layers.Softmax(axis=[0, 1])(K.constant(LOGITS))
    loss = keras.losses.categorical_crossentropy(ONE_HOT, probabilities)
    np.testing.assert_allclose(np.asarray(loss), [CLIPPED], rtol=1e-6)


def test_a_binary_crossentropy_after_k_sigmoid_reads_its_logits():
    """Peer: binary_crossentropy(y, K.sigmoid(z)) = mean(100, 100, 50, 30) = 70."""
    loss = keras.losses.binary_crossentropy(ONE_HOT, K.sigmoid(K.constant(LOGITS)))
    np.testing.assert_allclose(np.asarray(loss), [70.0], rtol=1e-6)


def test_k_softmax_still_refuses_a_vector():
    with pytest.raises(ValueError, match="Cannot apply softmax to a tensor that is 1D"):
        K.softmax(K.constant([1.0, 2.0]))
    with pytest.raises(ValueError, match="Cannot apply softmax to a tensor that is 1D"):
        keras.layers.Softmax()(np.array([1.0, 2.0], "float32"))


@pytest.mark.parametrize("run_eagerly", [False, True])
@pytest.mark.parametrize("last_layer", [
    lambda: keras.layers.Softmax(),
    lambda: keras.layers.Lambda(lambda x: K.softmax(x)),
    lambda: keras.layers.Lambda(lambda x: K.sigmoid(x)),
], ids=["Softmax", "Lambda(K.softmax)", "Lambda(K.sigmoid)"])
def test_evaluate_after_a_softmax_layer_uses_the_logits(last_layer, run_eagerly):
    """A Dense then a Softmax layer (or K.softmax / K.sigmoid in a Lambda): tf.keras computes
    the compiled crossentropy from the Dense's output (peer: 25.2747 for both losses), in
    graph and eager mode alike."""
    scale = np.array([100, -100, 50, 30], "float32")
    x = np.eye(4, dtype="float32")
    labels = np.array([1, 0, 2, 3])
    inputs = keras.Input((4,))
    model = keras.Model(inputs, last_layer()(keras.layers.Dense(4)(inputs)))
    model.set_weights([np.diag(scale), np.zeros(4, "float32")])
    expected = softmax_cross_entropy(np.eye(4)[labels], np.diag(scale)).mean()
    assert expected == pytest.approx(25.2747, abs=1e-4)
    for loss, y in [("categorical_crossentropy", np.eye(4, dtype="float32")[labels]),
                    ("sparse_categorical_crossentropy", labels)]:
        model.compile(keras.optimizers.SGD(0.0), loss, run_eagerly=run_eagerly)
        assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


# --- empty dataset directories: tf.keras' words, loader by loader ------------------------------
@pytest.mark.parametrize("load, words", [
    (keras.utils.text_dataset_from_directory, "No text files found in directory {}. "
                                              "Allowed format: .txt"),
    (keras.utils.image_dataset_from_directory, "No images found in directory {}. Allowed "
                                               "formats: ('.bmp', '.gif', '.jpeg', '.jpg', "
                                               "'.png')"),
    (keras.utils.audio_dataset_from_directory, "No audio files found in directory {}. "
                                               "Allowed format(s): ('.wav',)"),
], ids=["text", "image", "audio"])
def test_an_empty_dataset_directory_names_the_allowed_formats_as_tf_keras(tmp_path, load, words):
    with pytest.raises(ValueError) as error:
        load(str(tmp_path))
    assert str(error.value) == words.format(tmp_path)


# --- TF checkpoints: which file is renamed first --------------------------------------------
def _dense_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    return model


def test_a_tf_checkpoint_renames_its_data_file_before_its_index(tmp_path, monkeypatch):
    """tf's BundleWriter renames the data file, then the index: a first save that dies between
    the two leaves no checkpoint (no index) rather than an index naming a missing data file."""
    replace = os.replace
    renamed = []

    def dies_before_the_second_rename(temporary, target):
        if renamed:
            raise KeyboardInterrupt     # as a kill between the two renames
        renamed.append(os.path.basename(target))
        replace(temporary, target)
    # (fid-adv5: the two renames are back to back, `os.replace` with no disk wait between)
    monkeypatch.setattr(os, "replace", dies_before_the_second_rename)
    prefix = str(tmp_path / "ckpt")
    with pytest.raises(KeyboardInterrupt):
        _dense_model().save_weights(prefix)
    monkeypatch.undo()
    assert renamed == ["ckpt.data-00000-of-00001"]
    with pytest.raises(FileNotFoundError, match="Failed to find any matching files for"):
        _dense_model().load_weights(prefix)
    model = _dense_model()
    model.save_weights(prefix)           # the next save completes the checkpoint
    _dense_model().load_weights(prefix)


# --- what a user holds never changes behind their back ------------------------------------------
@pytest.mark.parametrize("read", [
    np.asarray, lambda v: v.value().numpy(), lambda v: v.read_value().numpy(),
    lambda v: np.asarray(v.value()), lambda v: v.numpy(), K.get_value,
], ids=["np.asarray", "value().numpy()", "read_value().numpy()", "np.asarray(value())",
        "numpy()", "K.get_value"])
def test_a_read_of_a_weight_is_a_snapshot_that_training_leaves_alone(read):
    """tf.Variable: every read copies (peer: all unchanged after fit and assign_add)."""
    model = _dense_model()
    kernel = model.layers[0].kernel
    held = read(kernel)
    before = np.array(held, copy=True)
    model.fit(np.ones((8, 3), "float32"), np.ones((8, 2), "float32"), epochs=2, verbose=0)
    kernel.assign_add(np.ones((3, 2), "float32"))
    np.testing.assert_array_equal(held, before)
    assert not np.array_equal(kernel.numpy(), before)


def test_np_asarray_of_a_variable_still_converts_dtypes():
    variable = K.variable(np.arange(3, dtype="float32"))
    assert np.asarray(variable, dtype="float64").dtype == np.float64
    np.testing.assert_array_equal(np.asarray(variable), [0, 1, 2])


@pytest.mark.parametrize("read", ["value", "read_value"])
def test_a_gradient_flows_through_a_variables_value(read):
    """tf: tape.gradient(sum(2 * v.value()), v) is 2 everywhere (it was None here)."""
    variable = K.variable(np.ones(3, "float32"))
    with keras.backend.GradientTape() as tape:
        loss = keras.ops.sum(keras.ops.multiply(getattr(variable, read)(), 2.0))
    np.testing.assert_array_equal(np.asarray(tape.gradient(loss, variable)), [2, 2, 2])


# --- slopes at the kinks: tf's, so an exactly-zero pre-activation trains as there --------------
def _gradient(function, points):
    """d/dx sum(function(x) * [1, 2, ...]) at `points`, and function(x)."""
    variable = K.variable(np.array(points, "float32"))
    weights = np.arange(1, len(points) + 1, dtype="float32")
    with keras.backend.GradientTape() as tape:
        values = function(variable)
        total = keras.ops.sum(keras.ops.multiply(values, weights))
    return np.asarray(tape.gradient(total, variable)), np.asarray(values)


SELU_SCALE = 1.0507009873554805
SELU_SCALE_ALPHA = SELU_SCALE * 1.6732632423543772


def test_selu_takes_the_linear_slope_at_zero():
    """tf.nn.selu's gradient: scale where the activation is not negative (x = 0, -0.0 and
    x = -1e-30, whose exp(x) - 1 is 0); the selu of a zero pre-activation (zero inputs, zero
    bias) got scale * alpha, 1.67 times too much (peer: [1.0507, 2.1014, 3.1521, ...])."""
    gradient, values = _gradient(keras.activations.selu, [0.0, -0.0, -1e-30, -1.0, 2.0])
    expected = np.array([1, 2, 3, 4 * np.exp(-1.0), 5], "float64") * SELU_SCALE
    expected[3] = 4 * SELU_SCALE_ALPHA * np.exp(-1.0)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6)
    np.testing.assert_allclose(values, [0, 0, 0, SELU_SCALE_ALPHA * np.expm1(-1.0),
                                        2 * SELU_SCALE], rtol=1e-6)


def test_hard_sigmoid_passes_the_gradient_at_its_ends():
    """Keras 2's hard_sigmoid is tf.clip_by_value(0.2 x + 0.5, 0, 1), whose gradient passes at
    0 and 1 (x = -2.5, 2.5) and not through NaN (peer: [0.2, 0.4, 0, 0, 1.0])."""
    gradient, _ = _gradient(keras.activations.hard_sigmoid, [-2.5, 2.5, -3.0, np.nan, 1.0])
    np.testing.assert_allclose(gradient, [0.2, 0.4, 0.0, 0.0, 1.0], rtol=1e-6)


POINTS = [0.0, 6.0, 5.0, 0.5, -1.0, 7.0, np.nan, -np.inf]


@pytest.mark.parametrize("arguments, values, slopes", [
    # tf.nn.relu6: no gradient at 0 nor at 6
    (dict(max_value=6.0), [0, 6, 5, 0.5, 0, 6, np.nan, 0], [0, 0, 1, 1, 0, 0, 0, 0]),
    # tf.nn.relu then tf.clip_by_value: the gradient passes at max_value
    (dict(max_value=5.0), [0, 5, 5, 0.5, 0, 5, np.nan, 0], [0, 0, 1, 1, 0, 0, 0, 0]),
    # tf.nn.leaky_relu: slope alpha at 0
    (dict(alpha=0.1), [0, 6, 5, 0.5, -0.1, 7, np.nan, -np.inf],
     [0.1, 1, 1, 1, 0.1, 1, 0.1, 0.1]),
    # x * (x > threshold): NaN at -inf, no slope at the threshold
    (dict(threshold=0.5), [0, 6, 5, 0, 0, 7, np.nan, np.nan], [0, 1, 1, 0, 0, 1, 0, 0]),
    # relu6 minus alpha * relu(-x): neither slope at 0
    (dict(alpha=0.1, max_value=6.0), [0, 6, 5, 0.5, -0.1, 6, np.nan, -np.inf],
     [0, 0, 1, 1, 0.1, 0, 0, 0.1]),
    # x * (x > 0.5) clipped to [0, 6] minus alpha * relu(0.5 - x): the clip passes at 6
    (dict(alpha=0.1, max_value=6.0, threshold=0.5), [-0.05, 6, 5, 0, -0.15, 6, np.nan, np.nan],
     [0.1, 1, 1, 0, 0.1, 0, 0, 0.1]),
], ids=["relu6", "max5", "leaky", "threshold", "leaky_relu6", "all"])
def test_relu_values_and_slopes_at_the_kinks_are_tf_keras(arguments, values, slopes):
    """K.relu as tf.keras 2.21 computes it (peer, every point and slope above)."""
    gradient, result = _gradient(lambda x: K.relu(x, **arguments), POINTS)
    np.testing.assert_allclose(result, values, rtol=1e-6)
    np.testing.assert_allclose(gradient, np.array(slopes) * np.arange(1, 9), rtol=1e-6)
