"""ImageNet helpers shared by the applications: `preprocess_input` in the 'caffe', 'tf' and
'torch' modes, `decode_predictions`, and the input-shape / activation checks of the builders.
"""
import json
import warnings

import numpy as np

from .. import activations, ops
from ..core import config
from ..core.tensor import Tensor
from ..engine.keras_tensor import KerasTensor
from ..engine.tf_op_layer import TFOpLambda, register_tf_symbol
from . import weight_files

CLASS_INDEX_FILE = "imagenet_class_index.json"
CLASS_INDEX_ORIGIN = ("https://storage.googleapis.com/download.tensorflow.org/data/"
                      + CLASS_INDEX_FILE)
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"
_class_index = None

CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
TORCH_RGB_MEAN = (0.485, 0.456, 0.406)
TORCH_RGB_STD = (0.229, 0.224, 0.225)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images in [0, 255] the way a pretrained network expects.

    - 'caffe': RGB -> BGR, then subtract the ImageNet BGR means (no scaling).
    - 'tf': scale to [-1, 1] (`x / 127.5 - 1`).
    - 'torch': scale to [0, 1], subtract the ImageNet RGB means, divide by their stds.

    A NumPy float array is updated in place (and returned); an integer array is first
    converted to floatx. A Tensor or KerasTensor input gives a new tensor.
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError("Expected mode to be one of `caffe`, `tf` or `torch`. "
                         f"Received: mode={mode}")
    if data_format is None:
        data_format = config.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or "
                         f"`channels_last`. Received: data_format={data_format}")
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    if isinstance(x, KerasTensor):
        return _preprocess_symbolic(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _channel_view(x, data_format, channel):
    """A view of one colour channel of a 3-D image or a 4-D batch."""
    if data_format == "channels_last":
        return x[..., channel]
    return x[channel] if x.ndim == 3 else x[:, channel]


def _preprocess_numpy(x, data_format, mode):
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(config.floatx(), copy=False)
    if mode == "tf":
        x /= 127.5
        x -= 1.0
        return x
    if mode == "torch":
        x /= 255.0
        mean, std = TORCH_RGB_MEAN, TORCH_RGB_STD
    else:
        # RGB -> BGR through a reversed view: the caller's array is what gets centred.
        channel_axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
        x = np.flip(x, axis=channel_axis)
        mean, std = CAFFE_BGR_MEAN, None
    for channel in range(3):
        view = _channel_view(x, data_format, channel)
        view -= mean[channel]
        if std is not None:
            view /= std[channel]
    return x


def _preprocess_tensor(x, data_format, mode):
    """The same arithmetic on a Tensor: a new tensor, the input unchanged."""
    if not isinstance(x, Tensor):
        x = Tensor(np.asarray(x, dtype=config.floatx()))   # Python lists and numbers
    elif not np.issubdtype(x.dtype, np.floating):
        x = Tensor(x.data.astype(config.floatx()))
    if mode == "tf":
        return x / 127.5 - 1.0
    channel_axis = -1 if data_format == "channels_last" else (0 if len(x.shape) == 3 else 1)
    if mode == "torch":
        x = x / 255.0
        mean, std = TORCH_RGB_MEAN, TORCH_RGB_STD
    else:
        x = x[_reverse_index(len(x.shape), channel_axis)]
        mean, std = CAFFE_BGR_MEAN, None
    x = ops.bias_add(x, -np.asarray(mean, x.dtype), axis=channel_axis)
    if std is not None:
        broadcast = [1] * len(x.shape)
        broadcast[channel_axis] = 3
        x = x / np.asarray(std, x.dtype).reshape(broadcast)
    return x


def _reverse_index(ndim, axis):
    index = [slice(None)] * ndim
    index[axis] = slice(None, None, -1)
    return tuple(index)


def _tf_bias_add(value, bias, data_format=None, name=None):
    """`tf.nn.bias_add`: `bias` added along the channel axis ('NC..' formats: axis 1)."""
    axis = 1 if data_format is not None and data_format.startswith("NC") else -1
    value = value if isinstance(value, Tensor) else Tensor(np.asarray(value))
    return ops.bias_add(value, np.asarray(bias, value.dtype), axis=axis)


register_tf_symbol("nn.bias_add", _tf_bias_add)


def _preprocess_symbolic(x, data_format, mode):
    """The op layers tf.keras records for a KerasTensor (their names and call arguments):
    slicing, `tf.nn.bias_add` of the negated means, divisions."""
    channels_first = data_format == "channels_first"
    if mode == "tf":
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean, std = TORCH_RGB_MEAN, TORCH_RGB_STD
    else:
        if not channels_first:
            x = x[..., ::-1]
        elif len(x.shape) == 3:
            x = x[::-1, ...]
        else:
            x = x[:, ::-1, ...]
        mean, std = CAFFE_BGR_MEAN, None
    bias = (-np.asarray(mean, dtype=x.dtype)).tolist()
    x = TFOpLambda("nn.bias_add")(x, bias=bias, data_format="NCHW" if channels_first else "NHWC")
    if std is not None:
        std = np.asarray(std, dtype=x.dtype)
        x = x / (std.reshape(-1, 1, 1) if channels_first else std)
    return x


def decode_predictions(preds, top=5):
    """`[(class_id, class_name, score), ...]` of the `top` classes, one list per sample.

    The class index is `imagenet_class_index.json` from Keras' cache (`~/.keras/models/`),
    downloaded there when it is missing and the network is reachable.
    """
    global _class_index
    preds = np.asarray(preds)
    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D array "
                         f"of shape (samples, 1000)). Found array with shape: {preds.shape}")
    if _class_index is None:
        path = weight_files.fetch(CLASS_INDEX_FILE, CLASS_INDEX_ORIGIN,
                                  what="the ImageNet class index", file_hash=CLASS_INDEX_MD5)
        with open(path) as f:
            _class_index = json.load(f)
    results = []
    for pred in preds:
        top_indices = pred.argsort()[-top:][::-1]
        result = [tuple(_class_index[str(i)]) + (pred[i],) for i in top_indices]
        result.sort(key=lambda item: item[2], reverse=True)
        results.append(result)
    return results


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten,
                       weights=None):
    """The model's input shape: the default one, or `input_shape` checked against the
    constraints of the pretrained weights and the classifier top."""
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in {1, 3}:
            warnings.warn("This model usually expects 1 or 3 input channels. However, it was "
                          f"passed an input_shape with {channels} input channels.", stacklevel=3)
        default_channels = channels
    else:
        default_channels = 3
    default_shape = ((default_channels, default_size, default_size) if channels_first
                     else (default_size, default_size, default_channels))
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` weights, "
                             f"`input_shape` should be {default_shape}.  Received: "
                             f"input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels = input_shape[0] if channels_first else input_shape[-1]
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape={input_shape}`")
        if any(size is not None and size < min_size for size in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static `input_shape`. "
                         f"Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size):
    """The ZeroPadding2D amounts that make a stride-2 'valid' convolution centred like TF's
    'same' one (one pixel less before than after on even sizes)."""
    rows_axis = 2 if config.image_data_format() == "channels_first" else 1
    input_size = tuple(inputs.shape)[rows_axis:rows_axis + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if input_size[0] is None else (1 - input_size[0] % 2, 1 - input_size[1] % 2)
    correct = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((correct[0] - adjust[0], correct[0]), (correct[1] - adjust[1], correct[1]))


def validate_activation(classifier_activation, weights):
    """Pretrained tops were trained with softmax: only None or 'softmax' fit them."""
    if weights is None:
        return
    activation = activations.get(classifier_activation)
    if activation not in {activations.get("softmax"), activations.get(None)}:
        raise ValueError("Only `None` and `softmax` activations are allowed for the "
                         "`classifier_activation` argument when using pretrained weights, with "
                         f"`include_top=True`; Received: classifier_activation={activation}")
