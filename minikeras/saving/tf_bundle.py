"""TensorFlow's tensor-bundle files (`<prefix>.index` + `<prefix>.data-00000-of-00001`), the
storage of `tf.train.Checkpoint` and of tf.keras 2's default `save_weights` format.

- `.data-00000-of-00001`: the tensors' bytes one after another (little-endian, C order, no
  padding). A string tensor is its lengths as varint64s, a masked CRC32C of those length
  bytes (4 bytes), then the strings' bytes.
- `.index`: a LevelDB-style sorted table mapping each key to a serialized proto: under the empty
  key a `BundleHeaderProto` (num_shards, endianness, version), under every tensor's key a
  `BundleEntryProto` (dtype, shape, shard, offset, size, masked CRC32C of the bytes).
- Table: data blocks of prefix-compressed entries (`shared`, `non_shared`, `value_length` as
  varint32s, then the key's new bytes and the value) with a restart point (an entry holding its
  whole key) every 16 entries, closed by the restart offsets (uint32 each) and their count;
  every block is followed by a compression byte (0: none) and a masked CRC32C of the block and
  that byte. Then an empty meta-index block, an index block (per data block: a key >= its last
  key and < the next block's first, mapped to the block's varint64 offset and size), and a
  48-byte footer: both handles zero-padded to 40 bytes, then the magic number.
Protocol buffers are encoded by hand (varints, length-delimited fields): no dependency.
"""
import struct

import numpy as np

from ..core.wire_format import crc32c, masked_crc32c, varint

TABLE_MAGIC = 0xdb4775248b80fb57
FOOTER_SIZE = 48
BLOCK_RESTART_INTERVAL = 16
BLOCK_SIZE = 256 * 1024           # tf's bundle writer closes a data block past this many bytes

# TensorFlow's DataType enum values and the NumPy dtypes they hold.
DTYPE_TO_NUMPY = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16,
                  6: np.int8, 9: np.int64, 10: np.bool_, 17: np.uint16, 19: np.float16,
                  22: np.uint32, 23: np.uint64}
DT_STRING = 7
NUMPY_TO_DTYPE = {np.dtype(v): k for k, v in DTYPE_TO_NUMPY.items()}
DTYPE_NAMES = {1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
               7: "string", 9: "int64", 10: "bool", 14: "bfloat16", 17: "uint16",
               19: "float16", 22: "uint32", 23: "uint64"}


class BundleFormatError(ValueError):
    """The bytes are not a well-formed tensor bundle."""


# --- protocol buffer wire format ------------------------------------------------------------
def read_varint(data, position):
    """(value, next position) of the varint at `position`."""
    result, shift = 0, 0
    while True:
        if position >= len(data) or shift > 63:
            raise BundleFormatError("truncated or overlong varint")
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def field_varint(number, value, keep_default=False):
    """A varint field; proto3 leaves out a field at its default (0) value."""
    if not value and not keep_default:
        return b""
    return varint(number << 3) + varint(int(value))


def field_bytes(number, payload, keep_default=False):
    if isinstance(payload, str):
        payload = payload.encode("utf8")
    if not payload and not keep_default:
        return b""
    return varint((number << 3) | 2) + varint(len(payload)) + payload


def field_fixed32(number, value):
    return varint((number << 3) | 5) + struct.pack("<I", value)


def parse_message(data):
    """{field number: [values]} of a serialized message: ints for varint and fixed fields,
    bytes for length-delimited ones (nested messages are parsed by the caller)."""
    data = bytes(data)
    fields, position = {}, 0
    while position < len(data):
        key, position = read_varint(data, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = read_varint(data, position)
        elif wire_type == 1:
            value = struct.unpack_from("<Q", data, position)[0] if position + 8 <= len(data) \
                else _truncated()
            position += 8
        elif wire_type == 2:
            length, position = read_varint(data, position)
            if position + length > len(data):
                _truncated()
            value = data[position:position + length]
            position += length
        elif wire_type == 5:
            value = struct.unpack_from("<I", data, position)[0] if position + 4 <= len(data) \
                else _truncated()
            position += 4
        else:
            raise BundleFormatError(f"unsupported protobuf wire type {wire_type}")
        fields.setdefault(number, []).append(value)
    return fields


def _truncated():
    raise BundleFormatError("truncated protobuf message")


def first(fields, number, default=0):
    values = fields.get(number)
    return values[-1] if values else default


# --- bundle protos ----------------------------------------------------------------------------
def header_proto(num_shards=1):
    """BundleHeaderProto: num_shards (1), endianness (2, LITTLE = 0), version (3: producer 1)."""
    return field_varint(1, num_shards) + field_bytes(3, field_varint(1, 1))


def shape_proto(shape):
    return b"".join(field_bytes(2, field_varint(1, size), keep_default=True) for size in shape)


def entry_proto(dtype, shape, offset, size, checksum):
    """BundleEntryProto: dtype (1), shape (2), shard_id (3), offset (4), size (5),
    crc32c (6, fixed32)."""
    return (field_varint(1, dtype) + field_bytes(2, shape_proto(shape), keep_default=True)
            + field_varint(4, offset)
            + field_varint(5, size) + field_fixed32(6, checksum))


def parse_entry(raw):
    fields = parse_message(raw)
    shape_fields = parse_message(first(fields, 2, b""))
    if first(shape_fields, 3):
        raise BundleFormatError("a tensor of unknown rank")
    shape = tuple(first(parse_message(dim), 1) for dim in shape_fields.get(2, []))
    if fields.get(7):
        raise BundleFormatError("partitioned (sliced) variables are not supported")
    return {"dtype": first(fields, 1), "shape": shape, "shard_id": first(fields, 3),
            "offset": first(fields, 4), "size": first(fields, 5), "crc32c": first(fields, 6)}


# --- tensor bytes -----------------------------------------------------------------------------
def _string_lengths_crc(lengths):
    """The CRC of the string lengths, each as a uint32 (a uint64 past 4 GiB), not as the
    varints written."""
    crc = 0
    for length in lengths:
        crc = crc32c(struct.pack("<I" if length <= 0xFFFFFFFF else "<Q", length), crc)
    return crc


def encode_tensor(value):
    """(dtype enum, shape, bytes, masked checksum) of a NumPy array or of a `bytes` scalar (a
    string tensor). A string tensor's checksum covers its lengths (as integers), the stored
    length checksum and the strings; any other tensor's covers its bytes."""
    if isinstance(value, bytes):
        crc = _string_lengths_crc([len(value)])
        length_checksum = struct.pack("<I", masked_crc32c(b"", crc))
        crc = crc32c(value, crc32c(length_checksum, crc))
        return DT_STRING, (), varint(len(value)) + length_checksum + value, \
            masked_crc32c(b"", crc)
    array = np.asarray(value)
    dtype = NUMPY_TO_DTYPE.get(array.dtype.newbyteorder("="))
    if dtype is None:
        raise NotImplementedError(f"Cannot write a {array.dtype} tensor to a TensorFlow "
                                  "checkpoint.")
    raw = np.ascontiguousarray(array, array.dtype.newbyteorder("<")).tobytes()
    return dtype, array.shape, raw, masked_crc32c(raw)


def decode_tensor(entry, data, key):
    """The value of `entry` from its bytes: a NumPy array, or bytes for a scalar string."""
    if entry["dtype"] == DT_STRING:
        return _decode_strings(entry, data, key)
    if masked_crc32c(data) != entry["crc32c"]:
        raise BundleFormatError(f"checksum mismatch for the tensor {key!r} (corrupt data file)")
    numpy_dtype = DTYPE_TO_NUMPY.get(entry["dtype"])
    if numpy_dtype is None:
        name = DTYPE_NAMES.get(entry["dtype"], f"enum {entry['dtype']}")
        raise NotImplementedError(f"The tensor {key!r} has dtype {name}, which minikeras cannot "
                                  "read from a TensorFlow checkpoint.")
    dtype = np.dtype(numpy_dtype).newbyteorder("<")
    expected = int(np.prod(entry["shape"], dtype=np.int64)) * dtype.itemsize
    if expected != len(data):
        raise BundleFormatError(f"the tensor {key!r} holds {len(data)} bytes, its shape "
                                f"{entry['shape']} needs {expected}")
    return np.frombuffer(data, dtype).astype(numpy_dtype).reshape(entry["shape"])


def _decode_strings(entry, data, key):
    count = int(np.prod(entry["shape"], dtype=np.int64))
    lengths, position = [], 0
    for _ in range(count):
        length, position = read_varint(data, position)
        lengths.append(length)
    crc = _string_lengths_crc(lengths)
    if data[position:position + 4] != struct.pack("<I", masked_crc32c(b"", crc)):
        raise BundleFormatError(f"the length checksum of the string tensor {key!r} does not "
                                "match (corrupt data file)")
    if masked_crc32c(b"", crc32c(data[position:], crc)) != entry["crc32c"]:
        raise BundleFormatError(f"checksum mismatch for the tensor {key!r} (corrupt data file)")
    position += 4
    strings = []
    for length in lengths:
        strings.append(bytes(data[position:position + length]))
        position += length
    if position != len(data):
        raise BundleFormatError(f"the string tensor {key!r} has inconsistent lengths")
    if not entry["shape"]:
        return strings[0]
    return np.array(strings, dtype=object).reshape(entry["shape"])


# --- the sorted table -------------------------------------------------------------------------
def _shared_prefix_length(a, b):
    limit = min(len(a), len(b))
    n = 0
    while n < limit and a[n] == b[n]:
        n += 1
    return n


class _BlockBuilder:
    def __init__(self):
        self.buffer = bytearray()
        self.restarts = [0]
        self.counter = 0
        self.last_key = b""

    def add(self, key, value):
        shared = 0
        if self.counter < BLOCK_RESTART_INTERVAL:
            shared = _shared_prefix_length(self.last_key, key)
        else:
            self.restarts.append(len(self.buffer))
            self.counter = 0
        self.buffer += varint(shared) + varint(len(key) - shared) + varint(len(value))
        self.buffer += key[shared:] + value
        self.last_key = key
        self.counter += 1

    def size_estimate(self):
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def finish(self):
        return bytes(self.buffer) + b"".join(struct.pack("<I", r) for r in self.restarts) + \
            struct.pack("<I", len(self.restarts))


def _short_separator(start, limit):
    """A short key in [start, limit) (LevelDB's bytewise FindShortestSeparator)."""
    n = _shared_prefix_length(start, limit)
    if n < min(len(start), len(limit)):
        byte = start[n]
        if byte < 0xFF and byte + 1 < limit[n]:
            return start[:n] + bytes([byte + 1])
    return start


def _short_successor(key):
    """A short key >= `key` (LevelDB's bytewise FindShortSuccessor)."""
    for i, byte in enumerate(key):
        if byte != 0xFF:
            return key[:i] + bytes([byte + 1])
    return key


def _block_handle(offset, size):
    return varint(offset) + varint(size)


def build_table(items):
    """The bytes of a table holding the (key bytes, value bytes) pairs, keys sorted."""
    out = bytearray()
    index = _BlockBuilder()
    block = _BlockBuilder()
    pending_handle = None          # the last closed data block, waiting for the next key

    def write_block(contents):
        offset = len(out)
        out.extend(contents)
        trailer_type = b"\x00"
        out.extend(trailer_type + struct.pack("<I", masked_crc32c(contents + trailer_type)))
        return _block_handle(offset, len(contents))

    previous = None
    for key, value in items:
        if previous is not None and key <= previous:
            raise ValueError(f"table keys must be added in increasing order: {key!r}")
        if pending_handle is not None:
            index.add(_short_separator(previous, key), pending_handle)
            pending_handle = None
        block.add(key, value)
        previous = key
        if block.size_estimate() >= BLOCK_SIZE:
            pending_handle = write_block(block.finish())
            block = _BlockBuilder()
    if block.counter or block.buffer:
        pending_handle = write_block(block.finish())
    if pending_handle is not None:
        index.add(_short_successor(previous), pending_handle)
    meta_handle = write_block(_BlockBuilder().finish())
    index_handle = write_block(index.finish())
    footer = meta_handle + index_handle
    out.extend(footer + b"\x00" * (FOOTER_SIZE - 8 - len(footer)))
    out.extend(struct.pack("<Q", TABLE_MAGIC))
    return bytes(out)


def _read_block(data, handle, what):
    offset, position = read_varint(handle, 0)
    size, _ = read_varint(handle, position)
    end = offset + size
    if end + 5 > len(data):
        raise BundleFormatError(f"the {what} block lies past the end of the file")
    contents = data[offset:end]
    trailer_type = data[end:end + 1]
    stored = struct.unpack_from("<I", data, end + 1)[0]
    if masked_crc32c(contents + trailer_type) != stored:
        raise BundleFormatError(f"checksum mismatch in the {what} block")
    if trailer_type != b"\x00":
        raise BundleFormatError(f"the {what} block is compressed (type {trailer_type[0]}), "
                                "which TensorFlow's bundle writer never does")
    return contents


def _block_entries(contents):
    if len(contents) < 4:
        raise BundleFormatError("a table block too short for its restart count")
    num_restarts = struct.unpack_from("<I", contents, len(contents) - 4)[0]
    limit = len(contents) - 4 - 4 * num_restarts
    if limit < 0:
        raise BundleFormatError("a table block with an impossible restart count")
    position, key = 0, b""
    while position < limit:
        shared, position = read_varint(contents, position)
        non_shared, position = read_varint(contents, position)
        value_length, position = read_varint(contents, position)
        if shared > len(key) or position + non_shared + value_length > limit:
            raise BundleFormatError("a corrupt table entry")
        key = key[:shared] + contents[position:position + non_shared]
        position += non_shared
        yield key, contents[position:position + value_length]
        position += value_length


def read_table(data):
    """{key bytes: value bytes} of a table's bytes."""
    data = bytes(data)
    if len(data) < FOOTER_SIZE:
        raise BundleFormatError("file is too short to be an sstable")
    footer = data[-FOOTER_SIZE:]
    if struct.unpack_from("<Q", footer, 40)[0] != TABLE_MAGIC:
        raise BundleFormatError("not an sstable (bad magic number)")
    _, position = read_varint(footer, 0)
    _, position = read_varint(footer, position)          # meta-index handle: unused
    index_handle = footer[position:]
    items = {}
    for _, handle in _block_entries(_read_block(data, index_handle, "index")):
        for key, value in _block_entries(_read_block(data, handle, "data")):
            items[key] = value
    return items


# --- whole bundles ----------------------------------------------------------------------------
def build_bundle(tensors):
    """(index bytes, data bytes) for the ordered (key, value) pairs: the data file keeps their
    order, the index sorts the keys."""
    data = bytearray()
    entries = []
    for key, value in tensors:
        dtype, shape, raw, checksum = encode_tensor(value)
        entries.append((key.encode("utf8"), entry_proto(dtype, shape, len(data), len(raw),
                                                        checksum)))
        data.extend(raw)
    entries.sort()
    return build_table([(b"", header_proto())] + entries), bytes(data)


def read_bundle_index(index_bytes):
    """{key: entry dict} of an `.index` file's bytes, its header checked."""
    items = read_table(index_bytes)
    if b"" not in items:
        raise BundleFormatError("no bundle header (not a TensorFlow checkpoint index)")
    header = parse_message(items.pop(b""))
    if first(header, 2) != 0:
        raise NotImplementedError("A big-endian TensorFlow checkpoint is not supported.")
    shards = first(header, 1)
    entries = {key.decode("utf8"): parse_entry(value) for key, value in items.items()}
    return entries, shards
