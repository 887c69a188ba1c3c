"""Global backend settings: float type, fuzz factor, image data format."""
import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_ALLOWED_FLOATX = ("float16", "float32", "float64")
_DTYPE_POLICY = None     # the name set by keras.mixed_precision.set_global_policy, else floatx


def floatx():
    """The default float type, as a string (`'float32'` unless changed)."""
    return _FLOATX


def set_floatx(value):
    """Set the default float type (`'float16'`, `'float32'` or `'float64'`)."""
    global _FLOATX
    value = str(value)
    if value not in _ALLOWED_FLOATX:
        raise ValueError(f"Unknown floatx type: {value}. Expected one of {_ALLOWED_FLOATX}")
    _FLOATX = value


def dtype_policy_name():
    """The dtype new layers take when given none: the global dtype policy's, else `floatx()`."""
    return _DTYPE_POLICY or _FLOATX


def set_dtype_policy_name(name):
    """Set (a dtype name) or clear (None) the global dtype policy."""
    global _DTYPE_POLICY
    _DTYPE_POLICY = name


def epsilon():
    """The fuzz factor used in numeric expressions (`1e-7` by default)."""
    return _EPSILON


def set_epsilon(value):
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """`'channels_last'` (default) or `'channels_first'`."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    global _IMAGE_DATA_FORMAT
    if data_format not in ("channels_last", "channels_first"):
        # tf.keras' words (backend_config), its set printed in the order of its source
        raise ValueError(f"Unknown `data_format`: {data_format}. "
                         "Expected one of {'channels_last', 'channels_first'}")
    _IMAGE_DATA_FORMAT = data_format


def normalize_data_format(value):
    """Keras' rule: None means the global setting; anything else must be a known format."""
    if value is None:
        value = image_data_format()
    data_format = str(value).lower()
    if data_format not in ("channels_first", "channels_last"):
        # tf.keras' words (conv_utils), naming the value as given
        raise ValueError('The `data_format` argument must be one of "channels_first", '
                         f'"channels_last". Received: {value}')
    return data_format


# Keras' "string" dtype (tf.string): strings travel as NumPy object arrays of Python `str`.
STRING_DTYPE_NAMES = ("string", "str")


def numpy_dtype(dtype):
    """`dtype` (a name, NumPy dtype or an object with a `.name`) as a NumPy dtype; Keras'
    "string" becomes `object`."""
    if hasattr(dtype, "name") and not isinstance(dtype, np.dtype):
        dtype = dtype.name
    if dtype is str or dtype in STRING_DTYPE_NAMES:
        return np.dtype(object)
    return np.dtype(dtype)


def dtype_name(dtype):
    """The Keras name of a NumPy dtype: "string" for the object arrays that carry strings."""
    dtype = np.dtype(dtype)
    return "string" if dtype.kind in "OUS" else dtype.name
