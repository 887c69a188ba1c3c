"""Writes tests/fixtures/keras_io3/ (fid-kio3 sweep of the keras.io examples) with the peer venv:

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 /work/peers/bin/python keras_io3.py --peer

`engspa.npz`: the keras.io example "neural_machine_translation_with_transformer" at a tiny size
(tests/fixtures/keras_io3/engspa_model.py: PositionalEmbedding with compute_mask, a
TransformerEncoder and a TransformerDecoder taking `call(inputs, encoder_outputs, mask=None)`,
the decoder a functional model called on the encoder's output): its parameter count, token ids,
predictions with the patterned starting weights, the History of a 2-epoch fit (rmsprop, sparse
categorical crossentropy, accuracy; padded targets masked by the decoder's mask) and the
predictions after it.
"""
import os
import sys

import numpy as np

from peer import fixture_dir, require_peer

require_peer()
import tf_keras as keras  # noqa: E402

FOLDER = fixture_dir("keras_io3")
sys.path.insert(0, FOLDER)
import engspa_model  # noqa: E402


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


if __name__ == "__main__":
    write_engspa()
