"""What kind of model an object is: one place for the checks that saving, summaries, configs and
cloning make. Decided from the class name and the graph flag, so any module on the models floor
or above can ask without importing the model classes (no cycle with `sequential`)."""


def is_sequential(model):
    """A `Sequential` (the class itself, not a subclass of it), built or not yet built."""
    return type(model).__name__ == "Sequential"


def is_functional(model):
    """A model that runs a recorded graph of layers: `Model(inputs, outputs)`, a `Functional`
    subclass, or a `Sequential` once it knows its input shape."""
    return getattr(model, "_is_graph_network", False)


def is_subclassed(model):
    """A model defined by the body of its `call` method: neither a layer graph nor a
    `Sequential`."""
    return not is_functional(model) and not is_sequential(model)
