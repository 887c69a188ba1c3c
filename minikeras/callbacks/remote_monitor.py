"""`keras.callbacks.RemoteMonitor`."""
from .callback import Callback


class RemoteMonitor(Callback):
    """Streams epoch logs to a server (not available in minikeras)."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        raise NotImplementedError("keras.callbacks.RemoteMonitor is not supported by minikeras "
                                  "(it posts to an HTTP server); use LambdaCallback or CSVLogger.")
