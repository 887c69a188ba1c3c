"""Checks the newer application families (MobileNetV3, EfficientNetV2, ConvNeXt, RegNet,
ResNet-RS) share; each family raises them in its own tf.keras wording."""
import os

from . import _builder


def weights_are_valid(weights):
    """None, 'imagenet', or the path of an existing weights file."""
    return (weights is None or weights == "imagenet"
            or (isinstance(weights, (str, os.PathLike)) and os.path.exists(weights)))


def source_input(input_tensor, img_input):
    """The model input of ConvNeXt-style builders: the first source Input of `input_tensor`."""
    return img_input if input_tensor is None else _builder.source_inputs(input_tensor)[0]
