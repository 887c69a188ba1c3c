"""`keras.utils.plot_model` and `model_to_dot`: a model's layer graph drawn with Graphviz.

As in tf.keras 2.x, the graph is built with `pydot` (the optional extra `minikeras[plot]`) and
rendered by Graphviz' `dot` program: one record-shaped node per layer (its id is `id(layer)`),
one edge per connection between layers inside the model, expanded nested models as dashed
clusters.
"""
import importlib
import os
import re
import sys

from ..models.model_kind import is_functional

_PYDOT_MISSING = ("You must install pydot (`pip install pydot`) for model_to_dot to work.")
_GRAPHVIZ_MISSING = ("You must install pydot (`pip install pydot`) and install graphviz (see "
                     "instructions at https://graphviz.gitlab.io/download/) for plot_model to "
                     "work.")
_INLINE_IMAGE_FORMATS = ("png", "jpg", "jpeg", "gif")   # what IPython's Image can show
_NOT_BUILT = ("This model has not yet been built. Build the model first by calling `build()` or "
              "by calling the model on a batch of data.")


def _import_pydot():
    """pydot, or one of its API-compatible forks; None when none is installed."""
    for module_name in ("pydot", "pydot_ng", "pydotplus"):
        try:
            return importlib.import_module(module_name)
        except ImportError:
            continue
    return None


def check_pydot():
    """True if pydot is available."""
    return _import_pydot() is not None


def check_graphviz():
    """True if pydot is available and can run Graphviz' `dot` program."""
    pydot = _import_pydot()
    if pydot is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())   # render an empty graph
        return True
    except Exception:   # OSError, FileNotFoundError, or pydot's own InvocationException
        return False


def _in_ipython_shell():
    """True when running inside IPython or a Jupyter kernel (not merely with IPython
    imported, which is where tf.keras' module check would also say yes)."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None


# --- what kind of layer is this ------------------------------------------------------------------
def _is_wrapper(layer):
    """A `Wrapper` layer (TimeDistributed, Bidirectional ...) holding an inner layer."""
    return any(cls.__name__ == "Wrapper" for cls in type(layer).__mro__) and \
        hasattr(layer, "layer")


def _is_wrapped_model(layer):
    return _is_wrapper(layer) and is_functional(layer.layer)


# --- labels ----------------------------------------------------------------------------------------
def _escape_shape(shape):
    """A shape as tf.keras prints it in a record label (braces are record syntax)."""
    return str(shape).replace("{", r"\{").replace("}", r"\}")


def _activation_name(activation):
    for attribute in ("name", "__name__"):
        if hasattr(activation, attribute):
            return getattr(activation, attribute)
    return str(activation)


def _shapes_label(layer):
    try:
        output_text = _escape_shape(layer.output_shape)
    except (AttributeError, RuntimeError):
        output_text = "?"
    try:
        input_text = _escape_shape(layer.input_shape)
    except (AttributeError, RuntimeError):
        input_text = "?"
    return input_text, output_text


def _layer_label(layer, name, class_name, show_shapes, show_dtype, show_layer_names,
                 show_layer_activations, show_trainable):
    """The record label of one layer, built up as tf.keras does: class, then activation,
    name, dtype, an input/output shape table, and the trainable flag in front."""
    label = class_name
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        label = "{%s|%s}" % (label, _activation_name(activation))
    if show_layer_names:
        label = f"{name}|{label}"
    if show_dtype:
        dtype = layer.dtype
        label = f"{label}|{'?' if dtype is None else dtype}"
    if show_shapes:
        input_text, output_text = _shapes_label(layer)
        label = "{%s}|{input:|output:}|{{%s}|{%s}}" % (label, input_text, output_text)
    if show_trainable:
        label = f"{'T' if layer.trainable else 'NT'}|{label}"
    return label


# --- the graph -------------------------------------------------------------------------------------
def _layer_range_bounds(layers, layer_range):
    """`[start, end)` indices of `layers` from the first name matching `layer_range[0]` to the
    last matching `layer_range[1]` (regular expressions, as tf.keras)."""
    if layer_range is None:
        return None
    if len(layer_range) != 2:
        raise ValueError("layer_range must be of shape (2,). Received: "
                         f"layer_range = {layer_range} of length {len(layer_range)}")
    if not isinstance(layer_range[0], str) or not isinstance(layer_range[1], str):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)]
    upper = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not lower or not upper:
        raise ValueError("Passed layer_names do not match the layer names in the model. "
                         f"Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _new_graph(pydot, model, subgraph, rankdir, dpi):
    if subgraph:
        dot = pydot.Cluster(style="dashed", graph_name=model.name)
        dot.set("label", model.name)
        dot.set("labeljust", "l")
        return dot
    dot = pydot.Dot()
    dot.set("rankdir", rankdir)
    dot.set("concentrate", True)
    dot.set("dpi", dpi)
    dot.set_node_defaults(shape="record")
    return dot


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=96, subgraph=False, layer_range=None,
                 show_layer_activations=False, show_trainable=False):
    """The model's layer graph as a `pydot.Dot` (a `pydot.Cluster` with `subgraph=True`).

    Arguments as in `plot_model`; `subgraph=True` returns a dashed cluster named after the
    model (used for expanded nested models).

    Example:
    >>> model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), name="out")])
    >>> dot = keras.utils.model_to_dot(model, show_shapes=True)
    >>> [node.get("label") for node in dot.get_nodes() if node.get("label")]
    ['{out_input|InputLayer}|{input:|output:}|{{[(None, 3)]}|{[(None, 3)]}}', '{out|Dense}|{input:|output:}|{{(None, 3)}|{(None, 2)}}']
    >>> source = dot.to_string()   # the Graphviz source
    """
    if not model.built:
        raise ValueError(_NOT_BUILT)
    pydot = _import_pydot()
    if pydot is None:
        raise ImportError(_PYDOT_MISSING)
    dot = _new_graph(pydot, model, subgraph, rankdir, dpi)
    if not is_functional(model):
        # A subclassed model has no layer graph: one node standing for the whole model.
        dot.add_node(pydot.Node(str(id(model)), label=model.name))
        return dot

    layers = list(model._layers_in_order)   # Sequential's list includes its InputLayer
    bounds = _layer_range_bounds(layers, layer_range)
    options = dict(show_shapes=show_shapes, show_dtype=show_dtype,
                   show_layer_names=show_layer_names, show_layer_activations=show_layer_activations,
                   show_trainable=show_trainable)
    if bounds:
        layers = layers[bounds[0]:bounds[1]]
    clusters = {}   # id(nested model) -> (first node, last node) of its expanded cluster
    for layer in layers:
        _add_layer_nodes(pydot, dot, layer, rankdir, expand_nested, clusters, options)
    drawn = {id(layer) for layer in layers}
    for layer in layers:
        for inbound_layer in _inbound_layers_in_model(model, layer):
            # With a layer_range, connections from layers outside the range are left out.
            if id(inbound_layer) in drawn:
                _add_layer_edge(pydot, dot, inbound_layer, layer, expand_nested, clusters)
    return dot


def _add_layer_nodes(pydot, dot, layer, rankdir, expand_nested, clusters, options):
    """The node of one layer, or the cluster of an expanded nested model (or of the model a
    wrapper holds, next to the wrapper's own node)."""
    name, class_name = layer.name, type(layer).__name__
    if _is_wrapper(layer):
        if expand_nested and is_functional(layer.layer):
            _add_cluster(dot, layer.layer, rankdir, clusters, options)
        else:
            name = f"{name}({layer.layer.name})"
            class_name = f"{class_name}({type(layer.layer).__name__})"
    if expand_nested and is_functional(layer):
        _add_cluster(dot, layer, rankdir, clusters, options)
        return
    label = _layer_label(layer, name, class_name, **options)
    dot.add_node(pydot.Node(str(id(layer)), label=label))


def _add_cluster(dot, nested_model, rankdir, clusters, options):
    cluster = model_to_dot(nested_model, rankdir=rankdir, expand_nested=True, subgraph=True,
                           **options)
    nodes = cluster.get_nodes()
    clusters[id(nested_model)] = (nodes[0].get_name(), nodes[-1].get_name())
    dot.add_subgraph(cluster)


def _inbound_layers_in_model(model, layer):
    """Layers feeding `layer` through the calls that belong to this model's graph."""
    inbound = []
    for node in layer._inbound_nodes:
        if node in model._network_nodes:
            inbound.extend(node.inbound_layers)
    return inbound


def _add_layer_edge(pydot, dot, source_layer, target_layer, expand_nested, clusters):
    """An edge between two layers; with `expand_nested`, edges into and out of a nested
    model's cluster attach to its first and last node."""
    source, target = str(id(source_layer)), str(id(target_layer))
    if expand_nested:
        if is_functional(source_layer):
            source = clusters[id(source_layer)][1]
        elif _is_wrapped_model(source_layer):
            source = clusters[id(source_layer.layer)][1]
        if is_functional(target_layer):
            target = clusters[id(target_layer)][0]
        elif _is_wrapped_model(target_layer):
            _add_edge(pydot, dot, target, clusters[id(target_layer.layer)][0])
    _add_edge(pydot, dot, source, target)


def _add_edge(pydot, dot, source, target):
    if not dot.get_edge(source, target):
        dot.add_edge(pydot.Edge(source, target))


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False,
               show_layer_names=True, rankdir="TB", expand_nested=False, dpi=96, layer_range=None,
               show_layer_activations=False, show_trainable=False):
    """Draw the model's layer graph into `to_file` (format from its extension, PNG by default).

    Arguments:
        model: a built Keras model.
        to_file: file name of the picture; its extension (`.png`, `.svg`, `.pdf`, `.dot` ...)
            chooses the format.
        show_shapes: show each layer's input and output shapes.
        show_dtype: show each layer's dtype.
        show_layer_names: show each layer's name.
        rankdir: Graphviz' `rankdir`: 'TB' draws top to bottom, 'LR' left to right.
        expand_nested: draw nested models as clusters of their layers.
        dpi: resolution of the picture.
        layer_range: `[first, last]` layer names (regular expressions) to draw a part.
        show_layer_activations: show the activation of layers that have one.
        show_trainable: mark each layer 'T' (trainable) or 'NT'.

    Returns:
        an `IPython.display.Image` of the file when IPython is installed (so a notebook shows
        it inline), else None.

    Example:
    >>> model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    >>> image = keras.utils.plot_model(model, to_file="model.png", show_shapes=True)
    >>> os.path.getsize("model.png") > 0
    True
    """
    if not model.built:
        raise ValueError(_NOT_BUILT)
    if not check_graphviz():
        if _in_ipython_shell():
            # tf.keras prints instead of raising inside IPython, so a notebook keeps running.
            print(_GRAPHVIZ_MISSING)
            return None
        raise ImportError(_GRAPHVIZ_MISSING)
    dot = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype,
                       show_layer_names=show_layer_names, rankdir=rankdir,
                       expand_nested=expand_nested, dpi=dpi, layer_range=layer_range,
                       show_layer_activations=show_layer_activations,
                       show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    extension = os.path.splitext(to_file)[1][1:] or "png"
    dot.write(to_file, format=extension)
    if extension.lower() not in _INLINE_IMAGE_FORMATS:
        return None
    try:
        from IPython import display
    except ImportError:
        return None
    return display.Image(filename=to_file)
