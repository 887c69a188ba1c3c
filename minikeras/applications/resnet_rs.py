"""ResNet-RS 50 to 420 (Bello et al., 2021): ResNet-D bottleneck blocks with
squeeze-and-excitation, a four-conv stem, average-pooled projection shortcuts. The models
normalize [0, 255] images themselves (`include_preprocessing=True`), so `preprocess_input`
returns its input.

`weights` may also name one of the published resolutions of a depth ("imagenet-i160", ...);
"imagenet" takes the largest. As in tf.keras, the stem and the padding layers take session
counters in their names ("stem_1", "zero_padding2d_3")."""
import sys

from .. import layers
from ..core.session import get_uid
from . import _builder, _common, imagenet_utils
from .efficientnet import CONV_KERNEL_INITIALIZER

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/resnet_rs/"
# md5 of the published weight files.
FILE_HASHES = {
    "resnet-rs-101-i160.h5": "544b3434d00efc199d66e9058c7f3379",
    "resnet-rs-101-i160_notop.h5": "82d5b90c5ce9d710da639d6216d0f979",
    "resnet-rs-101-i192.h5": "eb285be29ab42cf4835ff20a5e3b5d23",
    "resnet-rs-101-i192_notop.h5": "f9a0f6b85faa9c3db2b6e233c4eebb5b",
    "resnet-rs-152-i192.h5": "8d72a301ed8a6f11a47c4ced4396e338",
    "resnet-rs-152-i192_notop.h5": "5fbf7ac2155cb4d5a6180ee9e3aa8704",
    "resnet-rs-152-i224.h5": "31a46a92ab21b84193d0d71dd8c3d03b",
    "resnet-rs-152-i224_notop.h5": "dc8b2cba2005552eafa3167f00dc2133",
    "resnet-rs-152-i256.h5": "ba6271b99bdeb4e7a9b15c05964ef4ad",
    "resnet-rs-152-i256_notop.h5": "fa79794252dbe47c89130f65349d654a",
    "resnet-rs-200-i256.h5": "a76930b741884e09ce90fa7450747d5f",
    "resnet-rs-200-i256_notop.h5": "bbdb3994718dfc0d1cd45d7eff3f3d9c",
    "resnet-rs-270-i256.h5": "20d575825ba26176b03cb51012a367a8",
    "resnet-rs-270-i256_notop.h5": "2c42ecb22e35f3e23d2f70babce0a2aa",
    "resnet-rs-350-i256.h5": "f4a039dc3c421321b7fc240494574a68",
    "resnet-rs-350-i256_notop.h5": "6e44b55025bbdff8f51692a023143d66",
    "resnet-rs-350-i320.h5": "7ccb858cc738305e8ceb3c0140bee393",
    "resnet-rs-350-i320_notop.h5": "ab0c1f9079d2f85a9facbd2c88aa6079",
    "resnet-rs-420-i320.h5": "ae0eb9bed39e64fc8d7e0db4018dc7e8",
    "resnet-rs-420-i320_notop.h5": "fe6217c32be8305b1889657172b98884",
    "resnet-rs-50-i160.h5": "69d9d925319f00a8bdd4af23c04e4102",
    "resnet-rs-50-i160_notop.h5": "90daa68cd26c95aa6c5d25451e095529",
}
DEPTH_TO_WEIGHT_VARIANTS = {50: [160], 101: [160, 192], 152: [192, 224, 256], 200: [256],
                            270: [256], 350: [256, 320], 420: [320]}
_REPEATS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3), 200: (3, 24, 36, 3),
            270: (4, 29, 53, 4), 350: (4, 36, 72, 4), 420: (4, 44, 87, 4)}
BLOCK_ARGS = {depth: [{"input_filters": filters, "num_repeats": repeats}
                      for filters, repeats in zip((64, 128, 256, 512), stage_repeats)]
              for depth, stage_repeats in _REPEATS.items()}
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


def fixed_padding(inputs, kernel_size):
    """Zero padding of kernel_size - 1 pixels (the smaller half before)."""
    before = (kernel_size - 1) // 2
    after = kernel_size - 1 - before
    return layers.ZeroPadding2D(padding=((before, after), (before, after)))(inputs)


def Conv2DFixedPadding(filters, kernel_size, strides, name=None):
    """A bias-free conv; strided ones pad explicitly and use 'valid' padding."""
    if name is None:
        name = f"conv_{get_uid('conv_')}"

    def apply(inputs):
        if strides > 1:
            inputs = fixed_padding(inputs, kernel_size)
        return layers.Conv2D(filters=filters, kernel_size=kernel_size, strides=strides,
                             padding="same" if strides == 1 else "valid", use_bias=False,
                             kernel_initializer=CONV_KERNEL_INITIALIZER, name=name)(inputs)
    return apply


def _bn(name, bn_momentum, bn_epsilon):
    return layers.BatchNormalization(axis=_builder.channel_axis(), momentum=bn_momentum,
                                     epsilon=bn_epsilon, name=name)


def STEM(bn_momentum=0.0, bn_epsilon=1e-5, activation="relu", name=None):
    """Four 3x3 convs (32, 32, 64, 64 filters; the first and last with stride 2)."""
    if name is None:
        name = f"stem_{get_uid('stem_')}"

    def apply(inputs):
        x = inputs
        for i, (filters, strides) in enumerate(((32, 2), (32, 1), (64, 1), (64, 2)), start=1):
            x = Conv2DFixedPadding(filters=filters, kernel_size=3, strides=strides,
                                   name=f"{name}_stem_conv_{i}")(x)
            x = _bn(f"{name}_stem_batch_norm_{i}", bn_momentum, bn_epsilon)(x)
            x = layers.Activation(activation, name=f"{name}_stem_act_{i}")(x)
        return x
    return apply


def SE(in_filters, se_ratio=0.25, expand_ratio=1, name=None):
    """Squeeze-and-excitation of a bottleneck's 4 * in_filters output channels."""
    if name is None:
        name = f"se_{get_uid('se_')}"

    def apply(inputs):
        x = layers.GlobalAveragePooling2D(name=name + "_se_squeeze")(inputs)
        channels = x.shape[-1]
        se_shape = (channels, 1, 1) if _builder.channel_axis() == 1 else (1, 1, channels)
        x = layers.Reshape(se_shape, name=name + "_se_reshape")(x)
        x = layers.Conv2D(filters=max(1, int(in_filters * 4 * se_ratio)), kernel_size=[1, 1],
                          strides=[1, 1], kernel_initializer=CONV_KERNEL_INITIALIZER,
                          padding="same", use_bias=True, activation="relu",
                          name=name + "_se_reduce")(x)
        x = layers.Conv2D(filters=4 * in_filters * expand_ratio, kernel_size=[1, 1],
                          strides=[1, 1], kernel_initializer=CONV_KERNEL_INITIALIZER,
                          padding="same", use_bias=True, activation="sigmoid",
                          name=name + "_se_expand")(x)
        return layers.multiply([inputs, x], name=name + "_se_excite")
    return apply


def BottleneckBlock(filters, strides, use_projection, bn_momentum=0.0, bn_epsilon=1e-5,
                    activation="relu", se_ratio=0.25, survival_probability=0.8, name=None):
    """1x1 -> 3x3 (strided) -> 1x1 (x4 filters), squeeze-excite, residual."""
    if name is None:
        name = f"block_0_{get_uid('block_0_')}"

    def apply(inputs):
        shortcut = inputs
        if use_projection:
            if strides == 2:
                shortcut = layers.AveragePooling2D(pool_size=(2, 2), strides=(2, 2),
                                                   padding="same",
                                                   name=name + "_projection_pooling")(inputs)
                shortcut = Conv2DFixedPadding(filters * 4, 1, 1,
                                              name=name + "_projection_conv")(shortcut)
            else:
                shortcut = Conv2DFixedPadding(filters * 4, 1, strides,
                                              name=name + "_projection_conv")(inputs)
            shortcut = _bn(name + "_projection_batch_norm", bn_momentum, bn_epsilon)(shortcut)
        x = Conv2DFixedPadding(filters, 1, 1, name=name + "_conv_1")(inputs)
        # tf.keras names this one without the underscore the others have.
        x = _bn(name + "batch_norm_1", bn_momentum, bn_epsilon)(x)
        x = layers.Activation(activation, name=name + "_act_1")(x)
        x = Conv2DFixedPadding(filters, 3, strides, name=name + "_conv_2")(x)
        x = _bn(name + "_batch_norm_2", bn_momentum, bn_epsilon)(x)
        x = layers.Activation(activation, name=name + "_act_2")(x)
        x = Conv2DFixedPadding(filters * 4, 1, 1, name=name + "_conv_3")(x)
        x = _bn(name + "_batch_norm_3", bn_momentum, bn_epsilon)(x)
        if 0 < se_ratio < 1:
            x = SE(filters, se_ratio=se_ratio, name=name + "_se")(x)
        if survival_probability:
            # tf.keras uses the survival probability as the Dropout rate.
            x = layers.Dropout(survival_probability, noise_shape=(None, 1, 1, 1),
                               name=name + "_drop")(x)
        x = layers.Add()([x, shortcut])
        return layers.Activation(activation, name=name + "_output_act")(x)
    return apply


def BlockGroup(filters, strides, num_repeats, se_ratio=0.25, bn_epsilon=1e-5, bn_momentum=0.0,
               activation="relu", survival_probability=0.8, name=None):
    """A projecting bottleneck block, then num_repeats - 1 plain ones."""
    if name is None:
        name = f"block_group_{get_uid('block_group_')}"

    def apply(inputs):
        common = {"filters": filters, "se_ratio": se_ratio, "bn_epsilon": bn_epsilon,
                  "bn_momentum": bn_momentum, "activation": activation,
                  "survival_probability": survival_probability}
        x = BottleneckBlock(strides=strides, use_projection=True, name=name + "_block_0_",
                            **common)(inputs)
        for i in range(1, num_repeats):
            x = BottleneckBlock(strides=1, use_projection=False, name=name + f"_block_{i}_",
                                **common)(x)
        return x
    return apply


def get_survival_probability(init_rate, block_num, total_blocks):
    return init_rate * float(block_num) / total_blocks


def allow_bigger_recursion(target_limit):
    """The deepest variants build through deep recursion in tf.keras; keep the same room."""
    if sys.getrecursionlimit() < target_limit:
        sys.setrecursionlimit(target_limit)


def ResNetRS(depth, input_shape=None, bn_momentum=0.0, bn_epsilon=1e-5, activation="relu",
             se_ratio=0.25, dropout_rate=0.25, drop_connect_rate=0.2, include_top=True,
             block_args=None, model_name="resnet-rs", pooling=None, weights="imagenet",
             input_tensor=None, classes=1000, classifier_activation="softmax",
             include_preprocessing=True):
    """ResNet-RS of a given depth (a key of BLOCK_ARGS unless `block_args` is given)."""
    variants = DEPTH_TO_WEIGHT_VARIANTS[depth]
    if weights == "imagenet":
        weights = f"imagenet-i{max(variants)}"
    allowed = [f"imagenet-i{size}" for size in variants]
    if not (weights in allowed or _common.weights_are_valid(weights)):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `'imagenet'` (pre-training on ImageNet, with highest "
                         "available input shape), or the path to the weights file to be loaded. "
                         f"For ResNetRS{depth} the following weight variants are available "
                         f"{allowed} (default=highest). Received weights={weights}")
    if weights in allowed and include_top and classes != 1000:
        raise ValueError(f"If using `weights` as `'imagenet'` or any of {allowed} with "
                         f"`include_top` as true, `classes` should be 1000. Received "
                         f"classes={classes}")
    _builder.check_pooling(pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=_builder.data_format(),
        require_flatten=include_top, weights=weights)
    img_input = _builder.image_input(input_tensor, input_shape)
    axis = 3 if _builder.data_format() == "channels_last" else 1
    x = img_input
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 255)(x)
        if input_shape[axis - 1] == 3:
            x = layers.Normalization(mean=list(IMAGENET_MEAN_RGB),
                                     variance=[s ** 2 for s in IMAGENET_STD_RGB], axis=axis)(x)
    x = STEM(bn_momentum=bn_momentum, bn_epsilon=bn_epsilon, activation=activation)(x)
    block_args = BLOCK_ARGS[depth] if block_args is None else block_args
    for i, args in enumerate(block_args):
        x = BlockGroup(filters=args["input_filters"], activation=activation,
                       strides=1 if i == 0 else 2, num_repeats=args["num_repeats"],
                       se_ratio=se_ratio, bn_momentum=bn_momentum, bn_epsilon=bn_epsilon,
                       survival_probability=get_survival_probability(
                           drop_connect_rate, i + 2, len(block_args) + 1),
                       name=f"BlockGroup{i + 2}_")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _builder.global_pooling(x, pooling, avg_name="avg_pool", max_name="max_pool")
    file_name = None
    if weights in allowed:
        file_name = f"{model_name}-{weights.split('-')[-1]}{'' if include_top else '_notop'}.h5"
        weights = "imagenet"
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x, model_name,
                           weights, file_name, ORIGIN_DIR + str(file_name),
                           FILE_HASHES.get(file_name))


def _variant(depth, drop_connect_rate, dropout_rate, recursion_limit=None):
    name = f"ResNetRS{depth}"

    def constructor(include_top=True, weights="imagenet", classes=1000, input_shape=None,
                    input_tensor=None, pooling=None, classifier_activation="softmax",
                    include_preprocessing=True):
        if recursion_limit:
            allow_bigger_recursion(recursion_limit)
        return ResNetRS(depth=depth, include_top=include_top,
                        drop_connect_rate=drop_connect_rate, dropout_rate=dropout_rate,
                        weights=weights, classes=classes, input_shape=input_shape,
                        input_tensor=input_tensor, pooling=pooling,
                        classifier_activation=classifier_activation,
                        model_name=f"resnet-rs-{depth}",
                        include_preprocessing=include_preprocessing)
    constructor.__name__ = constructor.__qualname__ = name
    sizes = ", ".join(f"'imagenet-i{s}'" for s in DEPTH_TO_WEIGHT_VARIANTS[depth])
    constructor.__doc__ = (f"{name}; ImageNet weights: {sizes} ('imagenet' is the last). "
                           "[0, 255] image inputs when `include_preprocessing` (the default).")
    return constructor


ResNetRS50 = _variant(50, 0.0, 0.25)
ResNetRS101 = _variant(101, 0.0, 0.25)
ResNetRS152 = _variant(152, 0.0, 0.25)
ResNetRS200 = _variant(200, 0.1, 0.25)
ResNetRS270 = _variant(270, 0.1, 0.25, 1300)
ResNetRS350 = _variant(350, 0.1, 0.4, 1500)
ResNetRS420 = _variant(420, 0.1, 0.4, 1800)


def preprocess_input(x, data_format=None):
    """A placeholder kept for API compatibility: ResNet-RS models normalize their inputs."""
    return x


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
