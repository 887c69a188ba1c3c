"""Keras layers. Each family lives in its own subpackage, one layer per file."""
from ..engine.base_layer import Layer  # noqa: F401
from ..engine.input_spec import InputSpec  # noqa: F401
from .core.input_layer import Input, InputLayer  # noqa: F401
from .core.dense import Dense  # noqa: F401
from .core.activation import Activation  # noqa: F401
from .core.lambda_layer import Lambda  # noqa: F401
from .regularization.dropout import Dropout  # noqa: F401
from .reshaping.flatten import Flatten  # noqa: F401

# Convolution, pooling, cropping/padding/upsampling (issue 3)
from .convolutional.conv1d import Conv1D  # noqa: F401
from .convolutional.conv2d import Conv2D  # noqa: F401
from .convolutional.conv3d import Conv3D  # noqa: F401
from .convolutional.conv1d_transpose import Conv1DTranspose  # noqa: F401
from .convolutional.conv2d_transpose import Conv2DTranspose  # noqa: F401
from .convolutional.conv3d_transpose import Conv3DTranspose  # noqa: F401
from .convolutional.base_depthwise_conv import DepthwiseConv1D, DepthwiseConv2D  # noqa: F401
from .convolutional.base_separable_conv import SeparableConv1D, SeparableConv2D  # noqa: F401
from .pooling.max_pooling import (  # noqa: F401
    MaxPooling1D, MaxPooling2D, MaxPooling3D, MaxPool1D, MaxPool2D, MaxPool3D)
from .pooling.average_pooling import (  # noqa: F401
    AveragePooling1D, AveragePooling2D, AveragePooling3D, AvgPool1D, AvgPool2D, AvgPool3D)
from .pooling.global_pooling import (  # noqa: F401
    GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, GlobalAveragePooling1D,
    GlobalAveragePooling2D, GlobalAveragePooling3D, GlobalMaxPool1D, GlobalMaxPool2D,
    GlobalMaxPool3D, GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D)
from .reshaping.cropping import Cropping1D, Cropping2D, Cropping3D  # noqa: F401
from .reshaping.zero_padding import ZeroPadding1D, ZeroPadding2D, ZeroPadding3D  # noqa: F401
from .reshaping.up_sampling import UpSampling1D, UpSampling2D, UpSampling3D  # noqa: F401
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution2DTranspose, Convolution3DTranspose = Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D
# (conv-section-end)

# Normalization (issue 4)
# (bn-section-end)

# Merging, reshaping, masking, activation layers (issue 5)
# (merge-section-end)

# Embedding, normalization, noise, spatial dropout, preprocessing layers (issue 7)
# (layers7-section-end)
