"""Keras layers. Each family lives in its own subpackage, one layer per file."""
from ..core.registry import register_builtins
from ..engine.base_layer import Layer  # noqa: F401
from ..engine.input_spec import InputSpec  # noqa: F401
register_builtins("layers", globals())   # every class imported below is a built-in layer
from .core.input_layer import Input, InputLayer  # noqa: F401
from .core.dense import Dense  # noqa: F401
from .core.activation import Activation  # noqa: F401
from .core.lambda_layer import Lambda  # noqa: F401
from .regularization.dropout import Dropout  # noqa: F401
from .reshaping.flatten import Flatten  # noqa: F401

# Convolution, pooling, cropping/padding/upsampling
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
Convolution1DTranspose = Conv1DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

# Normalization
from .normalization.batch_normalization import BatchNormalization  # noqa: F401

# Merging, reshaping, masking, activation layers
from .merging.add import Add, add  # noqa: F401
from .merging.subtract import Subtract, subtract  # noqa: F401
from .merging.multiply import Multiply, multiply  # noqa: F401
from .merging.average import Average, average  # noqa: F401
from .merging.maximum import Maximum, maximum  # noqa: F401
from .merging.minimum import Minimum, minimum  # noqa: F401
from .merging.concatenate import Concatenate, concatenate  # noqa: F401
from .merging.dot import Dot, dot  # noqa: F401
from .reshaping.reshape import Reshape  # noqa: F401
from .reshaping.permute import Permute  # noqa: F401
from .reshaping.repeat_vector import RepeatVector  # noqa: F401
from .core.masking import Masking  # noqa: F401
from .regularization.activity_regularization import ActivityRegularization  # noqa: F401
from .activations.relu import ReLU  # noqa: F401
from .activations.softmax import Softmax  # noqa: F401
from .activations.leaky_relu import LeakyReLU  # noqa: F401
from .activations.prelu import PReLU  # noqa: F401
from .activations.elu import ELU  # noqa: F401
from .activations.thresholded_relu import ThresholdedReLU  # noqa: F401

# Embedding, normalization, noise, spatial dropout, preprocessing layers
from .core.embedding import Embedding  # noqa: F401
from .normalization.layer_normalization import LayerNormalization  # noqa: F401
from .regularization.spatial_dropout import (  # noqa: F401
    SpatialDropout1D, SpatialDropout2D, SpatialDropout3D,
)
from .regularization.gaussian_noise import GaussianNoise  # noqa: F401
from .regularization.gaussian_dropout import GaussianDropout  # noqa: F401
from .regularization.alpha_dropout import AlphaDropout  # noqa: F401
from .preprocessing.rescaling import Rescaling  # noqa: F401
from .preprocessing.random_flip import RandomFlip  # noqa: F401
from .preprocessing.random_translation import RandomTranslation  # noqa: F401
from .preprocessing.random_rotation import RandomRotation  # noqa: F401
from .preprocessing.random_zoom import RandomZoom  # noqa: F401
from .preprocessing.resizing import Resizing  # noqa: F401
from .preprocessing.center_crop import CenterCrop  # noqa: F401
from .preprocessing.normalization import Normalization  # noqa: F401
from .normalization.sync_batch_normalization import SyncBatchNormalization  # noqa: F401

# Recurrent layers and wrappers (issue 13)
from .recurrent.abstract_rnn_cell import AbstractRNNCell  # noqa: F401
from .recurrent.simple_rnn_cell import SimpleRNNCell  # noqa: F401
from .recurrent.lstm_cell import LSTMCell  # noqa: F401
from .recurrent.gru_cell import GRUCell  # noqa: F401
from .recurrent.stacked_rnn_cells import StackedRNNCells  # noqa: F401
from .recurrent.base_rnn import RNN  # noqa: F401
from .recurrent.simple_rnn import SimpleRNN  # noqa: F401
from .recurrent.lstm import LSTM  # noqa: F401
from .recurrent.gru import GRU  # noqa: F401
from .recurrent.base_wrapper import Wrapper  # noqa: F401
from .recurrent.bidirectional import Bidirectional  # noqa: F401
from .recurrent.time_distributed import TimeDistributed  # noqa: F401
from .recurrent.conv_lstm1d import ConvLSTM1D  # noqa: F401
from .recurrent.conv_lstm2d import ConvLSTM2D  # noqa: F401
from .recurrent.conv_lstm3d import ConvLSTM3D  # noqa: F401
# (recurrent-section-end)

from .serialization import deserialize, serialize  # noqa: F401
from .attention.multi_head_attention import MultiHeadAttention  # noqa: F401
from .attention.dense_attention import Attention, AdditiveAttention  # noqa: F401
from .core.identity import Identity  # noqa: F401
from .normalization.unit_normalization import UnitNormalization  # noqa: F401
from .normalization.group_normalization import GroupNormalization  # noqa: F401
from .preprocessing.random_color_size import (  # noqa: F401
    RandomCrop, RandomContrast, RandomBrightness, RandomHeight, RandomWidth,
)
from .core.einsum_dense import EinsumDense  # noqa: F401
from .core.random_fourier_features import RandomFourierFeatures  # noqa: F401
from .preprocessing.base_preprocessing_layer import PreprocessingLayer  # noqa: F401
from .preprocessing.category_encoding import CategoryEncoding  # noqa: F401
from .preprocessing.discretization import Discretization  # noqa: F401
from .preprocessing.string_lookup import StringLookup  # noqa: F401
from .preprocessing.integer_lookup import IntegerLookup  # noqa: F401
from .preprocessing.text_vectorization import TextVectorization  # noqa: F401
from .preprocessing.hashing import Hashing  # noqa: F401
from .preprocessing.hashed_crossing import HashedCrossing  # noqa: F401
from .locally_connected.locally_connected1d import LocallyConnected1D  # noqa: F401
from .locally_connected.locally_connected2d import LocallyConnected2D  # noqa: F401
from .normalization.spectral_normalization import SpectralNormalization  # noqa: F401

# `from keras.X import *` binds the public names only (see core/star_exports.py).
from ..core.star_exports import star_exports as _star_exports  # noqa: E402
__getattr__ = _star_exports(globals(), ("experimental",))
