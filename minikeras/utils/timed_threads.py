"""`keras.utils.TimedThread`: calls `on_interval()` every `interval` seconds in a thread."""
import logging
import threading

logger = logging.getLogger(__name__)


class TimedThread:
    """Runs `on_interval()` (to be overridden) in a daemon thread every `interval` seconds,
    from `start()` until `stop()`; also a context manager. Extra keyword arguments go to
    `threading.Thread`.

    Example:

        class Heartbeat(keras.utils.TimedThread):
            def on_interval(self):
                print("still training")

        with Heartbeat(interval=30):
            model.fit(x, y)
    """

    def __init__(self, interval, **kwargs):
        self.interval = interval
        self.daemon = kwargs.pop("daemon", True)
        self.thread_kwargs = kwargs
        self.thread = None
        self.thread_stop_event = None

    def _run(self):
        while not self.thread_stop_event.is_set():
            self.on_interval()
            self.thread_stop_event.wait(self.interval)

    def start(self):
        """Starts calling `on_interval`; a warning if it already runs."""
        if self.is_alive():
            logger.warning("Thread is already running.")
            return
        self.thread_stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=self.daemon,
                                       **self.thread_kwargs)
        self.thread.start()

    def stop(self):
        """Stops after the current call (the thread is not joined)."""
        if self.thread_stop_event is not None:
            self.thread_stop_event.set()

    def is_alive(self):
        return self.thread is not None and self.thread.is_alive()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def on_interval(self):
        raise NotImplementedError("Runs every x interval seconds. Needs to be implemented in "
                                  "subclasses of `TimedThread`")
