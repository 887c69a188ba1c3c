"""VGG16 (Simonyan & Zisserman, 2014): five blocks of 3x3 convolutions + max pooling, then
two 4096-unit fully connected layers. Inputs: `preprocess_input` ('caffe' mode)."""
from . import imagenet_utils
from .vgg_common import build_vgg

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/"
FILE_HASHES = {"vgg16_weights_tf_dim_ordering_tf_kernels.h5": "64373286793e3c8b2b4e3219cbf3544b",
               "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5":
               "6d6bbae143d832006294945121d1f1fc"}


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax"):
    """VGG16 for 224x224 RGB images ('caffe' preprocessing); 138.4M parameters with the top."""
    return build_vgg((2, 2, 3, 3, 3), "vgg16", ORIGIN_DIR, FILE_HASHES, include_top, weights,
                     input_tensor, input_shape, pooling, classes, classifier_activation)


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["VGG16", "preprocess_input", "decode_predictions"]
