"""Nested structures (lists, tuples, dicts) of tensors: flatten, map and pack back.

One dict-ordering rule, as tf.nest: `flatten` and `pack_sequence_as` visit dict values in sorted
key order; `pack_sequence_as` and `map_structure` return dicts in their original key order.
"""


def flatten(structure):
    """Nested lists/tuples/dicts -> flat list (dicts in sorted key order, as tf.nest)."""
    if isinstance(structure, (list, tuple)):
        out = []
        for item in structure:
            out.extend(flatten(item))
        return out
    if isinstance(structure, dict):
        out = []
        for key in sorted(structure):
            out.extend(flatten(structure[key]))
        return out
    return [structure]


def map_structure(fn, structure):
    if isinstance(structure, list):
        return [map_structure(fn, s) for s in structure]
    if isinstance(structure, tuple):
        return tuple(map_structure(fn, s) for s in structure)
    if isinstance(structure, dict):
        return {k: map_structure(fn, v) for k, v in structure.items()}
    return fn(structure)


def pack_sequence_as(structure, flat):
    it = iter(flat)

    def pack(s):
        if isinstance(s, list):
            return [pack(x) for x in s]
        if isinstance(s, tuple):
            return tuple(pack(x) for x in s)
        if isinstance(s, dict):
            packed = {k: pack(s[k]) for k in sorted(s)}
            return {k: packed[k] for k in s}
        return next(it)
    return pack(structure)
