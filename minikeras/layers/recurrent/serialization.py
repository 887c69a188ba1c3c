"""Nested layers in the configs of RNN, StackedRNNCells and the wrappers.

tf.keras 2.x writes a nested layer as `{"module", "class_name", "config", "registered_name"}`
and reads either that or the older `{"class_name", "config"}`.
"""


def serialize_layer(layer):
    # Imported here: the serialization helpers sit on a higher floor than layers/ (issue 11);
    # only configs reach them, never the numeric path.
    from ...utils.serialization import serialize_keras_object
    return serialize_keras_object(layer)


def deserialize_layer(config, custom_objects=None):
    from ...saving.serialization import deserialize_layer as deserialize
    return deserialize(config, custom_objects)
