"""keras.io examples of the tf.keras 2.x era, third sweep (fid-kio3): Grad-CAM, PointNet, the
English-to-Spanish transformer. Numbers from tf_keras 2.21 are in tests/fixtures/keras_io3/
(recipe benchmarks/fixture_recipes/keras_io3.py); the rest are closed forms."""
import json
import os
import sys

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures", "keras_io3")
sys.path.insert(0, FIXTURES)
import engspa_model  # noqa: E402
import vocab_model  # noqa: E402

RNG = np.random.RandomState(0)


# --- Grad-CAM: `model.layers[-1].activation = None` to get logits ---------------------------
def _linear_reference(layer, x):
    """What the layer computes without activation, from its own weights."""
    name = type(layer).__name__
    if name == "Dense":
        kernel, bias = layer.get_weights()
        return x @ kernel + bias
    if name == "EinsumDense":
        kernel, bias = layer.get_weights()
        return np.einsum("ab,bc->ac", x, kernel) + bias
    # 1x1 kernels: every convolution is a per-pixel matrix product
    weights = layer.get_weights()
    if name == "SeparableConv2D":
        depthwise, pointwise, bias = weights
        return (x * depthwise[0, 0, :, 0]) @ pointwise[0, 0] + bias
    if name == "DepthwiseConv2D":
        depthwise, bias = weights
        return x * depthwise[0, 0, :, 0] + bias
    kernel, bias = weights
    if name == "Conv2DTranspose":
        return np.einsum("nhwc,oc->nhwo", x, kernel[0, 0]) + bias
    return np.einsum("nhwc,co->nhwo", x, kernel[0, 0]) + bias


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(3, activation="softmax"),
    lambda: layers.EinsumDense("ab,bc->ac", output_shape=3, bias_axes="c", activation="relu"),
    lambda: layers.Conv2D(3, 1, activation="relu"),
    lambda: layers.Conv2D(3, 1, activation="sigmoid"),
    lambda: layers.Conv2DTranspose(3, 1, activation="relu"),
    lambda: layers.SeparableConv2D(3, 1, activation="relu"),
    lambda: layers.DepthwiseConv2D(1, activation="relu"),
], ids=["dense", "einsum_dense", "conv2d_fused", "conv2d", "conv2d_transpose", "separable",
        "depthwise"])
def test_activation_set_to_none_after_construction_is_skipped(make):
    layer = make()
    x = RNG.standard_normal((2, 3, 3, 2) if "Conv" in type(layer).__name__ else (2, 4))
    x = x.astype("float32")
    layer(x)
    layer.set_weights([RNG.standard_normal(w.shape).astype("float32")
                       for w in layer.get_weights()])
    layer.activation = None    # tf.keras: `if self.activation is not None:` in call
    np.testing.assert_allclose(np.asarray(layer(x)), _linear_reference(layer, x), atol=1e-5)


def test_grad_cam_heatmap_on_logits():
    """The keras.io Grad-CAM steps: softmax removed from the classifier, a model with two
    outputs (the last conv layer and the logits), the tape on the conv output. With a Dense on
    globally averaged features the pooled gradient is the class's kernel column / (h * w)."""
    inputs = keras.Input((4, 4, 3))
    conv = layers.Conv2D(5, 3, padding="same", activation="relu", name="last_conv")(inputs)
    pooled = layers.GlobalAveragePooling2D()(conv)
    model = keras.Model(inputs, layers.Dense(3, activation="softmax", name="predictions")(pooled))
    model.layers[-1].activation = None
    grad_model = keras.models.Model([model.inputs],
                                    [model.get_layer("last_conv").output, model.output])
    image = RNG.uniform(size=(1, 4, 4, 3)).astype("float32")
    with keras.backend.GradientTape() as tape:
        conv_output, preds = grad_model(image)
        class_channel = preds[:, 1]
    grads = tape.gradient(class_channel, conv_output)
    kernel, bias = model.get_layer("predictions").get_weights()
    conv_values = np.asarray(conv_output)
    np.testing.assert_allclose(np.asarray(preds), conv_values.mean(axis=(1, 2)) @ kernel + bias,
                               atol=1e-5)   # logits, not probabilities
    pooled_grads = np.asarray(keras.backend.mean(grads, axis=(0, 1, 2)))
    np.testing.assert_allclose(pooled_grads, kernel[:, 1] / 16, atol=1e-7)


# --- PointNet: a custom Regularizer without get_config ------------------------------------
class OrthogonalRegularizer(keras.regularizers.Regularizer):
    """keras.io PointNet's regularizer (it defines no get_config)."""

    def __init__(self, num_features, l2reg=0.001):
        self.num_features = num_features
        self.l2reg = l2reg
        self.eye = np.eye(num_features, dtype="float32")

    def __call__(self, x):
        x = keras.backend.reshape(x, (-1, self.num_features, self.num_features))
        xxt = keras.ops.tensordot(x, x, axes=(2, 2))
        xxt = keras.backend.reshape(xxt, (-1, self.num_features, self.num_features))
        return keras.backend.sum(self.l2reg * keras.backend.square(xxt - self.eye))


def _pointnet_like():
    inputs = keras.Input((5, 2))
    x = layers.GlobalMaxPooling1D()(inputs)
    x = layers.Dense(4, kernel_initializer="zeros", activity_regularizer=OrthogonalRegularizer(2),
                     bias_initializer=keras.initializers.Constant(np.eye(2).flatten()))(x)
    return keras.Model(inputs, layers.Dense(1)(x))


def test_orthogonal_activity_regularizer_trains():
    model = _pointnet_like()
    points = RNG.standard_normal((3, 5, 2)).astype("float32")
    model(points)
    # zero kernel: every sample's transform T is the bias, the identity; the example's
    # tensordot pairs every sample with every other (shape (3, 2, 3, 2)) before the reshape to
    # (-1, 2, 2); tf.keras divides an activity regularizer's value by the batch size
    gram = np.einsum("aij,bkj->aibk", *(np.broadcast_to(np.eye(2), (3, 2, 2)),) * 2)
    expected = 0.001 * np.sum((gram.reshape(-1, 2, 2) - np.eye(2)) ** 2) / 3  # batch mean
    np.testing.assert_allclose(float(model.losses[0]), expected, rtol=1e-6)
    model.compile("adam", "mse")
    history = model.fit(points, np.ones((3, 1), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("action", ["h5", "keras", "to_json", "clone", "serialize", "base"])
def test_regularizer_without_get_config_is_refused_as_tf_keras(action, tmp_path):
    model = _pointnet_like()
    regularizer = model.layers[2].activity_regularizer
    run = {
        "h5": lambda: model.save(str(tmp_path / "pointnet.h5")),
        "keras": lambda: model.save(str(tmp_path / "pointnet.keras")),
        "to_json": model.to_json,
        "clone": lambda: keras.models.clone_model(model),
        "serialize": lambda: keras.regularizers.serialize(regularizer),
        "base": lambda: keras.regularizers.Regularizer().get_config(),
    }[action]
    with pytest.raises(NotImplementedError, match=r"object at 0x[0-9a-f]+> does not implement "
                                                  r"get_config\(\)"):
        run()


# --- English-to-Spanish transformer: masks inside a nested functional decoder -------------
def test_english_to_spanish_transformer_matches_tf_keras():
    expected = np.load(os.path.join(FIXTURES, "engspa.npz"))
    model = engspa_model.build(keras)   # raised UnboundLocalError: the decoder lost its mask
    assert model.count_params() == int(expected["count_params"])
    model.set_weights(engspa_model.patterned_weights(model))
    enc, dec, target = engspa_model.data()
    np.testing.assert_array_equal(enc, expected["enc"])
    np.testing.assert_allclose(model.predict([enc, dec], verbose=0), expected["before"],
                               atol=2e-6)
    model.compile("rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit([enc, dec], target, epochs=2, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected["loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["accuracy"], expected["accuracy"], atol=1e-6)
    np.testing.assert_allclose(model.predict([enc, dec], verbose=0), expected["after"],
                               atol=1e-5)


# --- pretrained word embeddings: Constant(ndarray) in files tf_keras / Keras 3 wrote --------
@pytest.mark.parametrize("name, preds_key", [("glove.tk.keras", "tk_preds"),
                                             ("glove.k3.keras", "k3_preds"),
                                             ("glove.tk.h5", "tk_preds")])
def test_constant_numpy_initializer_files_load(name, preds_key):
    """Both writers store the matrix as {"class_name": "__numpy__", ...}; minikeras read it as
    a malformed config. (tf_keras cannot read its own `.h5` of it; we do.)"""
    expected = np.load(os.path.join(FIXTURES, "glove.npz"))
    model = keras.models.load_model(os.path.join(FIXTURES, name))
    embedding = model.layers[1]
    assert not embedding.trainable
    np.testing.assert_allclose(embedding.get_weights()[0], expected["matrix"], atol=1e-7)
    # the revived initializer gives the matrix again (a rebuilt or cloned model)
    np.testing.assert_allclose(embedding.embeddings_initializer((8, 3)), expected["matrix"],
                               atol=1e-7)
    np.testing.assert_allclose(model.predict(expected["tokens"], verbose=0),
                               expected[preds_key], atol=1e-6)
    clone = keras.models.clone_model(model)
    np.testing.assert_allclose(clone.layers[1].get_weights()[0], expected["matrix"], atol=1e-7)


# --- structured data classification: adapted vocabularies among a model's weights ---------
def _plain(value):
    value = np.asarray(value)
    if value.dtype.kind in "OSU":
        return {"dtype": "bytes", "value": [v.decode() if isinstance(v, bytes) else v
                                            for v in value.ravel().tolist()]}
    return {"dtype": value.dtype.name, "shape": list(value.shape), "value": value.ravel().tolist()}


def _assert_same_weights(ours, theirs):
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs):
        mine = _plain(mine)
        assert mine["dtype"] == expected["dtype"]
        assert mine.get("shape") == expected.get("shape")
        if mine["dtype"] == "bytes":
            assert mine["value"] == expected["value"]
        else:
            np.testing.assert_allclose(mine["value"], expected["value"], rtol=1e-6)


def test_model_get_weights_lists_adapted_vocabularies_as_tf_keras():
    with open(os.path.join(FIXTURES, "vocab_weights.json")) as file:
        expected = json.load(file)
    model = vocab_model.build(keras)
    before = model.get_weights()
    _assert_same_weights(before, expected["weights"])
    model.set_weights(vocab_model.changed_weights(before))
    _assert_same_weights(model.get_weights(), expected["after"])
    for layer in model.layers:
        if layer.name in expected["vocabularies"]:
            assert [v if isinstance(v, str) else int(v) for v in layer.get_vocabulary()] == \
                expected["vocabularies"][layer.name]
    np.testing.assert_allclose(model.predict(vocab_model.inputs(), verbose=0).ravel(),
                               expected["predictions"], rtol=1e-6)
    with pytest.raises(ValueError, match="was expecting 10 weights"):
        model.set_weights(before[:-1])


def test_backup_and_restore_resumes_a_model_with_a_string_vocabulary(tmp_path):
    """The model's get_weights() now holds the vocabulary (an object array of bytes): the
    backup keeps the variables only, so its file needs no pickling to be read back."""
    inputs = keras.Input((1,), dtype="string")
    lookup = layers.StringLookup(output_mode="one_hot")
    lookup.adapt(np.array([["a"], ["b"]], object))
    model = keras.Model(inputs, layers.Dense(1, kernel_initializer="ones")(lookup(inputs)))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = np.array([["a"], ["b"], ["c"]], object), np.array([[1.0], [2.0], [3.0]], "float32")

    class StopAfterSecondEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                raise KeyboardInterrupt

    backup = str(tmp_path / "backup")
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, epochs=4, batch_size=3, verbose=0,
                  callbacks=[keras.callbacks.BackupAndRestore(backup), StopAfterSecondEpoch()])
    kernel_after_two = model.get_weights()[-2].copy()
    model.layers[-1].set_weights([np.zeros_like(w) for w in model.layers[-1].get_weights()])
    resumed = model.fit(x, y, epochs=2, batch_size=3, verbose=0,
                        callbacks=[keras.callbacks.BackupAndRestore(backup)])
    assert resumed.epoch == []   # both epochs were done before the interruption
    np.testing.assert_array_equal(model.get_weights()[-2], kernel_after_two)
