"""Wrapper: the base class of layers that wrap another layer (TimeDistributed, Bidirectional,
and users' own wrappers)."""
from ...engine.base_layer import Layer
from .serialization import deserialize_layer, serialize_layer


class Wrapper(Layer):
    """Holds `layer` as `self.layer` (its weights are the wrapper's), builds it on first use
    and saves it inside the wrapper's config. Subclasses write `call`.

    Example:

        class Doubled(keras.layers.Wrapper):
            def call(self, inputs):
                return 2 * self.layer(inputs)

        Doubled(keras.layers.Dense(3))(np.ones((2, 4), "float32")).shape     # (2, 3)
    """

    def __init__(self, layer, **kwargs):
        _check_is_layer(type(self).__name__, layer)
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
            self.layer.built = True
        self.built = True

    def get_config(self):
        config = super().get_config()
        config["layer"] = serialize_layer(self.layer)     # with its build_config once built
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        layer = deserialize_layer(config.pop("layer"), custom_objects)
        return cls(layer, **config)


def _check_is_layer(wrapper_name, layer):
    if not isinstance(layer, Layer):
        raise ValueError(f"Please initialize `{wrapper_name}` layer with a "
                         f"`tf.keras.layers.Layer` instance. Received: {layer}")
