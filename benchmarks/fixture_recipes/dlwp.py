"""Writes tests/fixtures/dlwp/: what tf_keras 2.21 does where DLwP notebook scripts (both
editions, fid-dlwp sweep) showed minikeras differing.
Run with the peer: TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 \
    /work/peers/bin/python benchmarks/fixture_recipes/dlwp.py --peer
and again with `--graph` added (eager execution off, as the K.gradients notebooks need), which
writes dlwp_graph_facts.json."""
import json
import os
import sys

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
GRAPH = "--graph" in sys.argv
import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

if GRAPH:
    tf.compat.v1.disable_eager_execution()


def legacy_config_order():
    """DLwP 8.5's GAN optimizers, RMSprop(lr, clipvalue, decay) (the legacy class, as decay=
    builds it): the key order of get_config(), before and after a training step."""
    orders = {}
    for name, make in (
            ("rmsprop_clipvalue", lambda: keras.optimizers.legacy.RMSprop(
                learning_rate=0.0008, clipvalue=1.0, decay=1e-8)),
            ("adam_clipnorm", lambda: keras.optimizers.legacy.Adam(clipnorm=2.0)),
            ("sgd_plain", lambda: keras.optimizers.legacy.SGD(0.1, momentum=0.9))):
        optimizer = make()
        before = list(optimizer.get_config())
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        model.compile(optimizer, "mse")
        model.train_on_batch(np.array([[1.0, 2.0]], "float32"), np.array([[1.0]], "float32"))
        orders[name] = {"before": before, "after": list(optimizer.get_config())}
    return orders


def vocabulary_types():
    """DLwP 2nd ed. 11.2 prints `text_vectorization.get_vocabulary()`: the Python type of each
    entry (np.str_ / np.int64 / str) for adapted, given and set vocabularies."""
    def types(vocabulary):
        return [type(token).__name__ for token in vocabulary]
    layers = keras.layers
    adapted = layers.TextVectorization()
    adapted.adapt(["b a a", "c"])
    given = layers.TextVectorization(vocabulary=["x", "y"])
    ngrams = layers.TextVectorization(output_mode="multi_hot", ngrams=2)
    ngrams.adapt(["b a a", "c"])
    strings = layers.StringLookup()
    strings.adapt(["b", "a", "a"])
    integers = layers.IntegerLookup()
    integers.adapt([3, 1, 1])
    integers_given = layers.IntegerLookup(vocabulary=[5, 7], mask_token=0)
    facts = {
        "text_adapted": types(adapted.get_vocabulary()),
        "text_adapted_plain": types(adapted.get_vocabulary(include_special_tokens=False)),
        "text_given": types(given.get_vocabulary()),
        "text_ngrams": types(ngrams.get_vocabulary()),
        "string_adapted": types(strings.get_vocabulary()),
        "integer_adapted": types(integers.get_vocabulary()),
        "integer_given": types(integers_given.get_vocabulary()),
        "adapted_repr": repr(adapted.get_vocabulary()),
    }
    adapted.set_vocabulary(["q", "r"])
    facts["text_set"] = types(adapted.get_vocabulary())
    return facts


def function_result_types():
    """DLwP 5.4 / 8.2 / 8.3 print the scalar loss a K.function returns: its type, eager (a plain
    K.function) or in graph mode (with K.gradients, or any function once eager is off)."""
    layers = keras.layers
    inputs = keras.Input((3,))
    outputs = layers.Dense(2)(inputs)
    loss = keras.backend.mean(outputs)
    fetches = [loss, outputs]
    if GRAPH:
        fetches.append(keras.backend.gradients(loss, inputs)[0])
    values = keras.backend.function([inputs], fetches)([np.ones((2, 3), "float32")])
    return [type(value).__name__ for value in values]


def main():
    if GRAPH:
        write("dlwp_graph_facts.json", {"function_result_types": function_result_types()})
        return
    facts = {"function_result_types": function_result_types(),
             "legacy_config_order": legacy_config_order(),
             "vocabulary_types": vocabulary_types()}
    write("dlwp_facts.json", facts)


def write(name, facts):
    folder = fixture_dir("dlwp")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w") as handle:
        json.dump(facts, handle, indent=1, sort_keys=False)


if __name__ == "__main__":
    main()
