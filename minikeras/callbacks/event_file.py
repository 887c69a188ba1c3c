"""TensorBoard event files written without TensorFlow.

An event file is a TFRecord stream: each record is `length (uint64 LE)`, the masked CRC-32C
of those 8 bytes, the payload, the masked CRC-32C of the payload. Each payload is a protobuf
`tensorflow.Event`; the fields written here (numbers from TensorFlow's `event.proto` and
`summary.proto`) are:

    Event:          wall_time = 1 (double), step = 2 (int64), file_version = 3 (string),
                    summary = 5 (Summary)
    Summary:        value = 1 (repeated Value)
    Value:          tag = 1 (string), simple_value = 2 (float), histo = 5 (HistogramProto),
                    tensor = 8, metadata = 9 (the Keras model config, `keras_model_value`)
    HistogramProto: min = 1, max = 2, num = 3, sum = 4, sum_squares = 5 (doubles),
                    bucket_limit = 6, bucket = 7 (packed repeated doubles)

TensorBoard reads scalars from `simple_value` and histograms from `histo`.
"""
import contextlib
import os
import socket
import struct
import time

import numpy as np

from ..core.durable import interrupts_deferred
from ..core.wire_format import masked_crc32c, varint

def tfrecord(payload):
    """One TFRecord: framed length, payload, both with their masked CRCs."""
    length = struct.pack("<Q", len(payload))
    return (length + struct.pack("<I", masked_crc32c(length)) + payload +
            struct.pack("<I", masked_crc32c(payload)))


# --- protobuf wire format ----------------------------------------------------------------------
def _key(field, wire_type):
    return varint((field << 3) | wire_type)


def _double(field, value):
    return _key(field, 1) + struct.pack("<d", float(value))


def _float(field, value):
    return _key(field, 5) + struct.pack("<f", float(value))


def _int(field, value):
    return _key(field, 0) + varint(int(value))


def _bytes(field, value):
    if isinstance(value, str):
        value = value.encode("utf-8")
    return _key(field, 2) + varint(len(value)) + value


def _packed_doubles(field, values):
    return _bytes(field, struct.pack(f"<{len(values)}d", *values))


def scalar_value(tag, value):
    """A `Summary.Value` holding a float."""
    return _bytes(1, tag) + _float(2, value)


def histogram_value(tag, values, bucket_count=30):
    """A `Summary.Value` holding a `HistogramProto` of `values` (equal-width buckets)."""
    data = np.asarray(values, dtype=np.float64).ravel()
    if data.size == 0:
        lower = upper = 0.0
        counts, edges = np.zeros(1), np.array([0.0, 0.0])
    else:
        lower, upper = float(data.min()), float(data.max())
        if lower == upper:
            lower, upper = lower - 0.5, upper + 0.5
        counts, edges = np.histogram(data, bins=bucket_count, range=(lower, upper))
    histo = (_double(1, data.min() if data.size else 0.0) +
             _double(2, data.max() if data.size else 0.0) + _double(3, data.size) +
             _double(4, data.sum()) + _double(5, np.square(data).sum()) +
             _packed_doubles(6, [float(e) for e in edges[1:]]) +
             _packed_doubles(7, [float(c) for c in counts]))
    return _bytes(1, tag) + _bytes(5, histo)


def keras_model_value(tag, model_json):
    """A `Summary.Value` (metadata = 9, tensor = 8) holding the model's JSON config as a string
    tensor (TensorProto: dtype = 1 (DT_STRING = 7), tensor_shape = 2, string_val = 8), tagged
    for TensorBoard's Keras graph plugin (SummaryMetadata.plugin_data = 1: name = 1,
    content = 2)."""
    metadata = _bytes(1, _bytes(1, "graph_keras_model") + _bytes(2, b"1"))
    tensor = _int(1, 7) + _bytes(2, b"") + _bytes(8, model_json)
    return _bytes(1, tag) + _bytes(9, metadata) + _bytes(8, tensor)


def event(step, values=(), wall_time=None, file_version=None):
    """A serialized `Event` with a `Summary` of the given serialized values."""
    out = _double(1, time.time() if wall_time is None else wall_time) + _int(2, step)
    if file_version is not None:
        out += _bytes(3, file_version)
    if values:
        out += _bytes(5, b"".join(_bytes(1, value) for value in values))
    return out


class EventFileWriter:
    """Appends events to `<log_dir>/events.out.tfevents.<time>.<host>.<pid>.<n>.v2`, the file
    name tf.summary writers use, opened lazily and flushed after every write."""

    _count = 0

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self._file = None

    def _open(self):
        os.makedirs(self.log_dir, exist_ok=True)
        EventFileWriter._count += 1
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{EventFileWriter._count}.v2")
        self.path = os.path.join(self.log_dir, name)
        self._file = open(self.path, "ab", buffering=0)   # unbuffered: whole records
        self._append(tfrecord(event(0, file_version="brain.Event:2")))

    def write(self, step, values):
        if self._file is None:
            self._open()
        self._append(tfrecord(event(step, values)))

    def _append(self, record):
        """Write whole records only: a write that fails midway (a full disk) is cut back off,
        else every later record would sit behind a torn one that readers stop at. Ctrl-C
        waits for the record."""
        with interrupts_deferred():
            descriptor = self._file.fileno()
            start = os.fstat(descriptor).st_size
            try:
                view = memoryview(record)
                while view:
                    view = view[self._file.write(view):]
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(descriptor, start)
                raise

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
