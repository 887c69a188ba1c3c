"""`keras.utils.legacy`: the Keras 2 (pre-2.13) serialization format, `{'class_name',
'config'}` without the `module` and `registered_name` keys."""
from ..core.registry import get_registered_name
from ..core.serialization import deserialize_keras_object  # noqa: F401
from ..optimizers import Optimizer, registered_class_name


def serialize_keras_object(instance):
    """`{'class_name': ..., 'config': ...}` for an object with `get_config`, a function's
    (registered) name otherwise. Optimizers carry tf.keras' registered name (`Custom>Adam`).

    Example:

        keras.utils.legacy.serialize_keras_object(keras.initializers.Zeros())
        # {'class_name': 'Zeros', 'config': {}}
    """
    if instance is None:
        return None
    if not hasattr(instance, "get_config"):
        if callable(instance):
            return get_registered_name(instance)
        raise ValueError(f"Cannot serialize {instance!r} since it doesn't implement "
                         "`get_config()`.")
    if isinstance(instance, Optimizer):
        class_name = registered_class_name(instance)
    else:
        class_name = get_registered_name(type(instance))
    return {"class_name": class_name, "config": instance.get_config()}
