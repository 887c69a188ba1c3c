"""InceptionResNetV2 (Szegedy et al., 2016): inception branches whose 1x1-projected sum is added,
scaled, to the block input (blocks 35, 17 and 8). `preprocess_input`: 'tf' mode."""
from .. import layers
from ..core.registry import register_keras_serializable
from . import _builder, imagenet_utils

ORIGIN_DIR = ("https://storage.googleapis.com/tensorflow/keras-applications/"
              "inception_resnet_v2/")
FILE_HASHES = {"inception_resnet_v2_weights_tf_dim_ordering_tf_kernels.h5":
               "e693bd0210a403b3192acc6073ad2e96",
               "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5":
               "d19885ff4a710c122648d3b5c3b684e4"}


def InceptionResNetV2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                      pooling=None, classes=1000, classifier_activation="softmax", **kwargs):
    """InceptionResNetV2 for 299x299 RGB images (at least 75x75; 'tf' preprocessing)."""
    _builder.check_no_extra_kwargs(kwargs)
    _builder.check_weights_and_classes(weights, include_top, classes)
    _builder.check_pooling(pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=299, min_size=75, data_format=_builder.data_format(),
        require_flatten=include_top, weights=weights)
    img_input = _builder.image_input(input_tensor, input_shape)

    x = conv2d_bn(img_input, 32, 3, strides=2, padding="valid")
    x = conv2d_bn(x, 32, 3, padding="valid")
    x = conv2d_bn(x, 64, 3)
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = conv2d_bn(x, 80, 1, padding="valid")
    x = conv2d_bn(x, 192, 3, padding="valid")
    x = layers.MaxPooling2D(3, strides=2)(x)
    x = _mixed_5b(x)
    for block_idx in range(1, 11):
        x = inception_resnet_block(x, scale=0.17, block_type="block35", block_idx=block_idx)
    x = _mixed_6a(x)
    for block_idx in range(1, 21):
        x = inception_resnet_block(x, scale=0.1, block_type="block17", block_idx=block_idx)
    x = _mixed_7a(x)
    for block_idx in range(1, 10):
        x = inception_resnet_block(x, scale=0.2, block_type="block8", block_idx=block_idx)
    x = inception_resnet_block(x, scale=1.0, activation=None, block_type="block8", block_idx=10)
    x = conv2d_bn(x, 1536, 1, name="conv_7b")

    if include_top:
        x = _builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = _builder.global_pooling(x, pooling)
    suffix = "" if include_top else "_notop"
    file_name = f"inception_resnet_v2_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x,
                           "inception_resnet_v2", weights, file_name, ORIGIN_DIR + str(file_name),
                           FILE_HASHES[file_name])


def _concat(branches, name):
    return layers.Concatenate(axis=_builder.channel_axis(), name=name)(branches)


def _mixed_5b(x):
    branch_0 = conv2d_bn(x, 96, 1)
    branch_1 = conv2d_bn(conv2d_bn(x, 48, 1), 64, 5)
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 64, 1), 96, 3), 96, 3)
    branch_pool = layers.AveragePooling2D(3, strides=1, padding="same")(x)
    branch_pool = conv2d_bn(branch_pool, 64, 1)
    return _concat([branch_0, branch_1, branch_2, branch_pool], "mixed_5b")


def _mixed_6a(x):
    branch_0 = conv2d_bn(x, 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 256, 3), 384, 3, strides=2,
                         padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    return _concat([branch_0, branch_1, branch_pool], "mixed_6a")


def _mixed_7a(x):
    branch_0 = conv2d_bn(conv2d_bn(x, 256, 1), 384, 3, strides=2, padding="valid")
    branch_1 = conv2d_bn(conv2d_bn(x, 256, 1), 288, 3, strides=2, padding="valid")
    branch_2 = conv2d_bn(conv2d_bn(conv2d_bn(x, 256, 1), 288, 3), 320, 3, strides=2,
                         padding="valid")
    branch_pool = layers.MaxPooling2D(3, strides=2, padding="valid")(x)
    return _concat([branch_0, branch_1, branch_2, branch_pool], "mixed_7a")


def conv2d_bn(x, filters, kernel_size, strides=1, padding="same", activation="relu",
              use_bias=False, name=None):
    """Conv2D, then (without a bias) BatchNormalization without scale, then the activation."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=use_bias,
                      name=name)(x)
    if not use_bias:
        bn_name = None if name is None else name + "_bn"
        x = layers.BatchNormalization(axis=_builder.channel_axis(), scale=False,
                                      name=bn_name)(x)
    if activation is not None:
        x = layers.Activation(activation, name=None if name is None else name + "_ac")(x)
    return x


@register_keras_serializable()
class CustomScaleLayer(layers.Layer):
    """`inputs[0] + inputs[1] * scale`: the scaled residual sum of an Inception-ResNet block."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def call(self, inputs):
        return inputs[0] + inputs[1] * self.scale

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale})
        return config


BLOCK_BRANCHES = {
    # block type -> branches, each a list of (filters, kernel size) convolutions
    "block35": [[(32, 1)], [(32, 1), (32, 3)], [(32, 1), (48, 3), (64, 3)]],
    "block17": [[(192, 1)], [(128, 1), (160, [1, 7]), (192, [7, 1])]],
    "block8": [[(192, 1)], [(192, 1), (224, [1, 3]), (256, [3, 1])]],
}


def inception_resnet_block(x, scale, block_type, block_idx, activation="relu"):
    if block_type not in BLOCK_BRANCHES:
        raise ValueError('Unknown Inception-ResNet block type. Expects "block35", "block17" or '
                         f'"block8", but got: {block_type}')
    branches = []
    for convolutions in BLOCK_BRANCHES[block_type]:
        branch = x
        for filters, kernel_size in convolutions:
            branch = conv2d_bn(branch, filters, kernel_size)
        branches.append(branch)
    block_name = f"{block_type}_{block_idx}"
    mixed = _concat(branches, block_name + "_mixed")
    up = conv2d_bn(mixed, tuple(x.shape)[_builder.channel_axis()], 1, activation=None,
                   use_bias=True, name=block_name + "_conv")
    x = CustomScaleLayer(scale)([x, up])
    if activation is not None:
        x = layers.Activation(activation, name=block_name + "_ac")(x)
    return x


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
