"""VGG19 (Simonyan & Zisserman, 2014): five blocks of 3x3 convolutions + max pooling, then
two 4096-unit fully connected layers. Inputs: `preprocess_input` ('caffe' mode)."""
from . import imagenet_utils
from .vgg_common import build_vgg

ORIGIN_DIR = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
FILE_HASHES = {"vgg19_weights_tf_dim_ordering_tf_kernels.h5": "cbe5617147190e668d6c5d5026f83318",
               "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5":
               "253f8cb515780f3b799900260a226db6"}


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,
          pooling=None, classes=1000, classifier_activation="softmax"):
    """VGG19 for 224x224 RGB images ('caffe' preprocessing); 143.7M parameters with the top."""
    return build_vgg((2, 2, 4, 4, 4), "vgg19", ORIGIN_DIR, FILE_HASHES, include_top, weights,
                     input_tensor, input_shape, pooling, classes, classifier_activation)


def preprocess_input(x, data_format=None):
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="caffe")


def decode_predictions(preds, top=5):
    return imagenet_utils.decode_predictions(preds, top=top)


__all__ = ["VGG19", "preprocess_input", "decode_predictions"]
