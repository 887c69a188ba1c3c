"""Xception (Chollet, 2017): depthwise-separable convolutions with residual connections in
entry, middle (8 blocks) and exit flows. `preprocess_input`: 'tf' mode."""
from .. import layers
from . import _builder, imagenet_utils

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/xception/"
FILE_HASHES = {"xception_weights_tf_dim_ordering_tf_kernels.h5": "0a58e3b7378bc2990ea3b43d5981f1f6",
               "xception_weights_tf_dim_ordering_tf_kernels_notop.h5":
               "b0042744bf5b25fce3cb969f33bebb97"}


def Xception(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax"):
    """Xception for 299x299 RGB images (at least 71x71; 'tf' preprocessing)."""
    _builder.check_weights_and_classes(weights, include_top, classes)
    _builder.check_pooling(pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=299, min_size=71, data_format=_builder.data_format(),
        require_flatten=include_top, weights=weights)
    img_input = _builder.image_input(input_tensor, input_shape)

    x = layers.Conv2D(32, (3, 3), strides=(2, 2), use_bias=False, name="block1_conv1")(img_input)
    x = layers.Activation("relu", name="block1_conv1_act")(_bn(x, "block1_conv1_bn"))
    x = layers.Conv2D(64, (3, 3), use_bias=False, name="block1_conv2")(x)
    x = layers.Activation("relu", name="block1_conv2_act")(_bn(x, "block1_conv2_bn"))
    # Entry flow: block 2 has no leading ReLU (its input already went through one).
    x = _downsampling_block(x, (128, 128), "block2", first_activation=False)
    x = _downsampling_block(x, (256, 256), "block3")
    x = _downsampling_block(x, (728, 728), "block4")
    for index in range(8):
        x = _middle_block(x, f"block{index + 5}")
    x = _downsampling_block(x, (728, 1024), "block13")
    x = _sepconv(x, 1536, "block14_sepconv1")
    x = layers.Activation("relu", name="block14_sepconv1_act")(x)
    x = _sepconv(x, 2048, "block14_sepconv2")
    x = layers.Activation("relu", name="block14_sepconv2_act")(x)

    if include_top:
        x = _builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = _builder.global_pooling(x, pooling)
    file_name = f"xception_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x, "xception",
                           weights, file_name, ORIGIN_DIR + str(file_name), FILE_HASHES[file_name])


def _channel_axis():
    return 1 if _builder.data_format() == "channels_first" else -1


def _bn(x, name=None):
    return layers.BatchNormalization(axis=_channel_axis(), name=name)(x)


def _sepconv(x, filters, name):
    x = layers.SeparableConv2D(filters, (3, 3), padding="same", use_bias=False, name=name)(x)
    return _bn(x, name + "_bn")


def _downsampling_block(x, filters, prefix, first_activation=True):
    """Two separable convolutions + stride-2 max pooling, plus a strided 1x1 shortcut."""
    residual = layers.Conv2D(filters[1], (1, 1), strides=(2, 2), padding="same",
                             use_bias=False)(x)
    residual = _bn(residual)
    if first_activation:
        x = layers.Activation("relu", name=prefix + "_sepconv1_act")(x)
    x = _sepconv(x, filters[0], prefix + "_sepconv1")
    x = layers.Activation("relu", name=prefix + "_sepconv2_act")(x)
    x = _sepconv(x, filters[1], prefix + "_sepconv2")
    x = layers.MaxPooling2D((3, 3), strides=(2, 2), padding="same", name=prefix + "_pool")(x)
    return layers.add([x, residual])


def _middle_block(x, prefix):
    residual = x
    for index in (1, 2, 3):
        x = layers.Activation("relu", name=f"{prefix}_sepconv{index}_act")(x)
        x = _sepconv(x, 728, f"{prefix}_sepconv{index}")
    return layers.add([x, residual])


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
