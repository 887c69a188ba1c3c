"""Bad arguments and bad data end in a deliberate error naming what was wrong (worded as
tf.keras words it where it has one), never in an error from inside NumPy or silent nonsense."""
import numpy as np
import pytest

import minikeras as keras

L = keras.layers


def sequential(*layers, shape):
    return keras.Sequential([keras.Input(shape)] + list(layers))


def call(layer, shape, training=None):
    kwargs = {} if training is None else {"training": training}
    return layer(np.ones(shape, "float32"), **kwargs)


# (id, callable, exception, message regex)
ARGUMENT_CASES = [
    ("Dense(None)", lambda: L.Dense(None), TypeError, "int\\(\\) argument must be"),
    ("Dense('a')", lambda: L.Dense("a"), ValueError, "invalid literal for int"),
    ("Dense(-1)", lambda: L.Dense(-1), ValueError, "invalid value for `units`"),
    ("Embedding(10.5, 4)", lambda: L.Embedding(10.5, 4), TypeError, "`input_dim` must be an int"),
    ("Input(shape='3')", lambda: keras.Input(shape="3"), TypeError, "Dimension value must be"),
    ("Input(shape=(2.5,))", lambda: keras.Input(shape=(2.5,)), TypeError,
     "Dimension value must be"),
    ("Dense(input_shape=('3',))", lambda: L.Dense(2, input_shape=("3",)), TypeError,
     "Dimension value must be"),
    ("Constant('a')", lambda: keras.initializers.Constant("a")((2, 2)), TypeError,
     "Constant` initializer's value must be a number"),
    ("Constant wrong shape", lambda: keras.initializers.Constant(np.ones(3))((2, 2)), TypeError,
     "has 3 elements, but the requested shape"),
    ("UnitNorm(axis=5)", lambda: keras.constraints.UnitNorm(axis=5)(np.ones((2, 2), "float32")),
     ValueError, "constraint's `axis`"),
    ("Dropout noise_shape", lambda: call(L.Dropout(0.5, noise_shape=(1, 4)), (2, 3), True),
     ValueError, "`noise_shape`"),
    ("Dropout(1.0) training", lambda: call(L.Dropout(1.0), (2, 3), True), ValueError,
     r"range \[0, 1\)"),
    ("Masking('a')", lambda: L.Masking(mask_value="a"), TypeError, "`mask_value`"),
    ("Permute((1, 2.0))", lambda: L.Permute((1, 2.0)), TypeError, "`dims`"),
    ("RepeatVector(-1)", lambda: L.RepeatVector(-1), ValueError, "`n`"),
    ("Rescaling('a')", lambda: L.Rescaling(scale="a"), TypeError, "`scale`"),
    ("Resizing(0, 5)", lambda: L.Resizing(0, 5), ValueError, "`height`"),
    ("Softmax(axis=5)", lambda: call(L.Softmax(axis=5), (2, 3)), ValueError, "`dim` must be"),
    ("ZeroPadding2D(-1)", lambda: L.ZeroPadding2D(-1), ValueError, "`padding` must be non-neg"),
    ("SGD('fast')", lambda: keras.optimizers.SGD(learning_rate="fast"), TypeError,
     "`learning_rate`"),
    ("Reshape((-2, 3))", lambda: L.Reshape((-2, 3)), ValueError, "`target_shape`"),
    ("LayerNormalization(axis=[])", lambda: L.LayerNormalization(axis=[]), ValueError,
     "`axis`"),
    ("Conv1D(2, 9) on 8", lambda: sequential(L.Conv1D(2, 9), shape=(8, 1)), ValueError,
     "output is <= 0"),
    ("Conv2D dilated on 5x4", lambda: sequential(L.Conv2D(2, 3, dilation_rate=2),
                                                 shape=(5, 4, 1)), ValueError, "output is <= 0"),
    ("SeparableConv1D(2, 9) on 8", lambda: sequential(L.SeparableConv1D(2, 9), shape=(8, 1)),
     ValueError, "output is <= 0"),
    ("DepthwiseConv2D(7) on 5x5", lambda: sequential(L.DepthwiseConv2D(7), shape=(5, 5, 1)),
     ValueError, "output is <= 0"),
    ("MaxPooling2D(7) on 5x5", lambda: sequential(L.MaxPooling2D(7), shape=(5, 5, 1)),
     ValueError, "pooling window"),
    ("AveragePooling1D(7) on 5", lambda: sequential(L.AveragePooling1D(7), shape=(5, 1)),
     ValueError, "pooling window"),
    ("Cropping1D((4, 5)) on 8", lambda: sequential(L.Cropping1D((4, 5)), shape=(8, 1)),
     ValueError, "`cropping`"),
    ("Cropping2D over-crop", lambda: sequential(L.Cropping2D(((3, 3), (0, 0))), shape=(5, 5, 1)),
     ValueError, "`cropping`"),
    ("Dense(10**30)", lambda: sequential(L.Dense(10 ** 30), shape=(3,)), ValueError,
     "too large"),
    ("to_categorical([], num_classes=0)",
     lambda: keras.utils.to_categorical([], num_classes=0), ValueError, "num_classes"),
]


@pytest.mark.parametrize("make,error,message", [case[1:] for case in ARGUMENT_CASES],
                         ids=[case[0] for case in ARGUMENT_CASES])
def test_bad_arguments_raise_a_clear_error(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_compatible_arguments_still_work():
    assert sequential(L.Dense(0), shape=(3,)).predict(np.ones((2, 3)), verbose=0).shape == (2, 0)
    np.testing.assert_array_equal(keras.utils.to_categorical([0, 2], num_classes=0),
                                  np.eye(3, dtype="float32")[[0, 2]])
    assert L.Dense(4.0).units == 4
    assert L.Reshape((-1, 3)).compute_output_shape((None, 6)) == (None, 2, 3)
    assert keras.Input(shape=np.int64(3)).shape == (None, 3)
    np.testing.assert_array_equal(keras.initializers.Constant(np.arange(4.0))((2, 2)),
                                  np.arange(4.0).reshape(2, 2))
    assert call(L.Dropout(1.0), (2, 3), False).shape == (2, 3)
    assert sequential(L.Conv1D(2, 8), shape=(8, 1)).output_shape == (None, 1, 2)


# --- losses ---------------------------------------------------------------------------------------
def classifier(activation="softmax", units=2):
    model = sequential(L.Dense(units, activation=activation), shape=(3,))
    return model


def test_categorical_crossentropy_refuses_integer_labels():
    model = classifier()
    model.compile("sgd", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"Shapes \(4, 1\) and \(4, 2\) are incompatible"):
        model.fit(np.ones((4, 3)), np.array([0, 1, 0, 1]), verbose=0)
    with pytest.raises(ValueError, match=r"Shapes \(2, 1\) and \(2, 2\) are incompatible"):
        keras.losses.CategoricalCrossentropy()(np.array([[0.0], [1.0]]),
                                               np.array([[0.3, 0.7], [0.5, 0.5]]))


def test_sparse_crossentropy_refuses_one_hot_labels():
    model = classifier()
    model.compile("sgd", "sparse_categorical_crossentropy")
    # tf_keras 2.21: "`labels.shape` must equal `logits.shape` except for the last dimension."
    with pytest.raises(ValueError, match="`labels.shape` must equal `logits.shape`"):
        model.fit(np.ones((4, 3)), np.eye(2)[[0, 1, 0, 1]], verbose=0)


@pytest.mark.parametrize("bad", [-1, np.nan, 5, 0.5])
def test_sparse_crossentropy_names_the_bad_label(bad):
    model = classifier()
    model.compile("sgd", "sparse_categorical_crossentropy")
    labels = np.array([0, 1, bad, 1], dtype="int64" if isinstance(bad, int) else "float64")
    with pytest.raises(ValueError, match=f"Received a label value of {bad}"):
        model.fit(np.ones((4, 3)), labels, verbose=0)


def test_ignore_class_is_not_a_bad_label():
    loss = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
    value = loss(np.array([0, -1]), np.array([[0.25, 0.75], [0.5, 0.5]], "float32"))
    # tf.keras averages over the valid labels only (the ignored one neither adds nor counts)
    np.testing.assert_allclose(float(value), -np.log(0.25), rtol=1e-6)


# --- fit / predict inputs --------------------------------------------------------------------------
def compiled():
    model = sequential(L.Dense(1), shape=(3,))
    model.compile("sgd", "mse")
    return model


X, Y = np.ones((4, 3), "float32"), np.ones((4, 1), "float32")
DATA_CASES = [
    ("fit dict for Sequential", lambda m: m.fit({"a": X}, Y, verbose=0), "Missing data for input"),
    ("fit x='abc'", lambda m: m.fit("abc", Y, verbose=0), "Failed to find data adapter"),
    ("predict x='abc'", lambda m: m.predict("abc", verbose=0), "Failed to find data adapter"),
    ("fit string array", lambda m: m.fit(np.array([["a", "b", "c"]] * 4), Y, verbose=0),
     "dtype <U1"),
    ("fit rank-0 x", lambda m: m.fit(np.float32(1.0), Y, verbose=0),
     "Failed to find data adapter"),
    ("predict rank-0 x", lambda m: m.predict(np.array(1.0), verbose=0),
     "Failed to find data adapter"),
    ("scalar sample_weight", lambda m: m.fit(X, Y, sample_weight=2.0, verbose=0),
     "Failed to find data adapter"),
    ("string sample_weight", lambda m: m.fit(X, Y, sample_weight="abc", verbose=0),
     "Failed to find data adapter"),
    ("evaluate string y", lambda m: m.evaluate(X, np.array(["a"] * 4), verbose=0), "dtype <U1"),
]


@pytest.mark.parametrize("run,message", [case[1:] for case in DATA_CASES],
                         ids=[case[0] for case in DATA_CASES])
def test_bad_fit_and_predict_inputs_raise_a_clear_error(run, message):
    with pytest.raises(ValueError, match=message):
        run(compiled())


def test_a_dict_keyed_by_the_input_name_feeds_a_sequential():
    model = compiled()
    name = model.input_names[0]
    np.testing.assert_array_equal(model.predict({name: X}, verbose=0), model.predict(X, verbose=0))


def test_a_single_callback_is_accepted_as_tf_keras_does():
    seen = []

    class Count(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(epoch)
    compiled().fit(X, Y, epochs=2, callbacks=Count(), verbose=0)
    assert seen == [0, 1]


# --- compatibility gaps ----------------------------------------------------------------------------
def test_layers_serialize_and_deserialize():
    layer = L.Dense(3, activation="relu", name="d")
    config = keras.layers.serialize(layer)
    assert config["class_name"] == "Dense" and config["module"] == "keras.layers"
    clone = keras.layers.deserialize(config)
    assert isinstance(clone, L.Dense) and clone.get_config() == layer.get_config()
    model = sequential(L.Dense(2), shape=(3,))
    assert isinstance(keras.layers.deserialize(keras.layers.serialize(model)), keras.Sequential)
    with pytest.raises(ValueError, match="Unknown layer"):
        keras.layers.deserialize({"class_name": "NoSuchLayer", "config": {}})


def _focal_reference(y_true, p, gamma, alpha=None, smoothing=0.0):
    """tf.keras 2.21's formula in NumPy (float64)."""
    y_true = np.asarray(y_true, np.float64) * (1 - smoothing) + 0.5 * smoothing
    p = np.asarray(p, np.float64)
    eps = 1e-7
    clipped = np.clip(p, eps, 1 - eps)
    bce = -(y_true * np.log(clipped + eps) + (1 - y_true) * np.log(1 - clipped + eps))
    p_t = y_true * p + (1 - y_true) * (1 - p)
    loss = (1 - p_t) ** gamma * bce
    if alpha is not None:
        loss *= y_true * alpha + (1 - y_true) * (1 - alpha)
    return loss.mean(axis=-1)


def test_binary_focal_crossentropy_matches_tf_keras():
    y_true, y_pred = [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]
    # tf.keras 2.21's docstring example and values measured with tf.keras 2.21.
    np.testing.assert_allclose(
        keras.losses.binary_focal_crossentropy(y_true, y_pred, gamma=2).numpy(),
        [0.32986462, 0.20579834], rtol=1e-5)
    np.testing.assert_allclose(
        keras.losses.binary_focal_crossentropy(y_true, y_pred, gamma=2).numpy(),
        _focal_reference(y_true, y_pred, 2.0), rtol=1e-5)
    balanced = keras.losses.BinaryFocalCrossentropy(apply_class_balancing=True, alpha=0.3,
                                                    gamma=1.5, label_smoothing=0.1)
    np.testing.assert_allclose(float(balanced(y_true, y_pred)), 0.19424969, rtol=1e-5)
    np.testing.assert_allclose(float(balanced(y_true, y_pred)),
                               _focal_reference(y_true, y_pred, 1.5, 0.3, 0.1).mean(), rtol=1e-5)
    logits = [[-1.2, 0.3], [2.0, -0.7]]
    from_logits = keras.losses.BinaryFocalCrossentropy(from_logits=True, gamma=3.0)
    np.testing.assert_allclose(float(from_logits(y_true, logits)), 0.37852547, rtol=1e-5)
    config = keras.losses.BinaryFocalCrossentropy().get_config()
    assert {k: config[k] for k in ("apply_class_balancing", "alpha", "gamma", "from_logits",
                                   "label_smoothing", "axis", "name")} == {
        "apply_class_balancing": False, "alpha": 0.25, "gamma": 2.0, "from_logits": False,
        "label_smoothing": 0.0, "axis": -1, "name": "binary_focal_crossentropy"}
    assert keras.losses.get("binary_focal_crossentropy") is keras.losses.binary_focal_crossentropy


def test_binary_focal_crossentropy_trains_and_round_trips(tmp_path):
    model = classifier("sigmoid")
    model.compile("sgd", keras.losses.BinaryFocalCrossentropy(gamma=1.0))
    history = model.fit(np.eye(3)[[0, 1, 2, 0]], np.eye(2)[[0, 1, 1, 0]], epochs=3, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.loss, keras.losses.BinaryFocalCrossentropy)
    assert loaded.loss.get_config()["gamma"] == 1.0
