"""Helpers shared by the callbacks: messages, the learning rate, the monitor comparison."""
import logging

import numpy as np

from ..core.tensor import Tensor


logger = logging.getLogger("minikeras")


def _print_msg(message):
    print(message, flush=True)


def _get_lr(optimizer):
    """The optimizer's current learning rate as a float32 scalar (`backend.get_value(lr)`)."""
    lr = optimizer.learning_rate
    return np.float32(lr.data if isinstance(lr, Tensor) else lr)


def _set_lr(optimizer, value):
    optimizer.learning_rate = float(value.data if isinstance(value, Tensor) else value)


def _monitor_op_for(mode, monitor, name):
    """np.less or np.greater from `mode`; 'auto' looks at the metric's name."""
    if mode not in ("auto", "min", "max"):
        logger.warning("%s mode %s is unknown, fallback to auto mode.", name, mode)
        mode = "auto"
    if mode == "min":
        return np.less
    if mode == "max":
        return np.greater
    return None
