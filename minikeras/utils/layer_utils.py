"""Model-level helpers: `count_flops` (a minikeras extension)."""
from ..engine.flops import flops_rows


def count_flops(model, expand_nested=False):
    """The FLOPs column of `model.summary(show_flops=True)` as data: one dict per layer,
    `{"name", "class_name", "flops", "nested_level"}`, in `model.layers` order (with
    `expand_nested`, a nested model's layers follow it one level deeper).

    `flops` is per sample, a multiply-add counting 2 (see `minikeras.engine.flops` for what
    each layer counts); `None` for a layer whose cost is not modelled (e.g. `Lambda`).

    Example:
    >>> model = keras.Sequential([keras.layers.Dense(4, input_shape=(3,)), keras.layers.Dense(2)])
    >>> [(row["name"], row["flops"]) for row in keras.utils.count_flops(model)]
    [('dense', 24), ('dense_1', 16)]
    """
    if not model.built:
        raise ValueError("This model has not yet been built. Build the model first by calling "
                         "`build()` or by calling the model on a batch of data.")
    return flops_rows(model, expand_nested)
