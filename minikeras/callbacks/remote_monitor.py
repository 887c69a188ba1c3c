"""`keras.callbacks.RemoteMonitor`: POSTs each epoch's logs to an HTTP server.

tf.keras sends them with `requests`; the standard library's urllib sends the same request
(a form field holding the JSON, or a JSON body), so no extra dependency is needed.
"""
import json
import urllib.error
import urllib.parse
import urllib.request

import numpy as np

from ._utils import logger
from .callback import Callback


class RemoteMonitor(Callback):
    """Streams events to a server: after each epoch an HTTP POST to `root + path` of
    `{"epoch": epoch, **logs}` as JSON, inside the form field `field` (or, with
    `send_as_json=True`, as an `application/json` body), with the optional `headers`.
    An unreachable server gives a warning, not an error."""

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        for key, value in (logs or {}).items():
            payload[key] = value.item() if isinstance(value, (np.ndarray, np.generic)) else value
        try:
            urllib.request.urlopen(self._request(payload)).close()
        except urllib.error.HTTPError:
            pass   # the server answered: tf.keras does not look at the status either
        except (urllib.error.URLError, OSError):
            logger.warning("Warning: could not reach RemoteMonitor root server at %s", self.root)

    def _request(self, payload):
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(payload).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(payload)}).encode("utf-8")
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        return urllib.request.Request(self.root + self.path, data=body, headers=headers,
                                      method="POST")
