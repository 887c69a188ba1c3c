"""Writes tests/fixtures/keras_io3/ (fid-kio3 sweep of the keras.io examples) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python keras_io3.py --peer

`engspa.npz`: the keras.io example "neural_machine_translation_with_transformer" at a tiny size
(tests/fixtures/keras_io3/engspa_model.py: PositionalEmbedding with compute_mask, a
TransformerEncoder and a TransformerDecoder taking `call(inputs, encoder_outputs, mask=None)`,
the decoder a functional model called on the encoder's output): its parameter count, token ids,
predictions with the patterned starting weights, the History of a 2-epoch fit (rmsprop, sparse
categorical crossentropy, accuracy; padded targets masked by the decoder's mask) and the
predictions after it.

`glove.tk.keras`, `glove.tk.h5`, `glove.k3.keras`, `glove.npz`: the keras.io example
"pretrained_word_embeddings"' frozen `Embedding(embeddings_initializer=Constant(matrix),
trainable=False)` (a float64 NumPy matrix) behind a Conv1D/GlobalMaxPooling1D/Dense head,
saved by tf_keras 2.21 (`.keras`, `.h5`) and by Keras 3.15.1 (`.keras`, the `k3` argument, run
in a subprocess): both write the matrix as {"class_name": "__numpy__", ...} in the Constant's
config (tf_keras cannot read its own `.h5` back: "Unknown object: '__numpy__'"); the npz holds
the matrix, token ids and each writer's predictions.

`vocab_weights.json`: a model of adapted IntegerLookup (binary), StringLookup (tf_idf), a
StringLookup with a given vocabulary, Normalization and TextVectorization (count) before a Dense
(tests/fixtures/keras_io3/vocab_model.py): `model.get_weights()` (tf_keras lists each adapted
vocabulary among the model's weights), then `set_weights` of changed values
(vocab_model.changed_weights): the layers' vocabularies, `get_weights()` and predictions after.
"""
import json
import os
import subprocess
import sys

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402

FOLDER = fixture_dir("keras_io3")
sys.path.insert(0, FOLDER)
import engspa_model  # noqa: E402
import vocab_model  # noqa: E402


def write_engspa():
    model = engspa_model.build(keras)
    model.set_weights(engspa_model.patterned_weights(model))
    enc, dec, target = engspa_model.data()
    before = model.predict([enc, dec], verbose=0)
    model.compile("rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit([enc, dec], target, epochs=2, batch_size=4, shuffle=False, verbose=0)
    after = model.predict([enc, dec], verbose=0)
    np.savez(os.path.join(FOLDER, "engspa.npz"), count_params=model.count_params(), enc=enc,
             dec=dec, target=target, before=before, after=after,
             loss=history.history["loss"], accuracy=history.history["accuracy"])


def _plain(value):
    value = np.asarray(value)
    if value.dtype.kind in "OS":
        return {"dtype": "bytes", "value": [v.decode() for v in value.ravel().tolist()]}
    return {"dtype": value.dtype.name, "shape": list(value.shape), "value": value.ravel().tolist()}


def write_vocab_weights():
    model = vocab_model.build(keras)
    before = model.get_weights()
    model.set_weights(vocab_model.changed_weights(before))
    lookups = [layer for layer in model.layers if hasattr(layer, "get_vocabulary")]
    facts = {"weights": [_plain(w) for w in before],
             "after": [_plain(w) for w in model.get_weights()],
             "vocabularies": {layer.name: [v if isinstance(v, (str, int)) else int(v)
                                           for v in layer.get_vocabulary()] for layer in lookups},
             "predictions": model.predict(vocab_model.inputs(), verbose=0).ravel().tolist()}
    with open(os.path.join(FOLDER, "vocab_weights.json"), "w") as file:
        json.dump(facts, file, indent=1)


def glove_model(keras, matrix):
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = keras.layers.Embedding(matrix.shape[0], matrix.shape[1], trainable=False,
                               embeddings_initializer=keras.initializers.Constant(matrix))(inputs)
    x = keras.layers.Conv1D(4, 3, activation="relu", kernel_initializer="ones")(x)
    x = keras.layers.GlobalMaxPooling1D()(x)
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax",
                                                  kernel_initializer="ones")(x))


def glove_data():
    matrix = np.sin(np.arange(24, dtype="float64") * 0.9).reshape(8, 3)
    tokens = np.array([[1, 2, 3, 4, 0], [5, 6, 7, 0, 0]], "int64")
    return matrix, tokens


def write_glove():
    matrix, tokens = glove_data()
    model = glove_model(keras, matrix)
    model.save(os.path.join(FOLDER, "glove.tk.keras"))
    model.save(os.path.join(FOLDER, "glove.tk.h5"))
    tk_preds = model.predict(tokens, verbose=0)
    subprocess.run([sys.executable, os.path.abspath(__file__), "k3", "--peer"], check=True)
    k3_preds = np.load(os.path.join(FOLDER, "glove_k3_preds.npy"))
    os.remove(os.path.join(FOLDER, "glove_k3_preds.npy"))
    np.savez(os.path.join(FOLDER, "glove.npz"), matrix=matrix, tokens=tokens,
             tk_preds=tk_preds, k3_preds=k3_preds)


def write_glove_k3():
    import keras as keras3
    matrix, tokens = glove_data()
    model = glove_model(keras3, matrix)
    model.save(os.path.join(FOLDER, "glove.k3.keras"))
    np.save(os.path.join(FOLDER, "glove_k3_preds.npy"), model.predict(tokens, verbose=0))


if __name__ == "__main__":
    if sys.argv[1:] == ["k3"]:
        write_glove_k3()
    else:
        write_engspa()
        write_glove()
        write_vocab_weights()
