"""TensorFlow's stateless random numbers (Philox4x32-10 counters), in NumPy: what tf.keras 2.21's
seeded initializers draw (`tf.random.stateless_uniform / _normal / _truncated_normal` with
`seed=[seed, 0]` on the CPU), so `GlorotUniform(seed=0)` gives tf.keras' very numbers."""
import numpy as np

_MULTIPLIERS = (np.uint64(0xD2511F53), np.uint64(0xCD9E8D57))
_KEY_STEPS = (np.uint32(0x9E3779B9), np.uint32(0xBB67AE85))
_MASK32 = np.uint64(0xFFFFFFFF)
_BLOCKS_PER_CHUNK = 1 << 20      # Philox calls computed at once (bounds the uint64 scratch)
# tf's truncated normal: each group of 4 outputs reads from its own run of 256 Philox calls
_TRUNCATED_GROUP_STRIDE = 256


def _philox(counters, key):
    """Philox4x32-10 of each row of `counters` (n, 4) uint32 under `key` (two uint32)."""
    c0, c1, c2, c3 = (counters[:, i].astype(np.uint64) for i in range(4))
    k0, k1 = np.uint32(key[0]), np.uint32(key[1])
    with np.errstate(over="ignore"):
        for round_index in range(10):
            product0 = _MULTIPLIERS[0] * c0
            product1 = _MULTIPLIERS[1] * c2
            c0, c1, c2, c3 = ((product1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0),
                              product1 & _MASK32,
                              (product0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1),
                              product0 & _MASK32)
            if round_index < 9:
                k0, k1 = k0 + _KEY_STEPS[0], k1 + _KEY_STEPS[1]
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.uint32)


def _key_and_counter(seed):
    """tf's `stateless_random_get_key_counter`: the seed pair scrambled by one Philox call."""
    seed0, seed1 = (int(s) & 0xFFFFFFFFFFFFFFFF for s in seed)
    counter = np.array([[seed0 & 0xFFFFFFFF, seed0 >> 32, seed1 & 0xFFFFFFFF, seed1 >> 32]],
                       np.uint32)
    mix = _philox(counter, (0x3EC8F720, 0x02461E29))[0]
    return (int(mix[0]), int(mix[1])), (int(mix[2]), int(mix[3]))


def _random_bits(seed, offsets):
    """The 4 uint32 of the Philox calls at these counter offsets (n, 4)."""
    key, (high0, high1) = _key_and_counter(seed)
    return _philox(_counters(offsets, high0, high1), key)


def _counters(offsets, high0, high1):
    """Philox counters (n, 4): each 64-bit offset as the low two words, then the fixed
    high words."""
    offsets = np.asarray(offsets, np.uint64)
    counters = np.empty((offsets.size, 4), np.uint32)
    counters[:, 0] = offsets & _MASK32
    counters[:, 1] = offsets >> np.uint64(32)
    counters[:, 2], counters[:, 3] = high0, high1
    return counters


def _unit_floats(bits):
    """tf's Uint32ToFloat: 23 random mantissa bits as a float32 in [0, 1)."""
    return ((bits & np.uint32(0x7FFFFF)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1)


def _box_muller(bits0, bits1):
    """tf's BoxMullerFloat: two uint32 to two normal float32 (sin first, then cos)."""
    u1 = np.maximum(_unit_floats(bits0), np.float32(1e-7))
    # tf multiplies by 2 * M_PI, a C double: the angle is rounded to float32 only at the end
    angle = (2.0 * np.pi * _unit_floats(bits1).astype(np.float64)).astype(np.float32)
    radius = np.sqrt(np.float32(-2) * np.log(u1))
    return np.sin(angle) * radius, np.cos(angle) * radius


def _blockwise(seed, size, per_block):
    """`size` values from consecutive Philox calls, `per_block(bits)` giving 4 per call."""
    blocks = -(-size // 4)
    out = np.empty(blocks * 4, np.float32)
    for start in range(0, blocks, _BLOCKS_PER_CHUNK):
        stop = min(blocks, start + _BLOCKS_PER_CHUNK)
        out[start * 4:stop * 4] = per_block(_random_bits(seed, np.arange(start, stop))).ravel()
    return out[:size]


def stateless_uniform(shape, seed):
    """`tf.random.stateless_uniform(shape, seed)` in float32: [0, 1)."""
    size = int(np.prod(shape, dtype=np.int64))
    return _blockwise(seed, size, _unit_floats).reshape(shape)


def _normal_block(bits):
    first = _box_muller(bits[:, 0], bits[:, 1])
    second = _box_muller(bits[:, 2], bits[:, 3])
    return np.stack([first[0], first[1], second[0], second[1]], axis=1)


def stateless_normal(shape, seed):
    """`tf.random.stateless_normal(shape, seed)` in float32 (mean 0, stddev 1)."""
    size = int(np.prod(shape, dtype=np.int64))
    return _blockwise(seed, size, _normal_block).reshape(shape)


def stateless_truncated_normal(shape, seed):
    """`tf.random.stateless_truncated_normal(shape, seed)` in float32: each group of 4 outputs
    takes, in order, the Box-Muller normals of |x| < 2 drawn from its own counter run."""
    size = int(np.prod(shape, dtype=np.int64))
    groups = -(-size // 4)
    out = np.empty((groups, 4), np.float32)
    for start in range(0, groups, _BLOCKS_PER_CHUNK // 4):
        group_ids = np.arange(start, min(groups, start + _BLOCKS_PER_CHUNK // 4))
        out[group_ids] = _truncated_groups(seed, group_ids)
    return out.ravel()[:size].reshape(shape)


def _truncated_groups(seed, group_ids):
    calls = 3              # 12 candidates: 4 within (-2, 2) unless very unlucky
    while True:
        offsets = (group_ids[:, None].astype(np.uint64) * np.uint64(_TRUNCATED_GROUP_STRIDE)
                   + np.arange(calls, dtype=np.uint64)[None, :])
        candidates = _normal_block(_random_bits(seed, offsets.ravel())).reshape(len(group_ids), -1)
        accepted = np.abs(candidates) < 2
        if accepted.sum(axis=1).min() >= 4:
            break
        calls *= 2
    rank = np.cumsum(accepted, axis=1)
    take = accepted & (rank <= 4)
    return candidates[take].reshape(len(group_ids), 4)


# --- tf's stateful random ops (`tf.random.normal(shape, seed=s)`, what K.random_* call) ---------
def _stateful_bits(key_seed, op_seed, offsets):
    """The Philox calls of a stateful op: the key is the first (global) seed, the counter's
    high half the op seed, its low half the running offset (tf's PhiloxRandom(seed, seed2))."""
    return _philox(_counters(offsets, op_seed & 0xFFFFFFFF, op_seed >> 32),
                   (key_seed & 0xFFFFFFFF, key_seed >> 32))


def _stateful_blockwise(key_seed, op_seed, first, size, per_block):
    blocks = -(-size // 4)
    out = np.empty(blocks * 4, np.float32)
    for start in range(0, blocks, _BLOCKS_PER_CHUNK):
        stop = min(blocks, start + _BLOCKS_PER_CHUNK)
        bits = _stateful_bits(key_seed, op_seed, first + np.arange(start, stop, dtype=np.uint64))
        out[start * 4:stop * 4] = per_block(bits).ravel()
    return out[:size]


def stateful_counters_used(size):
    """How far one call moves the op's counter: tf reserves 256 Philox calls per output."""
    return int(size) * 256


def stateful_uniform(shape, key_seed, op_seed, first):
    """float32 [0, 1) of tf's RandomUniform op whose counter stands at `first`."""
    size = int(np.prod(shape, dtype=np.int64))
    return _stateful_blockwise(key_seed, op_seed, first, size, _unit_floats).reshape(shape)


def stateful_normal(shape, key_seed, op_seed, first):
    """float32 standard normals of tf's RandomStandardNormal op whose counter is at `first`."""
    size = int(np.prod(shape, dtype=np.int64))
    return _stateful_blockwise(key_seed, op_seed, first, size, _normal_block).reshape(shape)
