"""`keras.callbacks.TerminateOnNaN`."""
import numpy as np

from ._utils import _print_msg
from .callback import Callback


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch loss is NaN or infinite.

    Example:

        model.fit(x, y, callbacks=[keras.callbacks.TerminateOnNaN()])
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            _print_msg(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True
