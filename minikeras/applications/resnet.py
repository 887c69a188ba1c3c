"""ResNet50/101/152 (He et al., 2015, "v1": post-activation bottleneck blocks) and ResNet50V2/
101V2/152V2 (He et al., 2016, pre-activation blocks). `preprocess_input`: 'caffe' mode (v1).
"""
from .. import layers
from . import _builder, imagenet_utils

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
# md5 of the published (top, no-top) weight files.
FILE_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
BN_EPSILON = 1.001e-5


def ResNet(stack_fn, preact, use_bias, model_name="resnet", include_top=True, weights="imagenet",
           input_tensor=None, input_shape=None, pooling=None, classes=1000,
           classifier_activation="softmax", **kwargs):
    """The ResNet skeleton: stem, `stack_fn(x)` (the residual stages), head."""
    _builder.check_no_extra_kwargs(kwargs)
    _builder.check_weights_and_classes(weights, include_top, classes)
    _builder.check_pooling(pooling)
    input_shape = imagenet_utils.obtain_input_shape(
        input_shape, default_size=224, min_size=32, data_format=_builder.data_format(),
        require_flatten=include_top, weights=weights)
    img_input = _builder.image_input(input_tensor, input_shape)
    axis = _builder.channel_axis()

    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(img_input)
    x = layers.Conv2D(64, 7, strides=2, use_bias=use_bias, name="conv1_conv")(x)
    if not preact:
        x = layers.BatchNormalization(axis=axis, epsilon=BN_EPSILON, name="conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    x = stack_fn(x)
    if preact:
        x = layers.BatchNormalization(axis=axis, epsilon=BN_EPSILON, name="post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)

    if include_top:
        x = _builder.classifier(x, classes, classifier_activation, weights)
    else:
        x = _builder.global_pooling(x, pooling, avg_name="avg_pool", max_name="max_pool")
    file_name = file_hash = None
    if model_name in FILE_HASHES:
        suffix = "" if include_top else "_notop"
        file_name = f"{model_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
        file_hash = FILE_HASHES[model_name][0 if include_top else 1]
    return _builder.finish(_builder.model_inputs(input_tensor, img_input), x, model_name,
                           weights, file_name, ORIGIN_DIR + str(file_name), file_hash)


def _bn(x, name):
    return layers.BatchNormalization(axis=_builder.channel_axis(), epsilon=BN_EPSILON,
                                     name=name)(x)


def block1(x, filters, kernel_size=3, stride=1, conv_shortcut=True, name=None):
    """Post-activation bottleneck: 1x1 -> 3x3 -> 1x1 (4x filters), added to the shortcut."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(x)
        shortcut = _bn(shortcut, name + "_0_bn")
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=name + "_1_conv")(x)
    x = layers.Activation("relu", name=name + "_1_relu")(_bn(x, name + "_1_bn"))
    x = layers.Conv2D(filters, kernel_size, padding="SAME", name=name + "_2_conv")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(_bn(x, name + "_2_bn"))
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    x = _bn(x, name + "_3_bn")
    x = layers.Add(name=name + "_add")([shortcut, x])
    return layers.Activation("relu", name=name + "_out")(x)


def stack1(x, filters, blocks, stride1=2, name=None):
    x = block1(x, filters, stride=stride1, name=name + "_block1")
    for i in range(2, blocks + 1):
        x = block1(x, filters, conv_shortcut=False, name=name + "_block" + str(i))
    return x


def block2(x, filters, kernel_size=3, stride=1, conv_shortcut=False, name=None):
    """Pre-activation bottleneck (v2): BN-ReLU first, the stride on the 3x3 convolution."""
    preact = layers.Activation("relu", name=name + "_preact_relu")(_bn(x, name + "_preact_bn"))
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=name + "_0_conv")(preact)
    else:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x) if stride > 1 else x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=name + "_1_conv")(preact)
    x = layers.Activation("relu", name=name + "_1_relu")(_bn(x, name + "_1_bn"))
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=name + "_2_pad")(x)
    x = layers.Conv2D(filters, kernel_size, strides=stride, use_bias=False,
                      name=name + "_2_conv")(x)
    x = layers.Activation("relu", name=name + "_2_relu")(_bn(x, name + "_2_bn"))
    x = layers.Conv2D(4 * filters, 1, name=name + "_3_conv")(x)
    return layers.Add(name=name + "_out")([shortcut, x])


def stack2(x, filters, blocks, stride1=2, name=None):
    x = block2(x, filters, conv_shortcut=True, name=name + "_block1")
    for i in range(2, blocks):
        x = block2(x, filters, name=name + "_block" + str(i))
    return block2(x, filters, stride=stride1, name=name + "_block" + str(blocks))


def _v1_stages(conv3_blocks, conv4_blocks):
    def stack_fn(x):
        x = stack1(x, 64, 3, stride1=1, name="conv2")
        x = stack1(x, 128, conv3_blocks, name="conv3")
        x = stack1(x, 256, conv4_blocks, name="conv4")
        return stack1(x, 512, 3, name="conv5")
    return stack_fn


def _v2_stages(conv3_blocks, conv4_blocks):
    def stack_fn(x):
        x = stack2(x, 64, 3, name="conv2")
        x = stack2(x, 128, conv3_blocks, name="conv3")
        x = stack2(x, 256, conv4_blocks, name="conv4")
        return stack2(x, 512, 3, stride1=1, name="conv5")
    return stack_fn


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
             pooling=None, classes=1000, **kwargs):
    """ResNet50 (v1) for 224x224 RGB images ('caffe' preprocessing)."""
    return ResNet(_v1_stages(4, 6), False, True, "resnet50", include_top, weights, input_tensor,
                  input_shape, pooling, classes, **kwargs)


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, **kwargs):
    """ResNet101 (v1) for 224x224 RGB images ('caffe' preprocessing)."""
    return ResNet(_v1_stages(4, 23), False, True, "resnet101", include_top, weights,
                  input_tensor, input_shape, pooling, classes, **kwargs)


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
              pooling=None, classes=1000, **kwargs):
    """ResNet152 (v1) for 224x224 RGB images ('caffe' preprocessing)."""
    return ResNet(_v1_stages(8, 36), False, True, "resnet152", include_top, weights,
                  input_tensor, input_shape, pooling, classes, **kwargs)


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
               pooling=None, classes=1000, classifier_activation="softmax"):
    """ResNet50V2 (pre-activation) for 224x224 RGB images ('tf' preprocessing)."""
    return ResNet(_v2_stages(4, 6), True, True, "resnet50v2", include_top, weights,
                  input_tensor, input_shape, pooling, classes,
                  classifier_activation=classifier_activation)


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax"):
    """ResNet101V2 (pre-activation) for 224x224 RGB images ('tf' preprocessing)."""
    return ResNet(_v2_stages(4, 23), True, True, "resnet101v2", include_top, weights,
                  input_tensor, input_shape, pooling, classes,
                  classifier_activation=classifier_activation)


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
                pooling=None, classes=1000, classifier_activation="softmax"):
    """ResNet152V2 (pre-activation) for 224x224 RGB images ('tf' preprocessing)."""
    return ResNet(_v2_stages(8, 36), True, True, "resnet152v2", include_top, weights,
                  input_tensor, input_shape, pooling, classes,
                  classifier_activation=classifier_activation)


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
