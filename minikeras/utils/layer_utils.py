"""`keras.utils.layer_utils`: `count_params`, `print_summary`, `get_source_inputs`, and
`count_flops` (a minikeras extension)."""
import os

import numpy as np

from .. import initializers
from ..core.tensor import as_array
from ..engine.flops import flops_rows
from ..models.summary import print_summary  # noqa: F401


def count_params(weights):
    """The total number of scalars in a list of weights (each counted once)."""
    unique = {id(w): w for w in weights}.values()
    return int(sum(np.prod(np.shape(as_array(w))) for w in unique))


def get_source_inputs(tensor, layer=None, node_index=None):
    """The model inputs (`keras.Input` tensors) `tensor` was computed from, in first-seen
    order; `tensor` itself when it is one."""
    history = getattr(tensor, "_keras_history", None)
    if history is None:
        return [tensor]
    node = tensor.node
    if node.is_input:
        return [tensor]
    sources = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not seen for seen in sources):
                sources.append(source)
    return sources


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


def warmstart_embedding_matrix(base_vocabulary, new_vocabulary, base_embeddings,
                               new_embeddings_initializer="uniform"):
    """An embedding matrix for `new_vocabulary`: rows of terms also in `base_vocabulary` are
    copied from `base_embeddings`, the others drawn from `new_embeddings_initializer`.
    Vocabularies are lists/arrays of terms or paths of text files with one term per line.

    Example:

        matrix = keras.utils.warmstart_embedding_matrix(
            ["unk", "a", "b"], ["unk", "b", "c"], np.random.rand(3, 4).astype("float32"))
        matrix.shape                                   # (3, 4); row 1 is the old row 2
    """
    base_vocabulary = _vocabulary_list(base_vocabulary)
    new_vocabulary = _vocabulary_list(new_vocabulary)
    base_embeddings = np.asarray(as_array(base_embeddings))
    initializer = initializers.get(new_embeddings_initializer)
    matrix = np.array(as_array(initializer(shape=(len(new_vocabulary), base_embeddings.shape[1]),
                                           dtype=base_embeddings.dtype.name)),
                      dtype=base_embeddings.dtype)
    base_index = {term: index for index, term in enumerate(base_vocabulary)}  # last one wins
    for index, term in enumerate(new_vocabulary):
        if term in base_index:
            matrix[index] = base_embeddings[base_index[term]]
    return matrix


def _vocabulary_list(vocabulary):
    if isinstance(vocabulary, str):
        if not os.path.exists(vocabulary):
            raise ValueError(f"Vocabulary file {vocabulary} does not exist.")
        with open(vocabulary, encoding="utf-8") as handle:
            terms = handle.read().splitlines()
    elif isinstance(vocabulary, (np.ndarray, tuple, list)) or hasattr(vocabulary, "data"):
        terms = list(np.asarray(as_array(vocabulary)).tolist())
    else:
        raise ValueError("Vocabulary is expected to be either a NumPy array, list, 1D tensor or "
                         f"a vocabulary text file. Instead type {type(vocabulary)} was received.")
    if not terms:
        raise ValueError("Vocabulary is expected to be either a NumPy array, list, 1D tensor or "
                         "a vocabulary text file with at least one token. Received 0 instead.")
    return terms
