"""Helpers shared by the activation layers."""
import numpy as np

from ...core import config


def floatx_value(value):
    """`value` rounded to floatx, as a Python float (what tf.keras' `cast_to_floatx` stores;
    a Python float keeps float32 array arithmetic in float32)."""
    return float(np.asarray(value, dtype=config.floatx()))
