"""`keras.callbacks.TensorBoard`."""
from .callback import Callback


class TensorBoard(Callback):
    """TensorBoard event files (not available in minikeras: they need TensorFlow's writer)."""

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None, **kwargs):
        super().__init__()
        raise NotImplementedError("keras.callbacks.TensorBoard is not supported by minikeras "
                                  "(TensorBoard event files need TensorFlow's summary writer); "
                                  "use CSVLogger or History instead.")
