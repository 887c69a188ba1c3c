"""Dot: per-sample dot product of two inputs along given axes."""
from ...ops.math import batch_dot
from ...ops.nn import l2_normalize
from .base_merge import Merge, _shapes_str


class Dot(Merge):
    """Per-sample dot product of two inputs along `axes` (an int, or one axis per input);
    with `normalize=True` the inputs are L2-normalized first (cosine similarity).

    Example:
    >>> x = np.arange(10.0).reshape(1, 5, 2)
    >>> y = np.arange(10.0, 20.0).reshape(1, 2, 5)
    >>> Dot(axes=(1, 2))([x, y]).numpy()
    array([[[260., 360.],
            [320., 445.]]], dtype=float32)
    """

    _tf_op_name = "BatchMatMulV2"

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError("Invalid type for argument `axes`: it should be a list or an "
                                f"int. Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError("Invalid format for argument `axes`: it should contain two "
                                 f"elements. Received: axes={axes}")
            if not isinstance(axes[0], int) or not isinstance(axes[1], int):
                raise ValueError("Invalid format for argument `axes`: list elements should be "
                                 f"integers. Received: axes={axes}")
        self.axes = axes
        self.normalize = normalize
        self.supports_masking = True

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or not input_shape or \
                not isinstance(input_shape[0], (list, tuple)) or len(input_shape) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={_shapes_str(input_shape)}")
        self._check_axes(input_shape[0], input_shape[1])
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A `Dot` layer should be called on exactly 2 inputs. "
                             f"Received: inputs={inputs}")
        self._check_input_dtypes(inputs, symbolic=False)
        x1, x2 = inputs
        axes = self._positive_axes(x1.ndim, x2.ndim)
        self._check_axes(tuple(x1.shape), tuple(x2.shape))
        if self.normalize:
            x1 = l2_normalize(x1, axis=axes[0])
            x2 = l2_normalize(x2, axis=axes[1])
        return batch_dot(x1, x2, axes)

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs. "
                             f"Received: input_shape={_shapes_str(input_shape)}")
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        axes = self._positive_axes(len(shape1), len(shape2))
        shape1.pop(axes[0])
        shape2.pop(axes[1])
        shape2.pop(0)
        output_shape = shape1 + shape2
        if len(output_shape) == 1:
            output_shape += [1]
        return tuple(output_shape)

    def compute_mask(self, inputs, mask=None):
        return None

    def count_flops(self, input_shape, output_shape):
        return None   # not modelled

    def get_config(self):
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config

    def _positive_axes(self, ndim1, ndim2):
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        return [axes[0] % ndim1 if axes[0] < 0 else axes[0],
                axes[1] % ndim2 if axes[1] < 0 else axes[1]]

    def _check_axes(self, shape1, shape2):
        # tf.keras reports a negative integer `axes` modulo the rank, a pair of axes as given.
        axes = self._positive_axes(len(shape1), len(shape2)) if isinstance(self.axes, int) \
            else list(self.axes)
        if shape1[axes[0]] != shape2[axes[1]]:
            raise ValueError(
                f"Incompatible input shapes: axis values {shape1[axes[0]]} (at axis {axes[0]}) "
                f"!= {shape2[axes[1]]} (at axis {axes[1]}). Full input shapes: "
                f"{_shapes_str(shape1)}, {_shapes_str(shape2)}")


def dot(inputs, axes, normalize=False, **kwargs):
    """Functional interface to `Dot`: `dot([x1, x2], axes=1)`."""
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)
