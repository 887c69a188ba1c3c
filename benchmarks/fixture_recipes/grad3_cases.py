"""Gradient cases at kinks and ties (tests/fixtures/grad3/), built the same way by tf_keras
(the recipe grad3.py) and minikeras (tests/ops/test_gradient_conventions.py): `keras` is the
library's module. Each case's inputs hold exact ties or sit exactly on a kink, where finite
differences cannot decide and TensorFlow has a fixed rule.

A case is `(inputs, forward)`: `inputs()` gives float32 arrays (each becomes a variable), and
`forward(keras, *variables)` gives the output; the fixture holds the gradients of
`sum(output * weights)` (weights 1, 2, 3, ... so routing shows) w.r.t. every input."""
import numpy as np

F32 = np.float32


def _arr(*values):
    return np.array(values, F32)


def _kinks():
    return _arr(-3.0, -2.5, -1.0, -0.5, 0.0, 0.0, 1.0, 2.5, 3.0, 6.0, 7.0)


def _activation_case(name, **kwargs):
    return (lambda: [_kinks()],
            lambda keras, x: keras.activations.get(name)(x, **kwargs) if kwargs
            else keras.activations.get(name)(x))


def _backend_case(function_name, *args, **kwargs):
    return (lambda: [_kinks()],
            lambda keras, x: getattr(keras.backend, function_name)(x, *args, **kwargs))


def _layer_case(make_layer, inputs, weights=None, **call_kwargs):
    """A layer built on the inputs' shape; `weights(layer)` gives its weights (seeded)."""
    def forward(keras, *xs):
        layer = make_layer(keras)
        call_inputs = xs[0] if len(xs) == 1 else list(xs)
        if weights is not None:
            layer.build(xs[0].shape if len(xs) == 1 else [x.shape for x in xs])
            layer.set_weights(weights(layer))
        return layer(call_inputs, **call_kwargs)
    return inputs, forward


def _seeded(layer, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(w.shape) * 0.5).astype(F32) for w in layer.get_weights()]


def _pool_input(shape):
    """Integer values with ties inside windows (several maxima per window) and at borders."""
    rng = np.random.default_rng(sum(shape))
    return rng.integers(0, 3, size=shape).astype(F32)


def _two(a, b):
    return lambda: [np.array(a, F32), np.array(b, F32)]


CASES = {
    # activations through keras.activations / keras.backend
    "relu": _activation_case("relu"),
    "relu_max6": _backend_case("relu", max_value=6.0),
    "relu_leaky": _backend_case("relu", alpha=0.1),
    "relu_threshold": _backend_case("relu", threshold=1.0),
    "relu_threshold_neg": _backend_case("relu", threshold=-1.0),
    "relu_all": _backend_case("relu", alpha=0.1, max_value=6.0, threshold=1.0),
    "relu_alpha_max": _backend_case("relu", alpha=0.1, max_value=3.0),
    "relu_alpha_max6": _backend_case("relu", alpha=0.1, max_value=6.0),
    "relu_threshold_max6": _backend_case("relu", max_value=6.0, threshold=1.0),
    "relu_alpha_threshold": _backend_case("relu", alpha=0.1, threshold=-1.0),
    "relu_max_threshold": _backend_case("relu", max_value=3.0, threshold=-1.0),
    "elu": _activation_case("elu"),
    "elu_half": _backend_case("elu", alpha=0.5),
    "selu": _activation_case("selu"),
    "hard_sigmoid": _activation_case("hard_sigmoid"),
    "softplus": (lambda: [_arr(-100, -30, -20, -16, -15, -14, 0, 14, 15, 16, 20, 30, 100)],
                 lambda keras, x: keras.activations.softplus(x)),
    "softsign": _activation_case("softsign"),
    "swish": _activation_case("swish"),
    "gelu": _activation_case("gelu"),
    "abs": _backend_case("abs"),
    "sign": _backend_case("sign"),
    "clip": _backend_case("clip", 0.0, 6.0),
    "clip_equal_bounds": _backend_case("clip", 1.0, 1.0),
    "clip_reversed": _backend_case("clip", 3.0, 1.0),
    "sqrt_zero": (lambda: [_arr(0.0, 1.0, 4.0)], lambda keras, x: keras.backend.sqrt(x)),
    "sqrt_negative": (lambda: [_arr(-1.0, 0.0, 4.0)], lambda keras, x: keras.backend.sqrt(x)),
    "pow_half_zero": (lambda: [_arr(0.0, 1.0, 4.0)], lambda keras, x: keras.backend.pow(x, 0.5)),
    "pow_two_zero": (lambda: [_arr(0.0, -1.0, 4.0)], lambda keras, x: keras.backend.pow(x, 2)),
    "pow_zero_zero": (lambda: [_arr(0.0, -1.0, 4.0)], lambda keras, x: keras.backend.pow(x, 0)),
    "pow_one_zero": (lambda: [_arr(0.0, -1.0, 4.0)], lambda keras, x: keras.backend.pow(x, 1)),
    "square": (lambda: [_arr(0.0, -1.0)], lambda keras, x: keras.backend.square(x)),
    "log_zero": (lambda: [_arr(0.0, 1.0)], lambda keras, x: keras.backend.log(x)),
    "maximum_equal": (_two([0, 1, 2, 3], [0, 1, 5, -3]),
                      lambda keras, x, y: keras.backend.maximum(x, y)),
    "minimum_equal": (_two([0, 1, 2, 3], [0, 1, 5, -3]),
                      lambda keras, x, y: keras.backend.minimum(x, y)),
    "maximum_broadcast": (_two([[0, 1, 2], [2, 2, 0]], [2]),
                          lambda keras, x, y: keras.backend.maximum(x, y)),
    "max_ties": (lambda: [np.array([[1, 3, 3, 0], [2, 2, 2, 2]], F32)],
                 lambda keras, x: keras.backend.max(x, axis=1)),
    "min_ties": (lambda: [np.array([[1, 0, 3, 0], [2, 2, 2, 2]], F32)],
                 lambda keras, x: keras.backend.min(x, axis=1)),
    "max_all_ties": (lambda: [np.array([[1, 3, 3, 0], [3, 2, 2, 3]], F32)],
                     lambda keras, x: keras.backend.max(x)),
    "l2_normalize_zero": (lambda: [np.array([[0, 0, 0], [3, 0, 4]], F32)],
                          lambda keras, x: keras.backend.l2_normalize(x, axis=-1)),
    "cosine_zero": (_two([[0, 0, 0], [1, 2, 2]], [[0, 0, 0], [0, 0, 0]]),
                    lambda keras, x, y: keras.losses.cosine_similarity(x, y)),
    "cosine_zero_pred": (_two([[1, 0, 0], [1, 2, 2]], [[0, 0, 0], [1, 2, 2]]),
                         lambda keras, x, y: keras.losses.cosine_similarity(x, y)),
    # layers
    "ReLU_all": _layer_case(lambda keras: keras.layers.ReLU(max_value=6.0, negative_slope=0.1,
                                                              threshold=0.0),
                            lambda: [_kinks()]),
    "ReLU_threshold": _layer_case(lambda keras: keras.layers.ReLU(threshold=1.0),
                                  lambda: [_kinks()]),
    "ReLU_leak_cap_threshold": _layer_case(
        lambda keras: keras.layers.ReLU(max_value=2.5, negative_slope=0.2, threshold=1.0),
        lambda: [_kinks()]),
    "ReLU_cap_zero": _layer_case(lambda keras: keras.layers.ReLU(max_value=0.0),
                                 lambda: [_kinks()]),
    "Activation_relu": _layer_case(lambda keras: keras.layers.Activation("relu"),
                                   lambda: [_kinks()]),
    "Maximum_layer": (_two([[0, 1, 2, 3]], [[0, 1, 5, -3]]),
                      lambda keras, x, y: keras.layers.Maximum()([x, y])),
    "Minimum_layer": (_two([[0, 1, 2, 3]], [[0, 1, 5, -3]]),
                      lambda keras, x, y: keras.layers.Minimum()([x, y])),
    "Dense_relu_kink": _layer_case(
        lambda keras: keras.layers.Dense(3, activation="relu"),
        lambda: [np.array([[1, -1], [2, 0], [0, 0]], F32)],
        lambda layer: [np.array([[1, -1, 0], [1, 1, 0]], F32), _arr(0, 0, 0)]),
    "Conv2D_relu_kink": _layer_case(
        lambda keras: keras.layers.Conv2D(2, 2, activation="relu"),
        lambda: [_pool_input((1, 3, 3, 1)) - 1.0],
        lambda layer: [np.ones((2, 2, 1, 2), F32) * _arr(1, -1), _arr(0, 0)]),
    "ReLU_max_only": _layer_case(lambda keras: keras.layers.ReLU(max_value=3.0),
                                 lambda: [_kinks()]),
    "LeakyReLU": _layer_case(lambda keras: keras.layers.LeakyReLU(0.3), lambda: [_kinks()]),
    "ELU": _layer_case(lambda keras: keras.layers.ELU(0.7), lambda: [_kinks()]),
    "ThresholdedReLU": _layer_case(lambda keras: keras.layers.ThresholdedReLU(1.0),
                                   lambda: [_kinks()]),
    "MaxPooling1D": _layer_case(lambda keras: keras.layers.MaxPooling1D(2),
                                lambda: [_pool_input((2, 7, 3))]),
    "MaxPooling1D_same": _layer_case(
        lambda keras: keras.layers.MaxPooling1D(3, strides=2, padding="same"),
        lambda: [_pool_input((2, 8, 3))]),
    "MaxPooling2D": _layer_case(lambda keras: keras.layers.MaxPooling2D(2),
                                lambda: [_pool_input((2, 5, 5, 2))]),
    "MaxPooling2D_overlap": _layer_case(lambda keras: keras.layers.MaxPooling2D(3, strides=1),
                                        lambda: [_pool_input((1, 5, 5, 2))]),
    "MaxPooling2D_same": _layer_case(
        lambda keras: keras.layers.MaxPooling2D(3, strides=2, padding="same"),
        lambda: [_pool_input((2, 6, 6, 2))]),
    "MaxPooling2D_same_negative": _layer_case(
        lambda keras: keras.layers.MaxPooling2D(2, strides=2, padding="same"),
        lambda: [-_pool_input((1, 5, 5, 2)) - 1.0]),
    "MaxPooling3D_overlap": _layer_case(
        lambda keras: keras.layers.MaxPooling3D(2, strides=1),
        lambda: [_pool_input((1, 3, 3, 3, 2))]),
    "MaxPooling3D_strided": _layer_case(
        lambda keras: keras.layers.MaxPooling3D((1, 2, 3), strides=(2, 1, 2), padding="same"),
        lambda: [_pool_input((2, 3, 4, 5, 1))]),
    "MaxPooling3D": _layer_case(lambda keras: keras.layers.MaxPooling3D(2),
                                lambda: [_pool_input((1, 4, 4, 4, 2))]),
    "MaxPooling3D_same": _layer_case(
        lambda keras: keras.layers.MaxPooling3D(2, padding="same"),
        lambda: [_pool_input((1, 3, 3, 3, 1))]),
    "GlobalMaxPooling1D": _layer_case(lambda keras: keras.layers.GlobalMaxPooling1D(),
                                      lambda: [_pool_input((2, 6, 3))]),
    "GlobalMaxPooling2D": _layer_case(lambda keras: keras.layers.GlobalMaxPooling2D(),
                                      lambda: [_pool_input((2, 3, 3, 2))]),
    "GlobalMaxPooling3D": _layer_case(lambda keras: keras.layers.GlobalMaxPooling3D(),
                                      lambda: [_pool_input((1, 2, 3, 2, 2))]),
    "Softmax_neg_inf": _layer_case(lambda keras: keras.layers.Softmax(),
                                   lambda: [np.array([[0, -np.inf, 1, 1], [2, 2, 2, 2]], F32)]),
    "Softmax_masked": (lambda: [np.array([[0, 5, 1, 1], [2, 2, 2, 2]], F32)],
                       lambda keras, x: keras.layers.Softmax()(
                           x * 1.0, mask=np.array([[1, 0, 1, 1], [0, 0, 0, 0]], bool))),
    "Attention_masked_row": (
        lambda: [np.random.default_rng(1).standard_normal((2, 3, 4)).astype(F32),
                 np.random.default_rng(2).standard_normal((2, 5, 4)).astype(F32)],
        lambda keras, q, v: keras.layers.Attention()(
            [q, v], mask=[None, np.array([[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]], bool)])),
    "MultiHeadAttention_masked_row": (
        lambda: [np.random.default_rng(3).standard_normal((2, 3, 4)).astype(F32),
                 np.random.default_rng(4).standard_normal((2, 5, 4)).astype(F32)],
        None),   # forward below: needs the layer's seeded weights
    "LayerNormalization_constant": _layer_case(
        lambda keras: keras.layers.LayerNormalization(),
        lambda: [np.array([[2, 2, 2, 2], [1, 2, 3, 4]], F32)]),
    "BatchNormalization_constant": _layer_case(
        lambda keras: keras.layers.BatchNormalization(),
        lambda: [np.array([[2, 1], [2, 3], [2, 5]], F32)], training=True),
    # losses at their clipping edges: inputs (y_true, y_pred), gradients w.r.t. both
    "bce_edges": (_two([[0, 1, 0, 1, 0.5]], [[0, 1, 1, 0, 0]]),
                  lambda keras, t, p: keras.losses.binary_crossentropy(t, p)),
    "cce_edges": (_two([[0, 1, 0], [0.5, 0.5, 0]], [[0, 1, 0], [1, 0, 0]]),
                  lambda keras, t, p: keras.losses.categorical_crossentropy(t, p)),
    "scce_edges": (_two([[1], [2]], [[0, 1, 0], [1, 0, 0]]),
                   lambda keras, t, p: keras.losses.sparse_categorical_crossentropy(
                       keras.backend.stop_gradient(t), p)),
    "huber_delta": (_two([[0, 0, 0, 0, 0]], [[1, -1, 0.5, 2, 0]]),
                    lambda keras, t, p: keras.losses.Huber(delta=1.0, reduction="none")(t, p)),
    "hinge_margin": (_two([[1, -1, 1, 0, 1]], [[1, -1, 0, 1, 2]]),
                     lambda keras, t, p: keras.losses.hinge(t, p)),
    "squared_hinge_margin": (_two([[1, -1, 1, 0]], [[1, -1, 0, 1]]),
                             lambda keras, t, p: keras.losses.squared_hinge(t, p)),
    "categorical_hinge_tie": (_two([[0, 1, 0]], [[1, 0, 1]]),
                              lambda keras, t, p: keras.losses.categorical_hinge(t, p)),
    "kld_zero": (_two([[0, 0.5, 0.5, 0]], [[0.5, 0, 0.5, 0]]),
                 lambda keras, t, p: keras.losses.kl_divergence(t, p)),
    "poisson_zero": (_two([[0, 1, 2]], [[0, 0, 1]]),
                     lambda keras, t, p: keras.losses.poisson(t, p)),
    "mae_zero": (_two([[1, 2, 3]], [[1, 0, 3]]),
                 lambda keras, t, p: keras.losses.mean_absolute_error(t, p)),
    "mape_zero": (_two([[0, 2, 3]], [[1, 2, 0]]),
                  lambda keras, t, p: keras.losses.mean_absolute_percentage_error(t, p)),
    "msle_zero": (_two([[0, 2, -3]], [[0, -1, 0]]),
                  lambda keras, t, p: keras.losses.mean_squared_logarithmic_error(t, p)),
    "logcosh_zero": (_two([[1, 2]], [[1, 0]]),
                     lambda keras, t, p: keras.losses.log_cosh(t, p)),
}


# numerically delicate points where tf's rules already agreed (kept as regression checks)
def _loss_case(name, y_true, y_pred, **kwargs):
    return _two(y_true, y_pred), lambda keras, t, p: getattr(keras.losses, name)(t, p, **kwargs)


def _on(values, forward):
    return lambda: [np.array(values, F32)], forward


CASES.update({
    "cce_zero_row": _loss_case("categorical_crossentropy", [[0, 1, 0]], [[0, 0, 0]]),
    "scce_zero_target": (_two([[1]], [[0.5, 0, 0.5]]),
                         lambda keras, t, p: keras.losses.sparse_categorical_crossentropy(
                             keras.backend.stop_gradient(t), p)),
    "msle_minus_one": _loss_case("mean_squared_logarithmic_error", [[-1, 0]], [[-1, -2]]),
    "kld_negative": _loss_case("kl_divergence", [[-0.5, 1]], [[0.5, -1]]),
    "bce_logits_inf": _loss_case("binary_crossentropy", [[1, 0]], [[np.inf, -np.inf]],
                                 from_logits=True),
    "cce_logits_ties": _loss_case("categorical_crossentropy", [[0, 1, 0]], [[2, 2, 2]],
                                  from_logits=True),
    "mape_zero_true": _loss_case("mean_absolute_percentage_error", [[0, 0]], [[0, 1]]),
    "cosine_partial_zero": _loss_case("cosine_similarity", [[0, 0, 1]], [[1, 0, 0]]),
    "huber_delta_large": _loss_case("huber", [[0, 0]], [[2, -2]], delta=2.0),
    "logcosh_big": _loss_case("log_cosh", [[0, 0]], [[100, -100]]),
    "norm_zero": _on(np.zeros((2, 3)), lambda keras, x: keras.backend.sqrt(
        keras.backend.sum(keras.backend.square(x), axis=1))),
    "std_constant": _on(np.full((2, 3), 2), lambda keras, x: keras.backend.std(x, axis=1)),
    "var_constant": _on(np.full((2, 3), 2), lambda keras, x: keras.backend.var(x, axis=1)),
    "softmax_all_neg_inf": _on([[-np.inf, -np.inf]], lambda keras, x: keras.backend.softmax(x)),
    "elu_neg_big": _on([-100, -1e-8, 0], lambda keras, x: keras.activations.elu(x)),
    "softplus_far": _on([-90, -88, 88, 90], lambda keras, x: keras.activations.softplus(x)),
    "sigmoid_big": _on([-100, 100, 0], lambda keras, x: keras.activations.sigmoid(x)),
    "tanh_big": _on([-100, 100, 0], lambda keras, x: keras.activations.tanh(x)),
    "swish_big": _on([-100, 100, 0], lambda keras, x: keras.activations.swish(x)),
    "mish_big": _on([-100, 100, 0], lambda keras, x: keras.activations.mish(x)),
    "exponential_big": _on([-100, 80, 0], lambda keras, x: keras.activations.exponential(x)),
    "gelu_approximate": _on([-100, 0, 100],
                            lambda keras, x: keras.activations.gelu(x, approximate=True)),
    "sqrt_switch_zero": _on([0, 4, 0], lambda keras, x: keras.backend.switch(
        x > 0, keras.backend.sqrt(x), keras.backend.zeros_like(x))),
    "sqrt_sliced_zero": _on([0, 4, 0], lambda keras, x: keras.backend.sqrt(x)[1:2]),
    "sqrt_under_maximum": _on([0, 4, 0], lambda keras, x: keras.backend.maximum(
        keras.backend.sqrt(x), 3.0)),
    "pow_negative_half": _on([-1, 0, 4], lambda keras, x: keras.backend.pow(x, -0.5)),
    "GlobalAveragePooling1D_masked": _on(np.arange(12).reshape(2, 3, 2), lambda keras, x:
                                         keras.layers.GlobalAveragePooling1D()(
                                             x * 1.0, mask=np.array([[1, 0, 0], [0, 0, 0]],
                                                                    bool))),
    "Masking_all": _on(np.zeros((2, 3, 2)), lambda keras, x: keras.layers.Masking()(x)),
    "UnitNormalization_zero": _on(np.zeros((2, 3)),
                                  lambda keras, x: keras.layers.UnitNormalization()(x)),
    "Normalization_zero_variance": _on(np.ones((2, 3)), lambda keras, x:
                                       keras.layers.Normalization(mean=1.0, variance=0.0)(x)),
})


def _multi_head_attention(keras, q, v):
    layer = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3)
    layer(q, v)
    layer.set_weights(_seeded(layer, 5))
    mask = np.ones((2, 3, 5), bool)
    mask[0, 1, :] = False     # query 1 of sample 0 sees nothing
    mask[1, :, 3:] = False
    return layer(q, v, attention_mask=mask)


CASES["MultiHeadAttention_masked_row"] = (CASES["MultiHeadAttention_masked_row"][0],
                                          _multi_head_attention)


def output_weights(shape):
    """The weights of the output in the summed loss: 1, 2, 3, ... (routing shows)."""
    return np.arange(1, int(np.prod(shape)) + 1, dtype=F32).reshape(shape)


# One SGD step on small models whose activations sit on their kinks: the weights after it.
def _kink_mlp(keras):
    model = keras.Sequential([
        keras.Input((3,)),
        keras.layers.Dense(4, activation="relu"),
        keras.layers.Dense(4, activation=None),
        keras.layers.ReLU(max_value=1.0),
        keras.layers.Dense(2, activation="hard_sigmoid"),
        keras.layers.Dense(1),
    ])
    return model


def _kink_mlp_weights():
    # integer weights and inputs: pre-activations land exactly on 0, 1, +-2.5
    return [np.array([[1, -1, 0, 1], [0, 1, -1, -1], [1, 0, 1, 0]], F32), _arr(0, 0, -1, 0),
            np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], F32),
            _arr(0, 0, 1, 0),
            np.array([[2.5, 0], [0, -2.5], [1, 1], [-1, 2]], F32), _arr(0, 0),
            np.array([[1], [-1]], F32), _arr(0)]


def _kink_cnn(keras):
    return keras.Sequential([
        keras.Input((4, 4, 1)),
        keras.layers.Conv2D(2, 2, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.GlobalMaxPooling2D(),
        keras.layers.Dense(1),
    ])


def _kink_cnn_weights():
    return [np.ones((2, 2, 1, 2), F32) * _arr(1, -1), _arr(0, 1),
            np.array([[1], [2]], F32), _arr(0)]


STEP_CASES = {
    "mlp": (_kink_mlp, _kink_mlp_weights,
            lambda: (np.array([[1, 1, 0], [0, 1, 1], [1, 0, 0], [2, 2, 2]], F32),
                     np.array([[1], [0], [2], [1]], F32)), "mse"),
    "cnn": (_kink_cnn, _kink_cnn_weights,
            lambda: (np.array([[0, 1, 1, 0], [1, 1, 1, 1], [0, 0, 1, 1], [2, 2, 0, 0]],
                              F32).reshape(1, 4, 4, 1).repeat(2, axis=0),
                     np.array([[1], [3]], F32)), "mae"),
}


def run_case(keras, tape_class, variable, name):
    """{"y": output, "g<i>": gradient of input i (absent where the library answers None)}."""
    inputs, forward = CASES[name]
    xs = [variable(a) for a in inputs()]
    with tape_class() as tape:
        y = forward(keras, *xs)
        loss = keras.backend.sum(y * output_weights(tuple(y.shape)))
    grads = tape.gradient(loss, xs)
    result = {"y": np.asarray(y)}
    result.update({f"g{i}": np.asarray(g) for i, g in enumerate(grads) if g is not None})
    return result


def run_step(keras, name):
    """The loss of one SGD(0.1) train_on_batch and the weights after it."""
    make, weights, data, loss = STEP_CASES[name]
    model = make(keras)
    model.set_weights(weights())
    model.compile(keras.optimizers.SGD(0.1), loss)
    x, y = data()
    result = {"loss": np.asarray(model.train_on_batch(x, y), F32)}
    result.update({f"w{i}": w for i, w in enumerate(model.get_weights())})
    return result


# ---------------------------------------------------------------------------------------
# WGAN-GP critics with ops whose second-order gradients came with fid-grad3
# ---------------------------------------------------------------------------------------
def conditional_critic(keras):
    """A conditional critic: the label's Embedding reshaped to an image plane, concatenated
    with the image (keras.io's conditional GAN, with a gradient penalty)."""
    image, label = keras.Input((4, 4, 1)), keras.Input((1,), dtype="int32")
    plane = keras.layers.Reshape((4, 4, 1))(keras.layers.Embedding(3, 16)(label))
    x = keras.layers.Concatenate()([image, plane])
    x = keras.layers.Conv2D(3, 2, padding="same")(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model([image, label], keras.layers.Dense(1)(x))


def separable_critic(keras):
    return keras.Sequential([
        keras.Input((6, 6, 2)),
        keras.layers.SeparableConv2D(3, 3, padding="same", depth_multiplier=2),
        keras.layers.LeakyReLU(0.2),
        keras.layers.DepthwiseConv2D(2, strides=2, activation="tanh"),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ])


def recurrent_critic(keras):
    return keras.Sequential([
        keras.Input((4, 3)),
        keras.layers.LSTM(3, return_sequences=True),
        keras.layers.GRU(2, return_sequences=True),
        keras.layers.SimpleRNN(2),
        keras.layers.Dense(1),
    ])


CRITICS = {"conditional": (conditional_critic, (4, 4, 1)),
           "separable": (separable_critic, (6, 6, 2)),
           "recurrent": (recurrent_critic, (4, 3))}


def critic_penalty(tf_like, critic, name, seed):
    """keras.io WGAN-GP's penalty (nested tapes) of critic `name` with seeded weights and
    inputs; the conditional critic also takes labels (not differentiated)."""
    rng = np.random.default_rng(seed)
    shape = CRITICS[name][1]
    critic.set_weights([(rng.standard_normal(w.shape) * 0.5).astype(F32)
                        for w in critic.get_weights()])
    real, fake = (rng.standard_normal((3,) + shape).astype(F32) for _ in range(2))
    alpha = rng.uniform(size=(3,) + (1,) * len(shape)).astype(F32)
    labels = np.array([[0], [2], [1]], np.int32)
    interpolated = tf_like.convert_to_tensor(real + alpha * (fake - real))
    with tf_like.GradientTape() as gp_tape:
        gp_tape.watch(interpolated)
        pred = critic([interpolated, labels] if name == "conditional" else interpolated,
                      training=True)
    grads = gp_tape.gradient(pred, [interpolated])[0]
    norm = tf_like.sqrt(tf_like.reduce_sum(tf_like.square(grads),
                                           axis=list(range(1, len(shape) + 1))))
    return tf_like.reduce_mean((norm - 1.0) ** 2)


def improved_wgan_batch():
    """Inputs (real, fake, interpolation factors) and targets of improved_wgan's critic model
    (grad2_models.improved_wgan_critic_model of the Dense critic)."""
    rng = np.random.default_rng(50)
    real, fake = (rng.standard_normal((3, 4)).astype(F32) for _ in range(2))
    alpha = rng.uniform(size=(3, 1)).astype(F32)
    ones = np.ones((3, 1), F32)
    return [real, fake, alpha], [ones, -ones, np.zeros((3, 1), F32)]
