"""What MobileNet and MobileNetV2 share: the default size from the requested input, and the
input resolution of the published weights."""
import warnings

from . import _builder


def spatial_size(shape):
    """(rows, cols) of an image shape without the batch axis."""
    if _builder.data_format() == "channels_first":
        return shape[1], shape[2]
    return shape[0], shape[1]


def default_size(input_shape, input_tensor, sizes):
    """The input size the published weights were made for, when the request matches one."""
    if input_shape is not None:
        rows, cols = spatial_size(input_shape)
    elif input_tensor is not None and hasattr(input_tensor, "_keras_history"):
        rows, cols = spatial_size(tuple(input_tensor.shape)[1:])
    else:
        return 224
    return rows if rows == cols and rows in sizes else 224


def weights_resolution(input_shape, sizes):
    rows, cols = spatial_size(input_shape)
    if rows != cols or rows not in sizes:
        warnings.warn(f"`input_shape` is undefined or non-square, or `rows` is not in "
                      f"{list(sizes)}. Weights for input shape (224, 224) will be loaded as the "
                      "default.", stacklevel=3)
        return 224
    return rows
