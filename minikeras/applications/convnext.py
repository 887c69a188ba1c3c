"""ConvNeXt Tiny, Small, Base, Large, XLarge (Liu et al., 2022): a patchify stem, stages of
7x7 depthwise conv -> LayerNormalization -> pointwise MLP (Dense layers) with layer scale and
a residual. The models normalize [0, 255] images themselves (`include_preprocessing=True`), so
`preprocess_input` returns its input.

The stem and the three downsampling blocks are nested Sequential models, as in tf.keras
(`summary(expand_nested=True)` shows their layers)."""
import numbers

import numpy as np

from .. import initializers, layers, ops
from ..core.random import make_rng
from ..core.registry import register_builtins
from ..core.tensor import Tensor
from ..engine.base_layer import Layer
from ..models import Sequential
from . import _builder, _common, imagenet_utils

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/convnext/"
# sha256 of the published (top, no-top) weight files.
FILE_HASHES = {
    "convnext_tiny": ("8ae6e78ce2933352b1ef4008e6dd2f17bc40771563877d156bc6426c7cf503ff",
                      "d547c096cabd03329d7be5562c5e14798aa39ed24b474157cef5e85ab9e49ef1"),
    "convnext_small": ("ce1277d8f1ee5a0ef0e171469089c18f5233860ceaf9b168049cb9263fd7483c",
                       "6fc8009faa2f00c1c1dfce59feea9b0745eb260a7dd11bee65c8e20843da6eab"),
    "convnext_base": ("52cbb006d3dadd03f6e095a8ca1aca47aecdd75acb4bc74bce1f5c695d0086e6",
                      "40a20c5548a5e9202f69735ecc06c990e6b7c9d2de39f0361e27baeb24cb7c45"),
    "convnext_large": ("070c5ed9ed289581e477741d3b34beffa920db8cf590899d6d2c67fba2a198a6",
                       "96f02b6f0753d4f543261bc9d09bed650f24dd6bc02ddde3066135b63d23a1cd"),
    "convnext_xlarge": ("c1f5ccab661354fc3a79a10fa99af82f0fbf10ec65cb894a3ae0815f17a889ee",
                        "de3f8a54174130e0cecdc71583354753d557fcf1f4487331558e2a16ba0cfe05"),
}
MODEL_CONFIGS = {
    "tiny": {"depths": [3, 3, 9, 3], "projection_dims": [96, 192, 384, 768], "default_size": 224},
    "small": {"depths": [3, 3, 27, 3], "projection_dims": [96, 192, 384, 768],
              "default_size": 224},
    "base": {"depths": [3, 3, 27, 3], "projection_dims": [128, 256, 512, 1024],
             "default_size": 224},
    "large": {"depths": [3, 3, 27, 3], "projection_dims": [192, 384, 768, 1536],
              "default_size": 224},
    "xlarge": {"depths": [3, 3, 27, 3], "projection_dims": [256, 512, 1024, 2048],
               "default_size": 224},
}
IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


class StochasticDepth(Layer):
    """Drops the whole residual branch of a sample with probability `drop_path_rate` in
    training (the kept ones scaled by 1 / (1 - rate)); the identity at inference."""

    def __init__(self, drop_path_rate, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(drop_path_rate, numbers.Real) or not 0 <= drop_path_rate < 1:
            raise ValueError("`drop_path_rate` must be a float in [0, 1). "
                             f"Received: drop_path_rate={drop_path_rate}")
        self.drop_path_rate = drop_path_rate

    def call(self, x, training=None):
        if not training:
            return x
        keep_prob = 1 - self.drop_path_rate
        shape = (x.shape[0],) + (1,) * (len(x.shape) - 1)
        uniform = make_rng(None).uniform(0, 1, shape).astype(x.dtype)
        keep = Tensor(np.floor(np.asarray(keep_prob, x.dtype) + uniform))
        return ops.multiply(ops.divide(x, np.asarray(keep_prob, x.dtype)), keep)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"drop_path_rate": self.drop_path_rate})
        return config


class LayerScale(Layer):
    """Multiplies its input by a learned per-channel `gamma` (last axis, `projection_dim`
    entries), initialized to `init_values`."""

    def __init__(self, init_values, projection_dim, **kwargs):
        super().__init__(**kwargs)
        self.init_values = init_values
        self.projection_dim = projection_dim

    def build(self, input_shape):
        self.gamma = self.add_weight(name="gamma", shape=(self.projection_dim,),
                                     initializer=initializers.Constant(self.init_values),
                                     trainable=True)
        super().build(input_shape)

    def call(self, x):
        return ops.multiply(x, self.gamma)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"init_values": self.init_values, "projection_dim": self.projection_dim})
        return config


# tf.keras saves these under their bare class names; register them so such files load.
register_builtins("layers", {"StochasticDepth": StochasticDepth, "LayerScale": LayerScale})


def ConvNeXtBlock(projection_dim, drop_path_rate=0.0, layer_scale_init_value=1e-6, name=None):
    """Depthwise 7x7 conv, LayerNormalization, Dense x4 -> GELU -> Dense, layer scale, then
    `inputs + branch` (a `tf.__operators__.add` op layer). Returns a function of a tensor."""
    name = name or "prestem"

    def apply(inputs):
        x = layers.Conv2D(filters=projection_dim, kernel_size=7, padding="same",
                          groups=projection_dim, name=name + "_depthwise_conv")(inputs)
        x = layers.LayerNormalization(epsilon=1e-6, name=name + "_layernorm")(x)
        x = layers.Dense(4 * projection_dim, name=name + "_pointwise_conv_1")(x)
        x = layers.Activation("gelu", name=name + "_gelu")(x)
        x = layers.Dense(projection_dim, name=name + "_pointwise_conv_2")(x)
        if layer_scale_init_value is not None:
            x = LayerScale(layer_scale_init_value, projection_dim,
                           name=name + "_layer_scale")(x)
        if drop_path_rate:
            branch_end = StochasticDepth(drop_path_rate, name=name + "_stochastic_depth")
        else:
            branch_end = layers.Activation("linear", name=name + "_identity")
        return inputs + branch_end(x)
    return apply


def PreStem(name=None):
    """Normalizes [0, 255] inputs with the ImageNet-1k mean and std."""
    name = name or "prestem"

    def apply(x):
        return layers.Normalization(
            mean=[m * 255 for m in IMAGENET_MEAN_RGB],
            variance=[(s * 255) ** 2 for s in IMAGENET_STD_RGB],
            name=name + "_prestem_normalization")(x)
    return apply


def Head(num_classes=1000, classifier_activation=None, name=None):
    """Global average pooling, LayerNormalization, the Dense classifier."""
    name = name or "head"

    def apply(x):
        x = layers.GlobalAveragePooling2D(name=name + "_head_gap")(x)
        x = layers.LayerNormalization(epsilon=1e-6, name=name + "_head_layernorm")(x)
        return layers.Dense(num_classes, activation=classifier_activation,
                            name=name + "_head_dense")(x)
    return apply


def _downsampling_blocks(projection_dims, model_name):
    """The stem (4x4 patchify conv, LayerNormalization) and three (LayerNormalization, 2x2
    stride-2 conv) blocks, each a Sequential."""
    blocks = [Sequential([
        layers.Conv2D(projection_dims[0], kernel_size=4, strides=4,
                      name=model_name + "_stem_conv"),
        layers.LayerNormalization(epsilon=1e-6, name=model_name + "_stem_layernorm"),
    ], name=model_name + "_stem")]
    for i in range(3):
        blocks.append(Sequential([
            layers.LayerNormalization(epsilon=1e-6,
                                      name=f"{model_name}_downsampling_layernorm_{i}"),
            layers.Conv2D(projection_dims[i + 1], kernel_size=2, strides=2,
                          name=f"{model_name}_downsampling_conv_{i}"),
        ], name=f"{model_name}_downsampling_block_{i}"))
    return blocks


def ConvNeXt(depths, projection_dims, drop_path_rate=0.0, layer_scale_init_value=1e-6,
             default_size=224, model_name="convnext", include_preprocessing=True,
             include_top=True, weights=None, input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax"):
    """ConvNeXt from its per-stage depths and widths; the stochastic depth rate grows linearly
    from 0 to `drop_path_rate` over the blocks."""
    _common.check_weights_and_classes(weights, include_top, classes)
    _builder.check_pooling(pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=default_size, min_size=32, data_format=_builder.data_format(),
        require_flatten=include_top, weights=weights)
    img_input = _builder.image_input(input_tensor, input_shape)
    inputs = _common.source_input(input_tensor, img_input)
    x = inputs
    if include_preprocessing:
        axis = 3 if _builder.data_format() == "channels_last" else 1
        if input_shape[axis - 1] == 3:
            x = PreStem(name=model_name)(x)

    rates = [float(r) for r in np.linspace(0.0, drop_path_rate, sum(depths))]
    first_block = 0
    for stage, downsample in enumerate(_downsampling_blocks(projection_dims, model_name)):
        x = downsample(x)
        for j in range(depths[stage]):
            x = ConvNeXtBlock(projection_dim=projection_dims[stage],
                              drop_path_rate=rates[first_block + j],
                              layer_scale_init_value=layer_scale_init_value,
                              name=f"{model_name}_stage_{stage}_block_{j}")(x)
        first_block += depths[stage]

    if include_top:
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = Head(num_classes=classes, classifier_activation=classifier_activation,
                 name=model_name)(x)
    else:
        x = _builder.global_pooling(x, pooling)
        x = layers.LayerNormalization(epsilon=1e-6)(x)
    file_name = file_hash = None
    if weights == "imagenet":
        file_name = model_name + (".h5" if include_top else "_notop.h5")
        file_hash = FILE_HASHES[model_name][0 if include_top else 1]
    return _builder.finish(inputs, x, model_name, weights, file_name,
                           ORIGIN_DIR + str(file_name), file_hash)


def _variant(name, size_name):
    config = MODEL_CONFIGS[size_name]

    def constructor(model_name=f"convnext_{size_name}", include_top=True,
                    include_preprocessing=True, weights="imagenet", input_tensor=None,
                    input_shape=None, pooling=None, classes=1000,
                    classifier_activation="softmax"):
        return ConvNeXt(depths=config["depths"], projection_dims=config["projection_dims"],
                        drop_path_rate=0.0, layer_scale_init_value=1e-6,
                        default_size=config["default_size"], model_name=model_name,
                        include_top=include_top, include_preprocessing=include_preprocessing,
                        weights=weights, input_tensor=input_tensor, input_shape=input_shape,
                        pooling=pooling, classes=classes,
                        classifier_activation=classifier_activation)
    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = (f"{name}: stage depths {config['depths']}, widths "
                           f"{config['projection_dims']}; [0, 255] image inputs when "
                           "`include_preprocessing` (the default).")
    return constructor


ConvNeXtTiny = _variant("ConvNeXtTiny", "tiny")
ConvNeXtSmall = _variant("ConvNeXtSmall", "small")
ConvNeXtBase = _variant("ConvNeXtBase", "base")
ConvNeXtLarge = _variant("ConvNeXtLarge", "large")
ConvNeXtXLarge = _variant("ConvNeXtXLarge", "xlarge")


def preprocess_input(x, data_format=None):
    """A placeholder kept for API compatibility: ConvNeXt models normalize their inputs."""
    return x


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
