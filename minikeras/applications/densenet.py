"""DenseNet121/169/201 (Huang et al., 2017): dense blocks (each layer's output concatenated to
its input) separated by transition layers. `preprocess_input`: 'torch' mode."""
from .. import layers
from . import _builder, imagenet_utils

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/densenet/"
BN_EPSILON = 1.001e-5
GROWTH_RATE = 32
# Dense-block sizes of the published networks -> (name, md5 of the top / no-top files).
KNOWN_NETWORKS = {
    (6, 12, 24, 16): ("densenet121", "9d60b8095a5708f2dcce2bca79d332c7",
                      "30ee3e1110167f948a6b9946edeeb738"),
    (6, 12, 32, 32): ("densenet169", "d699b8f76981ab1b30698df4c175e90b",
                      "b8c4d4c20dd625c148057b9ff1c1176b"),
    (6, 12, 48, 32): ("densenet201", "1ceb130c1ea1b78c3bf6114dbdfd8807",
                      "c13680b51ded0fb44dff2d8f86ac8bb1"),
}


def DenseNet(blocks, include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, classifier_activation="softmax"):
    _builder.check_weights_and_classes(weights, include_top, classes)
    _builder.check_pooling(pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=_builder.data_format(),
        require_flatten=include_top, weights=weights)
    img_input = _builder.image_input(input_tensor, input_shape)

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)))(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1/conv")(x)
    x = layers.Activation("relu", name="conv1/relu")(_bn(x, "conv1/bn"))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)))(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    for stage, size in enumerate(blocks, start=2):
        x = dense_block(x, size, name=f"conv{stage}")
        if stage < 5:
            x = transition_block(x, 0.5, name=f"pool{stage}")
    x = layers.Activation("relu", name="relu")(_bn(x, "bn"))

    if include_top:
        x = _builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = _builder.global_pooling(x, pooling, avg_name="avg_pool", max_name="max_pool")
    name, top_hash, notop_hash = KNOWN_NETWORKS.get(tuple(blocks), ("densenet", None, None))
    file_name = file_hash = None
    if top_hash is not None:
        file_name = f"{name}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"
        file_hash = top_hash if include_top else notop_hash
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x, name, weights,
                           file_name, ORIGIN_DIR + str(file_name), file_hash)


def _bn(x, name):
    return layers.BatchNormalization(axis=_builder.channel_axis(), epsilon=BN_EPSILON,
                                     name=name)(x)


def dense_block(x, blocks, name):
    for index in range(blocks):
        x = conv_block(x, GROWTH_RATE, name=f"{name}_block{index + 1}")
    return x


def transition_block(x, reduction, name):
    """BN-ReLU, a 1x1 convolution shrinking the channels by `reduction`, 2x2 average pooling."""
    x = layers.Activation("relu", name=name + "_relu")(_bn(x, name + "_bn"))
    channels = tuple(x.shape)[_builder.channel_axis()]
    x = layers.Conv2D(int(channels * reduction), 1, use_bias=False, name=name + "_conv")(x)
    return layers.AveragePooling2D(2, strides=2, name=name + "_pool")(x)


def conv_block(x, growth_rate, name):
    """BN-ReLU-1x1 (4 x growth) - BN-ReLU-3x3 (growth), concatenated to the input."""
    x1 = layers.Activation("relu", name=name + "_0_relu")(_bn(x, name + "_0_bn"))
    x1 = layers.Conv2D(4 * growth_rate, 1, use_bias=False, name=name + "_1_conv")(x1)
    x1 = layers.Activation("relu", name=name + "_1_relu")(_bn(x1, name + "_1_bn"))
    x1 = layers.Conv2D(growth_rate, 3, padding="same", use_bias=False, name=name + "_2_conv")(x1)
    return layers.Concatenate(axis=_builder.channel_axis(), name=name + "_concat")([x, x1])


def DenseNet121(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax"):
    """DenseNet121 for 224x224 RGB images ('torch' preprocessing)."""
    return DenseNet([6, 12, 24, 16], include_top, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation)


def DenseNet169(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax"):
    """DenseNet169 for 224x224 RGB images ('torch' preprocessing)."""
    return DenseNet([6, 12, 32, 32], include_top, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation)


def DenseNet201(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax"):
    """DenseNet201 for 224x224 RGB images ('torch' preprocessing)."""
    return DenseNet([6, 12, 48, 32], include_top, weights, input_tensor, input_shape, pooling,
                    classes, classifier_activation)


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="torch")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
