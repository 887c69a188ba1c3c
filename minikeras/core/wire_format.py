"""Pieces of TensorFlow's file formats shared by the TF checkpoint writer (saving/tf_bundle.py)
and the TensorBoard event writer (callbacks/event_file.py): CRC32C and its masked form, and
protocol buffers' varints. Written here so no TensorFlow or protobuf package is needed.
"""
import numpy as np

_CRC_MASK_DELTA = 0xa282ead8


# --- CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table driven -----------------------
def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()
_CRC_TABLE_ARRAY = np.array(_CRC_TABLE, dtype=np.uint32)
_LANES_FROM = 1 << 16             # below this many bytes the plain loop is fast enough


def advance(register, data):
    """The CRC register after `data`, byte by byte (no pre/post inversion)."""
    table = _CRC_TABLE
    for byte in data:
        register = table[(register ^ byte) & 0xFF] ^ (register >> 8)
    return register


def _advance_lanes(registers, rows):
    """`advance` for many (register, row of bytes) pairs at once, one column per step."""
    table = _CRC_TABLE_ARRAY
    for column in rows.T:
        registers = table[(registers ^ column) & 0xFF] ^ (registers >> 8)
    return registers


def _advance_large(register, data):
    """`advance` of a large buffer: the CRC register is linear over GF(2) in (register, bytes),
    so the buffer is cut into equal chunks advanced side by side from 0 with NumPy, then chained:
    register <- Z(register) ^ chunk_crc, Z being the (32x32 bit) effect of one chunk of zeros."""
    size = len(data)
    chunk = max(1, int(size ** 0.5))
    count = size // chunk
    head = size - count * chunk
    register = advance(register, data[:head])
    rows = np.frombuffer(data, np.uint8, count * chunk, head).reshape(count, chunk)
    chunk_registers = _advance_lanes(np.zeros(count, np.uint32), rows).tolist()
    unit_vectors = np.array([1 << bit for bit in range(32)], dtype=np.uint32)
    zero_columns = _advance_lanes(unit_vectors, np.zeros((32, chunk), np.uint8)).tolist()
    for chunk_register in chunk_registers:
        shifted = 0
        bit = 0
        while register:
            if register & 1:
                shifted ^= zero_columns[bit]
            register >>= 1
            bit += 1
        register = shifted ^ chunk_register
    return register


def crc32c(data, crc=0):
    """CRC32C of `data`, continuing from `crc` (the CRC of what came before);
    `crc32c(b"123456789") == 0xE3069283`."""
    data = bytes(data)
    register = crc ^ 0xFFFFFFFF
    register = _advance_large(register, data) if len(data) >= _LANES_FROM \
        else advance(register, data)
    return register ^ 0xFFFFFFFF


def masked_crc32c(data, crc=None):
    """LevelDB, TF bundles and TFRecords store CRCs masked (rotated right by 15 bits plus a
    constant) so a CRC of data holding CRCs stays well distributed."""
    crc = crc32c(data) if crc is None else crc
    return (((crc >> 15) | (crc << 17)) + _CRC_MASK_DELTA) & 0xFFFFFFFF


def unmask_crc(masked):
    rotated = (masked - _CRC_MASK_DELTA) & 0xFFFFFFFF
    return ((rotated >> 17) | (rotated << 15)) & 0xFFFFFFFF


# --- protocol buffer wire format ------------------------------------------------------------
def varint(value):
    """A protobuf varint; negative int32/int64 values as two's complement (ten bytes)."""
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
