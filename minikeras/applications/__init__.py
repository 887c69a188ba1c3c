"""Keras applications: the classic ImageNet architectures, with optional pretrained weights.

    model = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3), classes=10)
    base = keras.applications.ResNet50(include_top=False, weights="imagenet", pooling="avg")

`weights="imagenet"` reads the published legacy HDF5 files from Keras' cache
(`~/.keras/models/`, the same file names), downloading them when the network allows.
"""
from . import imagenet_utils  # noqa: F401
from . import vgg16, vgg19  # noqa: F401
from .vgg16 import VGG16  # noqa: F401
from .vgg19 import VGG19  # noqa: F401
from . import resnet, resnet50, resnet_v2, mobilenet, mobilenet_v2  # noqa: F401
from .resnet import ResNet50, ResNet101, ResNet152  # noqa: F401
from .resnet_v2 import ResNet50V2, ResNet101V2, ResNet152V2  # noqa: F401
from .mobilenet import MobileNet  # noqa: F401
from .mobilenet_v2 import MobileNetV2  # noqa: F401
from . import inception_v3, xception, densenet  # noqa: F401
from .inception_v3 import InceptionV3  # noqa: F401
from .xception import Xception  # noqa: F401
from .densenet import DenseNet121, DenseNet169, DenseNet201  # noqa: F401
from . import inception_resnet_v2  # noqa: F401
from .inception_resnet_v2 import InceptionResNetV2  # noqa: F401
from . import efficientnet  # noqa: F401
from .efficientnet import (  # noqa: F401
    EfficientNetB0, EfficientNetB1, EfficientNetB2, EfficientNetB3, EfficientNetB4,
    EfficientNetB5, EfficientNetB6, EfficientNetB7)
from . import nasnet  # noqa: F401
from .nasnet import NASNetMobile, NASNetLarge  # noqa: F401
from . import mobilenet_v3  # noqa: F401
from .mobilenet_v3 import MobileNetV3Small, MobileNetV3Large  # noqa: F401
from . import efficientnet_v2  # noqa: F401
from .efficientnet_v2 import (  # noqa: F401
    EfficientNetV2B0, EfficientNetV2B1, EfficientNetV2B2, EfficientNetV2B3, EfficientNetV2S,
    EfficientNetV2M, EfficientNetV2L)
from . import convnext  # noqa: F401
from .convnext import (  # noqa: F401
    ConvNeXtTiny, ConvNeXtSmall, ConvNeXtBase, ConvNeXtLarge, ConvNeXtXLarge)
from . import regnet  # noqa: F401
from .regnet import (  # noqa: F401
    RegNetX002, RegNetX004, RegNetX006, RegNetX008, RegNetX016, RegNetX032, RegNetX040,
    RegNetX064, RegNetX080, RegNetX120, RegNetX160, RegNetX320, RegNetY002, RegNetY004,
    RegNetY006, RegNetY008, RegNetY016, RegNetY032, RegNetY040, RegNetY064, RegNetY080,
    RegNetY120, RegNetY160, RegNetY320)
from . import resnet_rs  # noqa: F401
from .resnet_rs import (  # noqa: F401
    ResNetRS50, ResNetRS101, ResNetRS152, ResNetRS200, ResNetRS270, ResNetRS350, ResNetRS420)

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), (
    "convnext", "densenet", "efficientnet", "efficientnet_v2", "imagenet_utils", "inception_resnet_v2",
    "inception_v3", "mobilenet", "mobilenet_v2", "mobilenet_v3", "nasnet", "regnet", "resnet", "resnet50",
    "resnet_rs", "resnet_v2", "vgg16", "vgg19", "xception"))
