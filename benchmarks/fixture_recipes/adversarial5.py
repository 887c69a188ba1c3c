"""fid-adv5: print what tf_keras 2.21 says in the cases tests/robustness/test_adversarial_round5.py
encodes as strings (it writes no fixture files: the tests hold the words themselves).

    TF_CPP_MIN_LOG_LEVEL=3 /work/peers/bin/python benchmarks/fixture_recipes/adversarial5.py --peer
"""
import os
import shutil
import tempfile

import numpy as np

import peer

peer.require_peer()
import tf_keras as keras  # noqa: E402

L = keras.layers


def show(title, run):
    try:
        print(f"{title}: ok -> {run()}")
    except Exception as error:      # noqa: BLE001 - printed
        print(f"{title}: {type(error).__name__}: {' '.join(str(error).split())[:400]}")


def model():
    m = keras.Sequential([keras.Input((3,)), L.Dense(3, activation="softmax")])
    m.compile("sgd", "sparse_categorical_crossentropy")
    return m


X = np.linspace(-1, 1, 24, dtype="float32").reshape(8, 3)
Y = np.arange(8).reshape(8, 1) % 3


def yields_then(later):
    yield X[:2], Y[:2]
    yield X[2:4], Y[2:4]
    while True:
        yield later


show("Dense.from_config(units='x')", lambda: L.Dense.from_config({"units": "x"}))
show("Dense(name=7)", lambda: L.Dense(2, name=7))
show("Sequential.from_config({'a': 1})", lambda: keras.Sequential.from_config({"a": 1}))
for label, later in [("(x, y, w)", (X[:2], Y[:2], np.ones(2))), ("(x, None)", (X[:2], None)),
                     ("x rank 3", (X[:2, :, None], Y[:2])), ("y rank 1", (X[:2], Y[:2, 0]))]:
    show(f"generator then {label}",
         lambda: model().fit(yields_then(later), steps_per_epoch=4, verbose=0))
directory = tempfile.mkdtemp()
try:
    path = os.path.join(directory, "sm")
    model().save(path)
    metadata = os.path.join(path, "keras_metadata.pb")
    data = bytearray(open(metadata, "rb").read())
    data[data.index(b'"class_name"') + 2] = 0xE1
    open(metadata, "wb").write(bytes(data))
    show("SavedModel, metadata not UTF-8", lambda: keras.models.load_model(path))
    os.remove(metadata)
    show("SavedModel, no metadata", lambda: keras.models.load_model(path))
finally:
    shutil.rmtree(directory)
