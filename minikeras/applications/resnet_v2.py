"""`keras.applications.resnet_v2`: the pre-activation ResNets; 'tf' preprocessing."""
from . import imagenet_utils
from .resnet import ResNet50V2, ResNet101V2, ResNet152V2  # noqa: F401


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)
