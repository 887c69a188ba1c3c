"""`keras.callbacks.TensorBoard`: event files decoded here with a minimal TFRecord/protobuf
reader (field numbers of TensorFlow's event.proto/summary.proto), checked against the logs
the training produced."""
import os
import struct

import numpy as np
import pytest

import minikeras as keras
from minikeras.callbacks import event_file
from minikeras.core import wire_format


def test_crc32c_matches_the_castagnoli_check_value():
    assert wire_format.crc32c(b"123456789") == 0xE3069283
    assert wire_format.crc32c(b"") == 0


# --- a minimal reader -------------------------------------------------------------------------
def _records(path):
    data = open(path, "rb").read()
    position, out = 0, []
    while position < len(data):
        header = data[position:position + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[position + 8:position + 12])
        assert header_crc == event_file.masked_crc32c(header)
        payload = data[position + 12:position + 12 + length]
        (payload_crc,) = struct.unpack("<I", data[position + 12 + length:position + 16 + length])
        assert payload_crc == event_file.masked_crc32c(payload)
        out.append(payload)
        position += 16 + length
    return out


def _varint(data, position):
    shift = value = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, position


def _fields(message):
    """{field number: [raw values]}: ints for varints, bytes otherwise."""
    fields, position = {}, 0
    while position < len(message):
        key, position = _varint(message, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(message, position)
        elif wire == 1:
            value, position = message[position:position + 8], position + 8
        elif wire == 5:
            value, position = message[position:position + 4], position + 4
        else:
            length, position = _varint(message, position)
            value, position = message[position:position + length], position + length
        fields.setdefault(number, []).append(value)
    return fields


def _scalars(log_dir):
    """[(step, tag, value)] of the simple values in the one event file under `log_dir`."""
    (name,) = os.listdir(log_dir)
    assert name.startswith("events.out.tfevents.") and name.endswith(".v2")
    out = []
    records = _records(os.path.join(log_dir, name))
    assert _fields(records[0])[3] == [b"brain.Event:2"]
    for record in records[1:]:
        event = _fields(record)
        step = event.get(2, [0])[0]
        for value in _fields(event[5][0])[1]:
            value = _fields(value)
            if 2 in value:
                out.append((step, value[1][0].decode(), struct.unpack("<f", value[2][0])[0]))
    return out


def test_epoch_batch_and_evaluation_scalars_as_tf_keras(tmp_path):
    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,), activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.RandomState(0)
    x, y = rng.rand(20, 3).astype("float32"), rng.randint(0, 2, 20)
    callback = keras.callbacks.TensorBoard(str(tmp_path), update_freq=2, write_graph=False)
    history = model.fit(x, y, epochs=2, validation_split=0.2, batch_size=8, verbose=0,
                        callbacks=[callback]).history
    train = _scalars(tmp_path / "train")
    validation = _scalars(tmp_path / "validation")
    for epoch in range(2):
        for name in ("loss", "accuracy"):
            assert (epoch, f"epoch_{name}", pytest.approx(history[name][epoch])) in train
            assert (epoch, f"epoch_{name}",
                    pytest.approx(history["val_" + name][epoch])) in validation
            # two batches per epoch: the evaluation follows optimizer step 2 and 4
            assert (2 * epoch + 2, f"evaluation_{name}_vs_iterations",
                    pytest.approx(history["val_" + name][epoch])) in validation
    batch_steps = sorted({step for step, tag, _ in train if tag.startswith("batch_")})
    assert batch_steps == [2, 4]   # update_freq=2: every second batch, at the optimizer step


def test_histograms_and_model_graph(tmp_path):
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(2,))])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 2)), np.zeros((4, 3)), epochs=1, verbose=0,
              callbacks=[keras.callbacks.TensorBoard(str(tmp_path), histogram_freq=1)])
    (name,) = os.listdir(tmp_path / "train")
    values = [_fields(v) for record in _records(tmp_path / "train" / name)[1:]
              for v in _fields(_fields(record)[5][0])[1]]
    graph = [v for v in values if v[1] == [b"keras"]]
    assert graph and b"Sequential" in _fields(graph[0][8][0])[8][0]
    histograms = {v[1][0].decode(): _fields(v[5][0]) for v in values if 5 in v}
    kernel = model.layers[0].kernel.numpy()
    histogram = histograms["dense/kernel_0/histogram"]
    assert struct.unpack("<d", histogram[3][0])[0] == kernel.size
    assert struct.unpack("<d", histogram[1][0])[0] == pytest.approx(kernel.min())
    counts = struct.unpack(f"<{len(histogram[7][0]) // 8}d", histogram[7][0])
    assert sum(counts) == kernel.size


def test_arguments_tf_keras_rejects_or_this_writer_cannot_honour():
    with pytest.raises(ValueError, match="Unrecognized arguments in `TensorBoard`"):
        keras.callbacks.TensorBoard(foo=1)
    with pytest.raises(NotImplementedError, match="embeddings_freq"):
        keras.callbacks.TensorBoard(embeddings_freq=1)
    with pytest.raises(NotImplementedError, match="profile_batch"):
        keras.callbacks.TensorBoard(profile_batch=2)
    keras.callbacks.TensorBoard(batch_size=32, write_grads=True)   # Keras 2: warned, ignored
