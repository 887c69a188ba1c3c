"""MobileNetV2 (Sandler et al., 2018): inverted residual blocks with linear bottlenecks,
width multiplier `alpha`. `preprocess_input`: 'tf' mode."""
from .. import layers
from . import _builder, _mobile, imagenet_utils

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
WEIGHT_SIZES = (96, 128, 160, 192, 224)
WEIGHT_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
BN = {"epsilon": 1e-3, "momentum": 0.999}
# (output filters, stride, expansion) of the 17 inverted residual blocks.
BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6),
          (64, 1, 6), (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6),
          (160, 1, 6), (160, 1, 6), (320, 1, 6))


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet",
                input_tensor=None, pooling=None, classes=1000, classifier_activation="softmax",
                **kwargs):
    """MobileNetV2; `alpha` scales the filters. ImageNet weights exist for alpha in
    (0.35, 0.5, 0.75, 1.0, 1.3, 1.4) at 96/128/160/192/224 pixels."""
    _builder.check_no_extra_kwargs(kwargs)
    _builder.check_weights_and_classes(weights, include_top, classes)
    _builder.check_pooling(pooling)
    _check_input_tensor_matches(input_tensor, input_shape)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=_mobile.default_size(input_shape, input_tensor, WEIGHT_SIZES),
        min_size=32, data_format=_builder.data_format(), require_flatten=include_top,
        weights=weights)
    rows = _mobile.spatial_size(input_shape)[0]
    if weights == "imagenet":
        if alpha not in WEIGHT_ALPHAS:
            raise ValueError("If imagenet weights are being loaded, alpha must be one of `0.35`, "
                             f"`0.50`, `0.75`, `1.0`, `1.3` or `1.4` only; Received `alpha={alpha}`")
        rows = _mobile.weights_resolution(input_shape, WEIGHT_SIZES)
    img_input = _builder.image_input(input_tensor, input_shape)
    axis = _channel_axis()

    x = layers.Conv2D(make_divisible(32 * alpha, 8), kernel_size=3, strides=(2, 2),
                      padding="same", use_bias=False, name="Conv1")(img_input)
    x = layers.BatchNormalization(axis=axis, name="bn_Conv1", **BN)(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(BLOCKS):
        x = _inverted_res_block(x, expansion, stride, alpha, filters, block_id)
    last_filters = make_divisible(1280 * alpha, 8) if alpha > 1.0 else 1280
    x = layers.Conv2D(last_filters, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, name="Conv_1_bn", **BN)(x)
    x = layers.ReLU(6.0, name="out_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _builder.global_pooling(x, pooling)
    file_name = None
    if weights == "imagenet":
        top = "" if include_top else "_no_top"
        file_name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}{top}.h5"
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x,
                           f"mobilenetv2_{alpha:0.2f}_{rows}", weights, file_name,
                           ORIGIN_DIR + str(file_name))


def _check_input_tensor_matches(input_tensor, input_shape):
    if input_shape is None or input_tensor is None:
        return
    if not hasattr(input_tensor, "_keras_history"):
        raise ValueError("input_tensor is not a TF-Keras tensor; Received "
                         f"`input_tensor={input_tensor}`")
    if _builder.data_format() == "channels_first":
        if tuple(input_tensor.shape)[1] != input_shape[1]:
            raise ValueError("input_shape[1] must equal shape(input_tensor)[1] when "
                             "`image_data_format` is `channels_first`; Received "
                             f"`input_tensor.shape={input_tensor.shape}`, "
                             f"`input_shape={input_shape}`")
    elif tuple(input_tensor.shape)[2] != input_shape[1]:
        raise ValueError("input_tensor.shape[2] must equal input_shape[1]; Received "
                         f"`input_tensor.shape={input_tensor.shape}`, `input_shape={input_shape}`")


def _inverted_res_block(inputs, expansion, stride, alpha, filters, block_id):
    """1x1 expansion (not in block 0) -> 3x3 depthwise -> linear 1x1 projection (+ input)."""
    axis = _channel_axis()
    in_channels = tuple(inputs.shape)[axis]
    pointwise_filters = make_divisible(int(filters * alpha), 8)
    x = inputs
    prefix = f"block_{block_id}_"
    if block_id:
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False,
                          activation=None, name=prefix + "expand")(x)
        x = layers.BatchNormalization(axis=axis, name=prefix + "expand_BN", **BN)(x)
        x = layers.ReLU(6.0, name=prefix + "expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=prefix + "pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid",
                               name=prefix + "depthwise")(x)
    x = layers.BatchNormalization(axis=axis, name=prefix + "depthwise_BN", **BN)(x)
    x = layers.ReLU(6.0, name=prefix + "depthwise_relu")(x)
    x = layers.Conv2D(pointwise_filters, kernel_size=1, padding="same", use_bias=False,
                      activation=None, name=prefix + "project")(x)
    x = layers.BatchNormalization(axis=axis, name=prefix + "project_BN", **BN)(x)
    if in_channels == pointwise_filters and stride == 1:
        return layers.Add(name=prefix + "add")([inputs, x])
    return x


def make_divisible(value, divisor, min_value=None):
    """`value` rounded to a multiple of `divisor`, never more than 10% below it."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def _channel_axis():
    return 1 if _builder.data_format() == "channels_first" else -1


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
