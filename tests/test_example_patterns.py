"""API patterns of the public Keras 2 example scripts (keras-team/keras `examples/`, keras.io),
each as a tiny model with its expected behaviour: closed forms, shapes, Keras semantics."""
import importlib
import warnings

import numpy as np
import pytest

import minikeras as keras
from minikeras import layers


# --- Keras 2 module paths ---------------------------------------------------------------------
@pytest.mark.parametrize("path, name, expected", [
    ("layers.advanced_activations", "LeakyReLU", layers.LeakyReLU),
    ("layers.convolutional", "Conv2DTranspose", layers.Conv2DTranspose),
    ("layers.core", "Dense", layers.Dense),
    ("layers.recurrent", "LSTM", layers.LSTM),
    ("layers.normalization", "BatchNormalization", layers.BatchNormalization),
    ("layers.embeddings", "Embedding", layers.Embedding),
    ("layers.merge", "concatenate", layers.concatenate),
    ("layers.wrappers", "TimeDistributed", layers.TimeDistributed),
    ("layers.noise", "GaussianNoise", layers.GaussianNoise),
    ("utils.generic_utils", "Progbar", keras.utils.Progbar),
    ("utils.data_utils", "get_file", keras.utils.get_file),
    ("engine.topology", "Layer", layers.Layer),
    ("engine", "InputSpec", layers.InputSpec),
    ("engine", "Model", keras.Model),
    ("objectives", "binary_crossentropy", keras.losses.binary_crossentropy),
    ("layers.experimental.preprocessing", "Rescaling", layers.Rescaling),
    ("layers.experimental", "SyncBatchNormalization", layers.SyncBatchNormalization),
])
def test_keras2_module_paths_hold_the_moved_names(path, name, expected):
    module = importlib.import_module(f"minikeras.{path}")
    assert getattr(module, name) is expected


def test_keras2_private_merge_base_class_subclassed_as_wgan_gp_does():
    # Keras-GAN wgan_gp: `from keras.layers.merge import _Merge`, a weighted average layer
    from minikeras.layers.merge import _Merge
    from minikeras.layers.merging.base_merge import _Merge as tf_keras_29_path
    assert _Merge is tf_keras_29_path

    alpha = np.array([[0.25], [0.75]], np.float32)

    class WeightedAverage(_Merge):
        def _merge_function(self, inputs):
            return alpha * inputs[0] + (1 - alpha) * inputs[1]

    a, b = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([a, b], WeightedAverage()([a, b]))
    x, y = np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32)
    np.testing.assert_allclose(model.predict([x, y], verbose=0), np.repeat(alpha, 3, axis=1))


def test_keras2_module_path_keeps_its_submodules():
    from minikeras.layers.convolutional import conv2d   # the package's own module is untouched
    assert conv2d.Conv2D is layers.Conv2D


# --- keras.optimizers.rmsprop(lr=..., decay=...) (Keras 2.0 - 2.2) ------------------------------
def test_lower_case_optimizer_is_the_legacy_class_with_time_decay():
    opt = keras.optimizers.sgd(lr=0.1, decay=1.0)
    assert isinstance(opt, keras.optimizers.legacy.SGD)
    variable = keras.Variable(np.zeros(2, "float32"))
    for _ in range(2):   # lr / (1 + decay * t): 0.1 then 0.05
        opt.apply_gradients([(np.ones(2, "float32"), variable)])
    np.testing.assert_allclose(variable.numpy(), [-0.15, -0.15], rtol=1e-6)
    assert type(keras.optimizers.rmsprop(lr=1e-4, decay=1e-6)) is keras.optimizers.legacy.RMSprop
    from minikeras.optimizers.adam import Adam   # still a module for imports
    assert Adam is keras.optimizers.Adam


# --- data of another dtype goes through the input layer's cast ---------------------------------
def test_sequential_casts_boolean_one_hot_data_like_its_input_layer():
    model = keras.Sequential([layers.LSTM(4, input_shape=(5, 3)), layers.Dense(3)])
    x = np.random.RandomState(0).rand(6, 5, 3) > 0.5
    out = model.predict(x, verbose=0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, model.predict(x.astype("float32"), verbose=0))
    model.compile("adam", "mse")
    assert np.isfinite(model.train_on_batch(x, np.zeros((6, 3))))


# --- Sequential.predict_classes / predict_proba (tf.keras <= 2.5) ------------------------------
def test_predict_classes_is_argmax_or_threshold():
    x = np.random.RandomState(1).randn(7, 4).astype("float32")
    multi = keras.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    binary = keras.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(multi.predict_classes(x),
                                      multi.predict(x, verbose=0).argmax(-1))
        classes = binary.predict_classes(x)
        np.testing.assert_array_equal(multi.predict_proba(x), multi.predict(x, verbose=0))
    assert classes.dtype == np.int32 and classes.shape == (7, 1)
    np.testing.assert_array_equal(classes, (binary.predict(x, verbose=0) > 0.5).astype("int32"))
    with pytest.warns(UserWarning, match="predict_classes"):
        multi.predict_classes(x)


# --- GAN: trainable toggled after compile (mnist_acgan, dcgan) ---------------------------------
def test_gan_discriminator_frozen_only_inside_the_combined_model():
    discriminator = keras.Sequential([layers.Dense(1, input_shape=(3,), kernel_initializer="ones")])
    discriminator.compile("sgd", "mse")
    discriminator.trainable = False
    generator = keras.Sequential([layers.Dense(3, input_shape=(2,), kernel_initializer="ones")])
    combined = keras.Sequential([generator, discriminator])
    combined.compile("sgd", "mse")
    x, y = np.ones((4, 3), "float32"), np.zeros((4, 1), "float32")
    # d compiled while trainable: mse of 3 ones -> loss 9, gradient 2 * 3 * 1 per weight
    assert discriminator.train_on_batch(x, y) == pytest.approx(9.0)
    np.testing.assert_allclose(discriminator.get_weights()[0], 1 - 0.01 * 6, rtol=1e-6)
    frozen = discriminator.get_weights()[0].copy()
    generator_before = generator.get_weights()[0].copy()
    combined.train_on_batch(np.ones((4, 2), "float32"), y)
    np.testing.assert_array_equal(discriminator.get_weights()[0], frozen)
    assert not np.allclose(generator.get_weights()[0], generator_before)


# --- K.gradients / K.function (conv_filter_visualization, deep_dream, neural_style_transfer) ----
K = keras.backend


def test_symbolic_gradients_with_respect_to_the_input_and_a_weight():
    inputs = keras.Input((3,))
    dense = layers.Dense(2, kernel_initializer="ones")
    loss = K.variable(1.0) + K.sum(K.square(dense(inputs)))   # 1 + sum_j (sum_i x_i)^2
    grads = K.gradients(loss, inputs)
    assert isinstance(grads, list) and grads[0].shape == (None, 3)
    normalized = grads[0] / K.sqrt(K.mean(K.square(grads[0])))
    fetch = K.function([inputs], [loss, grads[0], normalized] + K.gradients(loss, dense.kernel))
    x = np.array([[1.0, 2.0, 3.0]])
    loss_value, input_grad, unit_grad, kernel_grad = fetch([x])
    assert float(loss_value) == pytest.approx(73.0)
    np.testing.assert_allclose(input_grad, [[24.0, 24.0, 24.0]])   # 2 * 2 * 6
    np.testing.assert_allclose(unit_grad, [[1.0, 1.0, 1.0]], rtol=1e-6)
    np.testing.assert_allclose(kernel_grad, 12.0 * x.T.repeat(2, axis=1))   # 2 * 6 * x_i
    assert input_grad.dtype == np.float32


def test_symbolic_gradients_through_a_placeholder_concatenated_with_variables():
    constant_image = K.variable(np.full((1, 2), 3.0, "float32"))
    combination = K.placeholder((1, 2))
    stacked = K.concatenate([constant_image, combination], axis=0)
    loss = K.sum(K.square(stacked[1] - stacked[0]))
    fetch = K.function([combination], [loss] + K.gradients(loss, combination))
    loss_value, grad = fetch([np.array([[1.0, 5.0]])])
    assert float(loss_value) == pytest.approx(8.0)
    np.testing.assert_allclose(grad, [[-4.0, 4.0]])


def test_symbolic_gradients_are_none_for_weights_the_loss_does_not_use():
    inputs = keras.Input((3,))
    used, unused = layers.Dense(2), layers.Dense(2)
    unused.build((None, 3))
    loss = K.sum(used(inputs))
    grads = K.gradients(loss, [unused.kernel, inputs, used.kernel])
    assert grads[0] is None and grads[1] is not None and grads[2] is not None
    assert K.gradients(loss, unused.kernel) == [None]
    input_grad, kernel_grad = K.function([inputs], [grads[1], grads[2]])([np.ones((1, 3))])
    np.testing.assert_allclose(kernel_grad, np.ones((3, 2)))
    np.testing.assert_allclose(input_grad, used.get_weights()[0].sum(axis=1, keepdims=True).T,
                               rtol=1e-6)


def test_symbolic_gradients_need_a_symbolic_loss_and_an_input_or_weight():
    with pytest.raises(RuntimeError, match="GradientTape"):
        K.gradients(K.constant(1.0), [K.variable(1.0)])
    with pytest.raises(ValueError, match="Keras tensors or Variables"):
        K.gradients(K.sum(keras.Input((3,))), [np.ones(3)])


def test_symbolic_gradients_with_respect_to_an_intermediate_tensor():
    """DLwP 5.4's Grad-CAM: d(class score) / d(last conv output) through global average
    pooling and a Dense layer is W[:, c] / (H * W) at every position."""
    inputs = keras.Input((5, 4, 3))
    conv = layers.Conv2D(6, 3, activation="relu", padding="same")
    conv_output = conv(inputs)
    scores = layers.Dense(7)(layers.GlobalAveragePooling2D()(conv_output))
    model = keras.Model(inputs, scores)
    grads, other = K.gradients(model.output[:, 2], [conv_output, layers.Dense(1)(inputs)])
    assert other is None                           # a tensor the loss does not depend on
    pooled = K.mean(grads, axis=(0, 1, 2))
    fetch = K.function([model.input], [pooled, conv_output[0], grads])
    x = np.random.default_rng(0).normal(size=(2, 5, 4, 3)).astype("float32")
    pooled_value, conv_value, grad_value = fetch([x])
    kernel = model.layers[-1].get_weights()[0]
    np.testing.assert_allclose(grad_value, np.broadcast_to(kernel[:, 2] / 20, (2, 5, 4, 6)),
                               rtol=1e-6)
    np.testing.assert_allclose(pooled_value, kernel[:, 2] / 20, rtol=1e-6)
    np.testing.assert_allclose(conv_value, np.asarray(conv(x))[0], rtol=1e-6)


def test_variable_operators_leave_symbolic_operands_to_the_graph():
    inputs = keras.Input((2,))
    total = K.variable(2.0) * inputs - K.variable(1.0)
    assert isinstance(total, keras.backend.KerasTensor)
    out = K.function([inputs], [total])([np.array([[1.0, 4.0]])])[0]
    np.testing.assert_allclose(out, [[1.0, 7.0]])


# --- custom train_step (keras.io "customizing what happens in fit", DCGAN) --------------------
class _RecordingModel(keras.Model):
    """Records the structure of the data its train_step receives."""

    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
        self.seen = []

    def call(self, inputs):
        return self.dense(inputs)

    def train_step(self, data):
        self.seen.append(type(data).__name__ + str(len(data) if isinstance(data, tuple) else ""))
        x = data[0] if isinstance(data, tuple) else data
        with keras.GradientTape() as tape:
            loss = K.mean(K.square(self(x, training=True)))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"loss": loss}


@pytest.mark.parametrize("targets, weights, expected", [
    (None, None, "ndarray"), (True, None, "tuple2"), (True, True, "tuple3")])
def test_train_step_receives_the_data_as_given(targets, weights, expected):
    x = np.ones((8, 2), "float32")
    model = _RecordingModel()
    model.compile("sgd")
    model.fit(x, np.ones((8, 1)) if targets else None,
              sample_weight=np.ones(8) if weights else None, batch_size=4, verbose=0)
    assert model.seen == [expected, expected]


def test_model_without_call_trains_through_its_train_step_and_logs_numbers():
    class TwoOptimizers(keras.Model):   # the keras.io GAN: no call(), compile() overridden
        def __init__(self, net):
            super().__init__()
            self.net = net

        def compile(self, net_optimizer):
            super().compile()
            self.net_optimizer = net_optimizer

        def train_step(self, data):
            with keras.GradientTape() as tape:
                loss = K.mean(K.square(self.net(data) - 1.0))
            grads = tape.gradient(loss, self.net.trainable_weights)
            self.net_optimizer.apply_gradients(zip(grads, self.net.trainable_weights))
            return {"net_loss": loss}

    net = keras.Sequential([layers.Dense(1, input_shape=(1,), kernel_initializer="zeros",
                                         bias_initializer="zeros")])
    model = TwoOptimizers(net)
    model.compile(net_optimizer=keras.optimizers.SGD(0.25))
    history = model.fit(np.ones((2, 1), "float32"), batch_size=2, epochs=2, verbose=0)
    # w = b = 0 -> loss 1, gradient -2 for w and b -> w = b = 0.5 -> output 1, loss 0
    assert history.history["net_loss"] == [1.0, 0.0]
    assert all(type(v) is float for v in history.history["net_loss"])


# --- K.backend() == 'tensorflow' picks the TF branch of Keras 2 custom layers ------------------
def test_backend_name_selects_the_tensorflow_branch_of_an_attention_layer():
    assert K.backend() == "tensorflow"
    x = np.random.RandomState(2).randn(2, 5, 3).astype("float32")
    kernel = np.array([1.0, -2.0, 0.5], "float32")
    scores = K.squeeze(K.dot(K.constant(x), K.expand_dims(K.constant(kernel))), axis=-1)
    np.testing.assert_allclose(K.get_value(scores), x @ kernel, rtol=1e-6)


# --- Keras 2.3 optimizer arguments: decay=, epsilon=None (cifar10_cnn, many scripts) -----------
def test_decay_argument_gives_the_keras2_time_decay():
    with pytest.warns(UserWarning, match="legacy"):
        opt = keras.optimizers.SGD(learning_rate=0.1, decay=1.0)
    variable = keras.Variable(np.zeros(1, "float32"))
    for _ in range(3):   # 0.1 / (1 + t): 0.1, 0.05, 0.0333
        opt.apply_gradients([(np.ones(1, "float32"), variable)])
    np.testing.assert_allclose(variable.numpy(), [-(0.1 + 0.05 + 0.1 / 3)], rtol=1e-6)
    assert type(keras.optimizers.SGD(0.1)) is keras.optimizers.SGD


def _f32(x):
    return np.float32(x)


def test_legacy_adam_first_step_in_float32_as_optimizer_v2():
    """OptimizerV2 keeps beta_1/beta_2 as float32 tensors: `1 - beta` and `beta ** t` are
    both computed from the float32 betas (a 7e-6 relative difference from `1 - 0.999`)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt = keras.optimizers.Adam(lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=None, decay=0.0)
    assert opt.epsilon == pytest.approx(1e-7)   # None is K.epsilon()
    variable = keras.Variable(np.zeros(1, "float32"))
    opt.apply_gradients([(np.ones(1, "float32"), variable)])
    one, b1, b2 = _f32(1), _f32(0.9), _f32(0.999)
    m, v = one - b1, one - b2
    alpha = _f32(0.001) * np.sqrt(one - b2) / (one - b1)
    expected = -(m * alpha) / (np.sqrt(v) + _f32(1e-7))
    np.testing.assert_allclose(variable.numpy(), [expected], rtol=2e-7)


def test_legacy_adamax_first_moment_decay_in_float32():
    opt = keras.optimizers.legacy.Adamax(learning_rate=0.001)
    variable = keras.Variable(np.zeros(1, "float32"))
    opt.apply_gradients([(np.ones(1, "float32"), variable)])
    one, b1 = _f32(1), _f32(0.9)
    expected = -_f32(0.001) * (one - b1) / ((one + _f32(1e-7)) * (one - b1))
    np.testing.assert_allclose(variable.numpy(), [expected], rtol=2e-7)


# --- Keras 2 idioms: K.function with the learning phase, to_yaml -----------------------------
def test_function_takes_the_learning_phase_among_its_inputs():
    model = keras.Sequential([layers.Dropout(0.5, input_shape=(2000,))])
    fetch = K.function([model.input, K.learning_phase()], [model.output])
    x = np.ones((1, 2000), "float32")
    np.testing.assert_array_equal(fetch([x, 0])[0], x)          # inference: identity
    training = fetch([x, 1])[0]
    dropped = np.mean(training == 0)
    assert 0.45 < dropped < 0.55                                 # training: dropout
    np.testing.assert_allclose(training[training != 0], 2.0)     # kept units scaled by 2
    assert K.learning_phase() == 0 and isinstance(K.learning_phase(), int)


def test_yaml_methods_raise_as_tf_keras():
    model = keras.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(RuntimeError, match="to_yaml.*removed"):
        model.to_yaml()
    with pytest.raises(RuntimeError, match="model_from_yaml.*removed"):
        keras.models.model_from_yaml("{}")


# --- calling a built model on inputs of another shape (fully convolutional reuse, acgan) -------
def test_symbolic_call_with_another_input_shape_is_checked_by_the_inner_layers():
    inputs = keras.Input((4, 4, 3))
    conv = keras.Model(inputs, layers.Conv2D(2, 3)(inputs))
    assert conv(keras.Input((8, 8, 3))).shape == (None, 6, 6, 2)   # fully convolutional
    with pytest.raises(ValueError, match='layer "conv2d".*axis -1 of input shape to have '
                                         'value 3'):
        conv(keras.Input((4, 4, 2)))
    dense = keras.Sequential([layers.Dense(6, input_dim=5)])
    assert dense(keras.Input((1, 5))).shape == (None, 1, 6)           # an extra axis
    assert dense(keras.Input((5, 1))).shape == (None, 6)              # trailing 1 squeezed
    with pytest.raises(ValueError, match='expected shape=\\(None, 5\\), found shape=\\(2, 1, 5\\)'):
        dense(np.ones((2, 1, 5), "float32"))                          # eager calls are strict


# --- Keras 2 names tf.keras still resolves ------------------------------------------------------
def test_keras2_object_names():
    assert isinstance(keras.initializers.get("zero"), keras.initializers.Zeros)
    assert isinstance(keras.initializers.get("one"), keras.initializers.Ones)
    assert isinstance(keras.constraints.get("maxnorm"), keras.constraints.MaxNorm)
    assert keras.constraints.maxnorm is keras.constraints.MaxNorm
    assert keras.constraints.nonneg is keras.constraints.NonNeg
    assert keras.constraints.unitnorm is keras.constraints.UnitNorm
    x = np.array([[-1.0, 3.0, 7.5]], "float32")
    np.testing.assert_array_equal(keras.activations.get("relu6")(x).numpy(), [[0.0, 3.0, 6.0]])
    log_probabilities = keras.activations.get("log_softmax")(x).numpy()
    x64 = x.astype("float64")
    np.testing.assert_allclose(log_probabilities, x64 - np.log(np.exp(x64).sum()), atol=1e-6)
    layer = layers.Dense(2, activation="relu6")
    assert keras.layers.Dense.from_config(layer.get_config()).activation is keras.activations.relu6


# --- compile(sample_weight_mode='temporal') and the other Keras 2 compile arguments -----------
def test_compile_takes_the_keras2_arguments_tf_keras_still_takes():
    model = keras.Sequential([layers.Dense(1, input_shape=(3, 2), kernel_initializer="ones",
                                           use_bias=False)])
    model.compile("sgd", "mse", sample_weight_mode="temporal", cloning=False,
                  experimental_run_tf_function=False, target_tensors=None, distribute=None)
    x = np.ones((2, 3, 2), "float32")          # predictions 2 everywhere, targets 0
    weights = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], "float32")
    # per-timestep squared errors of 4, weighted and averaged over the 6 timesteps
    assert model.evaluate(x, np.zeros((2, 3, 1)), sample_weight=weights,
                          verbose=0) == pytest.approx(4.0 * 3 / 6)
    with pytest.raises(ValueError, match="target_tensors"):
        model.compile("sgd", "mse", target_tensors=[1])
    with pytest.raises(TypeError, match="Invalid keyword argument"):
        model.compile("sgd", "mse", foo=1)


# --- add_metric (tf.keras 2.x layers and functional models) ------------------------------------
class _MeanActivation(layers.Layer):
    def call(self, inputs):
        self.add_metric(K.mean(inputs), name="activation_mean", aggregation="mean")
        return inputs


def test_add_metric_in_a_layer_and_on_a_functional_model():
    inputs = keras.Input((2,))
    hidden = _MeanActivation()(layers.Dense(2, kernel_initializer="ones", use_bias=False)(inputs))
    model = keras.Model(inputs, hidden)
    model.add_metric(K.sum(hidden), name="output_sum")
    model.compile("sgd", "mse")
    x = np.array([[1.0, 0.0], [1.0, 1.0], [2.0, 2.0]], "float32")   # rows sum to 1, 2, 4
    results = model.evaluate(x, np.zeros((3, 2)), batch_size=1, verbose=0, return_dict=True)
    # each batch's outputs are [s, s] with s the row sum: the means over the 3 batches
    assert results["activation_mean"] == pytest.approx((1 + 2 + 4) / 3)
    assert results["output_sum"] == pytest.approx((2 + 4 + 8) / 3)
    assert model.metrics_names == ["loss", "activation_mean", "output_sum"]
    clone = keras.models.model_from_json(model.to_json(),
                                         custom_objects={"_MeanActivation": _MeanActivation})
    assert [layer.name for layer in clone.layers] == [layer.name for layer in model.layers]
    with pytest.raises(ValueError, match="provide a name"):
        model.add_metric(K.sum(hidden))


# --- Input(tensor=<eager tensor>) (neural_doodle's mask model) ----------------------------------
def test_input_from_an_eager_tensor_is_a_symbolic_input_of_its_shape_and_dtype():
    K = keras.backend
    masks = K.concatenate([K.variable(np.ones((1, 4, 4, 2), "float32")),
                           K.variable(np.zeros((1, 4, 4, 2), "float32"))], axis=0)
    mask_input = keras.layers.Input(tensor=masks, shape=(None, None, None), name="mask_input")
    assert keras.backend.is_keras_tensor(mask_input)
    assert tuple(mask_input.shape) == (2, 4, 4, 2) and mask_input.dtype == "float32"
    pooled = keras.layers.AveragePooling2D(2)(mask_input)
    model = keras.Model(mask_input, pooled)
    assert model.layers[0].name == "mask_input"
    data = np.arange(64, dtype="float32").reshape(2, 4, 4, 2)
    expected = data.reshape(2, 2, 2, 2, 2, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-6)
    labels = keras.layers.Input(tensor=K.constant(np.zeros((3, 1)), dtype="int32"))
    assert labels.dtype == "int32"


# --- zero-padded one-hot targets (cnn_seq2seq, lstm_seq2seq) --------------------------------------
def test_padded_time_steps_train_with_tensorflow_softmax_gradient():
    # tf.keras trains a softmax output on all-zero target rows with the gradient softmax - 0:
    # one SGD step moves the bias by lr * mean over (sample, step) of (probabilities - targets).
    rng = np.random.RandomState(0)
    x = rng.randn(4, 5, 3).astype("float32")
    y = np.zeros((4, 5, 6), "float32")
    y[:, :3, :] = np.eye(6, dtype="float32")[rng.randint(0, 6, (4, 3))]   # steps 3, 4 padded
    inputs = keras.Input((None, 3))
    model = keras.Model(inputs, layers.Dense(6, activation="softmax")(inputs))
    model.compile(keras.optimizers.SGD(1.0), "categorical_crossentropy")
    probabilities = model.predict(x, verbose=0)
    bias_before = model.layers[-1].bias.numpy().copy()
    model.train_on_batch(x, y)
    expected_step = (probabilities - y).mean(axis=(0, 1))
    np.testing.assert_allclose(bias_before - model.layers[-1].bias.numpy(), expected_step,
                               atol=1e-6)


def test_per_output_class_weight_list_as_keras_2_acgan():
    # Keras-GAN acgan/sgan/ccgan: `train_on_batch(x, [valid, labels], class_weight=[cw1, cw2])`,
    # one dict per output (Keras 2; tf.keras 2.x raises AttributeError on the list)
    inputs = keras.Input((3,))
    validity = layers.Dense(1, activation="sigmoid", kernel_initializer="ones")(inputs)
    label = layers.Dense(3, activation="softmax", kernel_initializer="ones")(inputs)
    model = keras.Model(inputs, [validity, label])
    model.compile("sgd", ["binary_crossentropy", "sparse_categorical_crossentropy"])
    x = np.ones((4, 3), np.float32)
    valid, labels = np.array([[1], [0], [1], [0]], np.float32), np.array([[0], [1], [2], [2]])
    cw_valid, cw_label = {0: 1.0, 1: 3.0}, {0: 0.5, 1: 1.0, 2: 2.0}
    p = 1 / (1 + np.exp(-3.0))   # sigmoid of the summed inputs; the softmax is uniform
    bce = np.array([-np.log(p), -np.log(1 - p)] * 2)
    want_valid = np.mean(bce * [3.0, 1.0, 3.0, 1.0])
    want_label = np.log(3.0) * np.mean([0.5, 1.0, 2.0, 2.0])
    total, loss_valid, loss_label = model.train_on_batch(x, [valid, labels],
                                                         class_weight=[cw_valid, cw_label])
    np.testing.assert_allclose([loss_valid, loss_label, total],
                               [want_valid, want_label, want_valid + want_label], rtol=1e-5)
    with pytest.raises(ValueError, match="was a list of 1 elements, but the model has 2 outputs"):
        model.train_on_batch(x, [valid, labels], class_weight=[cw_valid])
