"""EfficientNetV2 B0-B3, S, M, L (Tan & Le, 2021): Fused-MBConv blocks in the early stages,
MBConv with squeeze-and-excitation later. The models take [0, 255] images and preprocess
them themselves (`include_preprocessing=True`), so `preprocess_input` returns its input."""
import copy
import math

from .. import initializers, layers
from . import _builder, _common, imagenet_utils
from .efficientnet import CONV_KERNEL_INITIALIZER, DENSE_KERNEL_INITIALIZER

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/efficientnet_v2/"
# md5 of the published (top, no-top) weight files, by the last two characters of the name.
FILE_HASHES = {
    "b0": ("21ecbf6da12460d5c40bb2f29ceb2188", "893217f2bb855e2983157299931e43ff"),
    "b1": ("069f0534ff22adf035c89e2d9547a9dc", "0e80663031ca32d657f9caa404b6ec37"),
    "b2": ("424e49f28180edbde1e94797771950a7", "1dfe2e7a5d45b6632553a8961ea609eb"),
    "b3": ("1f1fc43bd98a6e4fd8fdfd551e02c7a0", "f6abf7b5849ac99a89b50dd3fd532856"),
    "-s": ("e1d88a8495beba45748fedd0cecbe016", "af0682fb74e8c54910f2d4393339c070"),
    "-m": ("a3bf6aa3276309f4fc6a34aa114c95cd", "1b8dc055df72dde80d614482840fe342"),
    "-l": ("27e6d408b53c7ebc868fefa357689935", "b0b66b5c863aef5b46e8608fe1711615"),
}
BLOCK_KEYS = ("kernel_size", "num_repeat", "input_filters", "output_filters", "expand_ratio",
              "se_ratio", "strides", "conv_type")
# One row per stage, in BLOCK_KEYS order; conv_type 1 is Fused-MBConv, 0 is MBConv.
_B_STAGES = ((3, 1, 32, 16, 1, 0, 1, 1), (3, 2, 16, 32, 4, 0, 2, 1), (3, 2, 32, 48, 4, 0, 2, 1),
             (3, 3, 48, 96, 4, 0.25, 2, 0), (3, 5, 96, 112, 6, 0.25, 1, 0),
             (3, 8, 112, 192, 6, 0.25, 2, 0))
_STAGES = {
    "efficientnetv2-s": ((3, 2, 24, 24, 1, 0.0, 1, 1), (3, 4, 24, 48, 4, 0.0, 2, 1),
                         (3, 4, 48, 64, 4, 0, 2, 1), (3, 6, 64, 128, 4, 0.25, 2, 0),
                         (3, 9, 128, 160, 6, 0.25, 1, 0), (3, 15, 160, 256, 6, 0.25, 2, 0)),
    "efficientnetv2-m": ((3, 3, 24, 24, 1, 0, 1, 1), (3, 5, 24, 48, 4, 0, 2, 1),
                         (3, 5, 48, 80, 4, 0, 2, 1), (3, 7, 80, 160, 4, 0.25, 2, 0),
                         (3, 14, 160, 176, 6, 0.25, 1, 0), (3, 18, 176, 304, 6, 0.25, 2, 0),
                         (3, 5, 304, 512, 6, 0.25, 1, 0)),
    "efficientnetv2-l": ((3, 4, 32, 32, 1, 0, 1, 1), (3, 7, 32, 64, 4, 0, 2, 1),
                         (3, 7, 64, 96, 4, 0, 2, 1), (3, 10, 96, 192, 4, 0.25, 2, 0),
                         (3, 19, 192, 224, 6, 0.25, 1, 0), (3, 25, 224, 384, 6, 0.25, 2, 0),
                         (3, 7, 384, 640, 6, 0.25, 1, 0)),
    **{f"efficientnetv2-b{i}": _B_STAGES for i in range(4)},
}
DEFAULT_BLOCKS_ARGS = {name: [dict(zip(BLOCK_KEYS, row)) for row in rows]
                       for name, rows in _STAGES.items()}
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


def round_filters(filters, width_coefficient, min_depth, depth_divisor):
    """`filters` scaled by the width coefficient, rounded to a multiple of `depth_divisor`."""
    filters *= width_coefficient
    minimum = min_depth or depth_divisor
    return int(max(minimum, int(filters + depth_divisor / 2) // depth_divisor * depth_divisor))


def round_repeats(repeats, depth_coefficient):
    return int(math.ceil(depth_coefficient * repeats))


def _bn(name, bn_momentum):
    return layers.BatchNormalization(axis=_builder.channel_axis(), momentum=bn_momentum,
                                     name=name)


def _conv(filters, kernel_size, name, strides=1, **kwargs):
    return layers.Conv2D(filters, kernel_size, strides=strides, padding="same", use_bias=False,
                         kernel_initializer=CONV_KERNEL_INITIALIZER, name=name, **kwargs)


def _squeeze_excite(x, filters, input_filters, se_ratio, activation, name):
    filters_se = max(1, int(input_filters * se_ratio))
    se = layers.GlobalAveragePooling2D(name=name + "se_squeeze")(x)
    se_shape = (filters, 1, 1) if _builder.channel_axis() == 1 else (1, 1, filters)
    se = layers.Reshape(se_shape, name=name + "se_reshape")(se)
    se = layers.Conv2D(filters_se, 1, padding="same", activation=activation,
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=name + "se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid",
                       kernel_initializer=CONV_KERNEL_INITIALIZER, name=name + "se_expand")(se)
    return layers.multiply([x, se], name=name + "se_excite")


def _residual(x, inputs, survival_probability, name):
    # tf.keras uses the survival probability as the Dropout rate; the first block (0) has none.
    if survival_probability:
        x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1), name=name + "drop")(x)
    return layers.add([x, inputs], name=name + "add")


def MBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1,
                se_ratio=0.0, bn_momentum=0.9, activation="swish", survival_probability=0.8,
                name=None):
    """1x1 expansion, depthwise conv, squeeze-and-excitation, linear 1x1 projection (+ input).
    Returns a function of the block's input tensor."""
    name = name or "block0"

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv(filters, 1, name + "expand_conv")(x)
            x = _bn(name + "expand_bn", bn_momentum)(x)
            x = layers.Activation(activation, name=name + "expand_activation")(x)
        x = layers.DepthwiseConv2D(kernel_size, strides=strides, padding="same", use_bias=False,
                                   depthwise_initializer=CONV_KERNEL_INITIALIZER,
                                   name=name + "dwconv2")(x)
        x = _bn(name + "bn", bn_momentum)(x)
        x = layers.Activation(activation, name=name + "activation")(x)
        if 0 < se_ratio <= 1:
            x = _squeeze_excite(x, filters, input_filters, se_ratio, activation, name)
        x = _conv(output_filters, 1, name + "project_conv")(x)
        x = _bn(name + "project_bn", bn_momentum)(x)
        if strides == 1 and input_filters == output_filters:
            x = _residual(x, inputs, survival_probability, name)
        return x
    return apply


def FusedMBConvBlock(input_filters, output_filters, expand_ratio=1, kernel_size=3, strides=1,
                     se_ratio=0.0, bn_momentum=0.9, activation="swish",
                     survival_probability=0.8, name=None):
    """The expansion and depthwise convs fused in one full conv (or, without expansion, the
    projection takes the kernel and stride). Returns a function of the block's input tensor."""
    name = name or "block0"

    def apply(inputs):
        filters = input_filters * expand_ratio
        x = inputs
        if expand_ratio != 1:
            x = _conv(filters, kernel_size, name + "expand_conv", strides=strides)(x)
            x = _bn(name + "expand_bn", bn_momentum)(x)
            x = layers.Activation(activation=activation, name=name + "expand_activation")(x)
        if 0 < se_ratio <= 1:
            x = _squeeze_excite(x, filters, input_filters, se_ratio, activation, name)
        fused = expand_ratio == 1
        x = _conv(output_filters, kernel_size if fused else 1, name + "project_conv",
                  strides=strides if fused else 1)(x)
        x = _bn(name + "project_bn", bn_momentum)(x)
        if fused:
            x = layers.Activation(activation=activation, name=name + "project_activation")(x)
        if strides == 1 and input_filters == output_filters:
            x = _residual(x, inputs, survival_probability, name)
        return x
    return apply


def EfficientNetV2(width_coefficient, depth_coefficient, default_size, dropout_rate=0.2,
                   drop_connect_rate=0.2, depth_divisor=8, min_depth=8, bn_momentum=0.9,
                   activation="swish", blocks_args="default", model_name="efficientnetv2",
                   include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                   pooling=None, classes=1000, classifier_activation="softmax",
                   include_preprocessing=True):
    """EfficientNetV2 from scaling coefficients and per-stage block arguments (dicts with the
    keys of BLOCK_KEYS; "default" takes the table of `model_name`)."""
    if blocks_args == "default":
        blocks_args = DEFAULT_BLOCKS_ARGS[model_name]
    if not _common.weights_are_valid(weights):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `imagenet` (pre-training on ImageNet), or the path to "
                         f"the weights file to be loaded.Received: weights={weights}")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights` as `'imagenet'` with `include_top` as true, "
                         f"`classes` should be 1000Received: classes={classes}")
    _builder.check_pooling(pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, data_format=_builder.data_format(),
        require_flatten=include_top, weights=weights)
    img_input = _builder.image_input(input_tensor, input_shape)
    axis = 3 if _builder.data_format() == "channels_last" else 1

    def scaled(filters):
        return round_filters(filters, width_coefficient, min_depth, depth_divisor)

    x = img_input
    if include_preprocessing:
        if model_name.split("-")[-1].startswith("b") and input_shape[axis - 1] == 3:
            # The B variants keep EfficientNet (V1)'s ImageNet normalization.
            x = layers.Rescaling(scale=1.0 / 255)(x)
            x = layers.Normalization(mean=list(IMAGENET_MEAN_RGB),
                                     variance=[s ** 2 for s in IMAGENET_STD_RGB], axis=axis)(x)
        else:
            x = layers.Rescaling(scale=1.0 / 128.0, offset=-1)(x)
    x = _conv(scaled(blocks_args[0]["input_filters"]), 3, "stem_conv", strides=2)(x)
    x = _bn("stem_bn", bn_momentum)(x)
    x = layers.Activation(activation, name="stem_activation")(x)

    blocks_args = copy.deepcopy(blocks_args)
    total_blocks = float(sum(args["num_repeat"] for args in blocks_args))
    block_index = 0
    for stage, args in enumerate(blocks_args):
        if args["num_repeat"] <= 0:
            raise ValueError(f"Each stage needs num_repeat > 0; Received {args}")
        args["input_filters"] = scaled(args["input_filters"])
        args["output_filters"] = scaled(args["output_filters"])
        block = {0: MBConvBlock, 1: FusedMBConvBlock}[args.pop("conv_type")]
        for repeat in range(round_repeats(args.pop("num_repeat"), depth_coefficient)):
            if repeat > 0:
                args["strides"] = 1
                args["input_filters"] = args["output_filters"]
            x = block(activation=activation, bn_momentum=bn_momentum,
                      survival_probability=drop_connect_rate * block_index / total_blocks,
                      name=f"block{stage + 1}{chr(repeat + 97)}_", **args)(x)
            block_index += 1

    x = _conv(scaled(1280), 1, "top_conv")(x)
    x = _bn("top_bn", bn_momentum)(x)
    x = layers.Activation(activation=activation, name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation,
                         kernel_initializer=DENSE_KERNEL_INITIALIZER,
                         bias_initializer=initializers.Constant(0), name="predictions")(x)
    else:
        x = _builder.global_pooling(x, pooling, avg_name="avg_pool", max_name="max_pool")
    file_name = file_hash = None
    if weights == "imagenet":
        file_name = model_name + (".h5" if include_top else "_notop.h5")
        file_hash = FILE_HASHES[model_name[-2:]][0 if include_top else 1]
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x, model_name,
                           weights, file_name, ORIGIN_DIR + str(file_name), file_hash)


def _variant(name, width, depth, size):
    model_name = "efficientnetv2-" + name[len("EfficientNetV2"):].lower()

    def constructor(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                    pooling=None, classes=1000, classifier_activation="softmax",
                    include_preprocessing=True):
        return EfficientNetV2(width, depth, size, model_name=model_name,
                              include_top=include_top, weights=weights,
                              input_tensor=input_tensor, input_shape=input_shape,
                              pooling=pooling, classes=classes,
                              classifier_activation=classifier_activation,
                              include_preprocessing=include_preprocessing)
    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = (f"{name}: width x{width}, depth x{depth}, {size}x{size} inputs "
                           "([0, 255] images when `include_preprocessing`, the default).")
    return constructor


EfficientNetV2B0 = _variant("EfficientNetV2B0", 1.0, 1.0, 224)
EfficientNetV2B1 = _variant("EfficientNetV2B1", 1.0, 1.1, 240)
EfficientNetV2B2 = _variant("EfficientNetV2B2", 1.1, 1.2, 260)
EfficientNetV2B3 = _variant("EfficientNetV2B3", 1.2, 1.4, 300)
EfficientNetV2S = _variant("EfficientNetV2S", 1.0, 1.0, 384)
EfficientNetV2M = _variant("EfficientNetV2M", 1.0, 1.0, 480)
EfficientNetV2L = _variant("EfficientNetV2L", 1.0, 1.0, 480)


def preprocess_input(x, data_format=None):
    """A placeholder kept for API compatibility: EfficientNetV2 models preprocess their inputs."""
    return x


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
