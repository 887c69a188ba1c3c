"""MobileNetV3Small and MobileNetV3Large (Howard et al., 2019): inverted residual blocks with
squeeze-and-excitation and hard-swish, width multiplier `alpha`, a `minimalistic` variant
(3x3 kernels, ReLU, no squeeze-and-excitation). The model rescales its [0, 255] inputs to
[-1, 1] itself (`include_preprocessing=True`), so `preprocess_input` returns them unchanged.

The hard sigmoid is built as tf.keras builds it, from graph ops: `ReLU(6)(x + 3) * (1 / 6)`
(TFOpLambda layers `tf.__operators__.add`, `tf.math.multiply` around a ReLU layer)."""
import warnings

from .. import layers
from . import _builder, _common, imagenet_utils
from .mobilenet_v2 import make_divisible

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
# md5 of the published (top, no-top) weight files, by "<type>[_minimalistic]_224_<alpha>_float".
FILE_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb",
                             "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7",
                            "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c",
                                         "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7",
                             "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862",
                            "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37",
                                         "cde8136e733e811080d9fcd8a252f7e4"),
}
BN = {"epsilon": 1e-3, "momentum": 0.999}

# Per block: (expansion, output filters before alpha, kernel, stride, squeeze-excite, activation)
# where kernel "k" / activation "act" / squeeze-excite True stand for the model-wide choice
# (5 / hard-swish / 0.25, or 3 / ReLU / none when minimalistic).
SMALL_BLOCKS = (
    (1, 16, 3, 2, True, "relu"), (72.0 / 16, 24, 3, 2, False, "relu"),
    (88.0 / 24, 24, 3, 1, False, "relu"), (4, 40, "k", 2, True, "act"),
    (6, 40, "k", 1, True, "act"), (6, 40, "k", 1, True, "act"), (3, 48, "k", 1, True, "act"),
    (3, 48, "k", 1, True, "act"), (6, 96, "k", 2, True, "act"), (6, 96, "k", 1, True, "act"),
    (6, 96, "k", 1, True, "act"),
)
LARGE_BLOCKS = (
    (1, 16, 3, 1, False, "relu"), (4, 24, 3, 2, False, "relu"), (3, 24, 3, 1, False, "relu"),
    (3, 40, "k", 2, True, "relu"), (3, 40, "k", 1, True, "relu"), (3, 40, "k", 1, True, "relu"),
    (6, 80, 3, 2, False, "act"), (2.5, 80, 3, 1, False, "act"), (2.3, 80, 3, 1, False, "act"),
    (2.3, 80, 3, 1, False, "act"), (6, 112, 3, 1, True, "act"), (6, 112, 3, 1, True, "act"),
    (6, 160, "k", 2, True, "act"), (6, 160, "k", 1, True, "act"), (6, 160, "k", 1, True, "act"),
)


def relu(x):
    return layers.ReLU()(x)


def hard_sigmoid(x):
    """relu6(x + 3) / 6, recorded as tf.keras records it."""
    return layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)


def hard_swish(x):
    return layers.Multiply()([x, hard_sigmoid(x)])


def MobileNetV3(blocks, last_point_ch, input_shape=None, alpha=1.0, model_type="large",
                minimalistic=False, include_top=True, weights="imagenet", input_tensor=None,
                classes=1000, pooling=None, dropout_rate=0.2, classifier_activation="softmax",
                include_preprocessing=True):
    """The shared body of MobileNetV3Small/Large; `blocks` is SMALL_BLOCKS or LARGE_BLOCKS."""
    _check_weights_and_classes(weights, include_top, classes)
    _builder.check_pooling(pooling)
    input_shape = _input_shape(input_shape, input_tensor)
    rows, cols = _spatial(input_shape)
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"Input size must be at least 32x32; Received `input_shape={input_shape}`")
    if weights == "imagenet":
        if (not minimalistic and alpha not in (0.75, 1.0)) or (minimalistic and alpha != 1.0):
            raise ValueError("If imagenet weights are being loaded, alpha can be one of `0.75`, "
                             "`1.0` for non minimalistic or `1.0` for minimalistic only.")
        if rows != cols or rows != 224:
            warnings.warn("`input_shape` is undefined or non-square, or `rows` is not 224. "
                          "Weights for input shape (224, 224) will be loaded as the default.",
                          stacklevel=3)
    img_input = _builder.image_input(input_tensor, input_shape)
    axis = _channel_axis()
    if minimalistic:
        kernel, activation, se_ratio = 3, relu, None
    else:
        kernel, activation, se_ratio = 5, hard_swish, 0.25

    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, kernel_size=3, strides=(2, 2), padding="same", use_bias=False,
                      name="Conv")(x)
    x = layers.BatchNormalization(axis=axis, name="Conv/BatchNorm", **BN)(x)
    x = activation(x)
    for block_id, (expansion, filters, block_kernel, stride, has_se, block_act) in enumerate(blocks):
        x = _inverted_res_block(
            x, expansion, make_divisible(filters * alpha, 8),
            kernel if block_kernel == "k" else block_kernel, stride,
            se_ratio if has_se else None, activation if block_act == "act" else relu, block_id)

    last_conv_ch = make_divisible(tuple(x.shape)[axis] * 6, 8)
    if alpha > 1.0:
        last_point_ch = make_divisible(last_point_ch * alpha, 8)
    x = layers.Conv2D(last_conv_ch, kernel_size=1, padding="same", use_bias=False,
                      name="Conv_1")(x)
    x = layers.BatchNormalization(axis=axis, name="Conv_1/BatchNorm", **BN)(x)
    x = activation(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point_ch, kernel_size=1, padding="same", use_bias=True,
                          name="Conv_2")(x)
        x = activation(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, kernel_size=1, padding="same", name="Logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="Predictions")(x)
    else:
        x = _builder.global_pooling(x, pooling, avg_name="avg_pool", max_name="max_pool")
    file_name = file_hash = None
    if weights == "imagenet":
        key = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{alpha}_float"
        suffix = ".h5" if include_top else "_no_top_v2.h5"
        file_name = "weights_mobilenet_v3_" + key + suffix
        file_hash = FILE_HASHES[key][0 if include_top else 1]
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x,
                           "MobilenetV3" + model_type, weights, file_name,
                           ORIGIN_DIR + str(file_name), file_hash)


def _check_weights_and_classes(weights, include_top, classes):
    if not _common.weights_are_valid(weights):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `imagenet` (pre-training on ImageNet), or the path to "
                         f"the weights file to be loaded.  Received weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError('If using `weights` as `"imagenet"` with `include_top` as true, '
                         f"`classes` should be 1000.  Received classes={classes}")


def _input_shape(input_shape, input_tensor):
    """The requested shape checked against `input_tensor`, or the one it implies, or
    (None, None, 3): MobileNetV3 takes any image size by default."""
    channels_first = _builder.data_format() == "channels_first"
    if input_shape is not None and input_tensor is not None:
        shape = tuple(input_tensor.shape)
        if channels_first and shape[1] != input_shape[1]:
            raise ValueError("When backend.image_data_format()=channels_first, input_shape[1] "
                             "must equal backend.int_shape(input_tensor)[1].  Received "
                             f"input_shape={input_shape}, backend.int_shape(input_tensor)={shape}")
        if not channels_first and shape[2] != input_shape[1]:
            raise ValueError("input_shape[1] must equal backend.int_shape(input_tensor)[2].  "
                             f"Received input_shape={input_shape}, "
                             f"backend.int_shape(input_tensor)={shape}")
    if input_shape is None and input_tensor is not None:
        shape = tuple(input_tensor.shape)
        rows, cols = (shape[2], shape[3]) if channels_first else (shape[1], shape[2])
        # tf.keras puts the columns first here; it only matters for the size checks.
        input_shape = (3, cols, rows) if channels_first else (cols, rows, 3)
    if input_shape is None:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    return input_shape


def _spatial(input_shape):
    if _builder.data_format() == "channels_last":
        return input_shape[0], input_shape[1]
    return input_shape[1], input_shape[2]


def _se_block(inputs, filters, se_ratio, prefix):
    x = layers.GlobalAveragePooling2D(keepdims=True, name=prefix + "squeeze_excite/AvgPool")(inputs)
    x = layers.Conv2D(make_divisible(filters * se_ratio, 8), kernel_size=1, padding="same",
                      name=prefix + "squeeze_excite/Conv")(x)
    x = layers.ReLU(name=prefix + "squeeze_excite/Relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same",
                      name=prefix + "squeeze_excite/Conv_1")(x)
    x = hard_sigmoid(x)
    return layers.Multiply(name=prefix + "squeeze_excite/Mul")([inputs, x])


def _inverted_res_block(x, expansion, filters, kernel_size, stride, se_ratio, activation,
                        block_id):
    """1x1 expansion (not in block 0) -> depthwise -> squeeze-excite -> linear 1x1 (+ input)."""
    axis = _channel_axis()
    shortcut = x
    in_filters = tuple(x.shape)[axis]
    prefix = f"expanded_conv_{block_id}/" if block_id else "expanded_conv/"
    if block_id:
        x = layers.Conv2D(make_divisible(in_filters * expansion, 8), kernel_size=1,
                          padding="same", use_bias=False, name=prefix + "expand")(x)
        x = layers.BatchNormalization(axis=axis, name=prefix + "expand/BatchNorm", **BN)(x)
        x = activation(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel_size),
                                 name=prefix + "depthwise/pad")(x)
    x = layers.DepthwiseConv2D(kernel_size, strides=stride,
                               padding="same" if stride == 1 else "valid", use_bias=False,
                               name=prefix + "depthwise")(x)
    x = layers.BatchNormalization(axis=axis, name=prefix + "depthwise/BatchNorm", **BN)(x)
    x = activation(x)
    if se_ratio:
        x = _se_block(x, make_divisible(in_filters * expansion, 8), se_ratio, prefix)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False,
                      name=prefix + "project")(x)
    x = layers.BatchNormalization(axis=axis, name=prefix + "project/BatchNorm", **BN)(x)
    if stride == 1 and in_filters == filters:
        x = layers.Add(name=prefix + "Add")([shortcut, x])
    return x


def _channel_axis():
    return 1 if _builder.data_format() == "channels_first" else -1


def _variant(name, blocks, last_point_ch, model_type):
    def constructor(input_shape=None, alpha=1.0, minimalistic=False, include_top=True,
                    weights="imagenet", input_tensor=None, classes=1000, pooling=None,
                    dropout_rate=0.2, classifier_activation="softmax",
                    include_preprocessing=True):
        return MobileNetV3(blocks, last_point_ch, input_shape, alpha, model_type, minimalistic,
                           include_top, weights, input_tensor, classes, pooling, dropout_rate,
                           classifier_activation, include_preprocessing)
    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = (f"{name}; `alpha` scales the filters. ImageNet weights (224x224) exist "
                           "for alpha 0.75 and 1.0, and for alpha 1.0 when `minimalistic`. "
                           "Inputs are [0, 255] images when `include_preprocessing` (the "
                           "default), else [-1, 1].")
    return constructor


MobileNetV3Small = _variant("MobileNetV3Small", SMALL_BLOCKS, 1024, "small")
MobileNetV3Large = _variant("MobileNetV3Large", LARGE_BLOCKS, 1280, "large")


def preprocess_input(x, data_format=None):
    """A placeholder kept for API compatibility: MobileNetV3 models rescale their inputs."""
    return x


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
