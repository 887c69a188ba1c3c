"""PReLU: rectifier with a learned slope for negative inputs."""
from ... import constraints, initializers, regularizers
from ...engine.base_layer import Layer
from ...engine.input_spec import InputSpec
from ...ops.nn import prelu


class PReLU(Layer):
    """`x` for `x >= 0`, `alpha * x` otherwise, with `alpha` a weight of shape
    `input_shape[1:]`; axes listed in `shared_axes` share one slope (size 1).

    Example:
    >>> layer = PReLU(shared_axes=[1, 2])
    >>> _ = layer(np.ones((2, 5, 5, 3), "float32")); layer.alpha.shape
    (1, 1, 3)
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif not isinstance(shared_axes, (list, tuple)):
            self.shared_axes = [shared_axes]
        else:
            self.shared_axes = list(shared_axes)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        param_shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if not 1 <= axis < len(input_shape):
                raise ValueError(f"Invalid `shared_axes` {self.shared_axes} for an input of "
                                 f"shape {input_shape}: axes must lie in [1, {len(input_shape) - 1}].")
            param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError("The shape of the PReLU weight `alpha` must be fully defined; "
                             f"received input_shape={input_shape} with shared_axes="
                             f"{self.shared_axes}. Share the unknown axes with `shared_axes`.")
        self.alpha = self.add_weight(name="alpha", shape=param_shape,
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        axes = {}
        if self.shared_axes:
            axes = {i: input_shape[i] for i in range(1, len(input_shape))
                    if i not in self.shared_axes}
        self.input_spec = InputSpec(ndim=len(input_shape), axes=axes)
        self.built = True

    def call(self, inputs):
        return prelu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": _maybe(regularizers.serialize, self.alpha_regularizer),
            "alpha_constraint": _maybe(constraints.serialize, self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config


def _maybe(serialize, value):
    return None if value is None else serialize(value)
