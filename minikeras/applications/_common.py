"""Checks the newer application families (MobileNetV3, EfficientNetV2, ConvNeXt, RegNet,
ResNet-RS) share; each family raises them in its own tf.keras wording."""
from . import _builder
from ._builder import weights_are_valid  # noqa: F401 (the families call it from here)


def check_weights_and_classes(weights, include_top, classes):
    """ConvNeXt's and RegNet's wording of the weights / classes checks."""
    if not weights_are_valid(weights):
        raise ValueError("The `weights` argument should be either `None` (random "
                         "initialization), `imagenet` (pre-training on ImageNet), or the path to "
                         "the weights file to be loaded.")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError("If using `weights` as `'imagenet'` with `include_top` as true, "
                         "`classes` should be 1000")


def source_input(input_tensor, img_input):
    """The model input of ConvNeXt-style builders: the first source Input of `input_tensor`."""
    return img_input if input_tensor is None else _builder.source_inputs(input_tensor)[0]
