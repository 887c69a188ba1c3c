"""Helpers shared by the callbacks: messages, the learning rate, the monitor comparison."""
import logging

import numpy as np

from ..core.tensor import Tensor, Variable


logger = logging.getLogger("minikeras")


def _print_msg(message):
    print(message, flush=True)


def _get_lr(optimizer):
    """The optimizer's current learning rate as a scalar of its Variable's dtype (float32, or
    float64 when floatx was float64), as `backend.get_value(lr)`."""
    lr = optimizer.learning_rate
    return np.asarray(lr.data)[()] if isinstance(lr, Tensor) else np.float32(lr)


def _set_lr(optimizer, value):
    """`backend.set_value(optimizer.lr, value)`: with a schedule that assigns the Variable of
    its current value (the next step computes it again), where setting the attribute raises."""
    value = float(value.data if isinstance(value, Tensor) else value)
    lr = optimizer.learning_rate
    if isinstance(lr, Variable):
        lr.assign(np.asarray(value, lr.data.dtype))
    else:
        optimizer.learning_rate = value


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
