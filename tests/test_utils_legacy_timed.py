"""keras.utils.legacy (Keras 2 serialization format) and keras.utils.TimedThread.

The legacy forms were printed by tf_keras 2.21: a Dense layer serializes as
`{'class_name': 'Dense', 'config': {...}}` (no `module`/`registered_name`), an Adam optimizer as
`{'class_name': 'Custom>Adam', ...}`, and both deserializers read `Custom>Adam` back.
"""
import threading

import pytest

import minikeras as keras


def test_legacy_serialization_has_only_class_name_and_config():
    entry = keras.utils.legacy.serialize_keras_object(keras.layers.Dense(2))
    assert set(entry) == {"class_name", "config"}
    assert entry["class_name"] == "Dense" and entry["config"]["units"] == 2
    assert keras.utils.legacy.serialize_keras_object(None) is None
    assert keras.utils.legacy.serialize_keras_object(keras.activations.relu) == "relu"


def test_optimizers_round_trip_under_their_registered_name():
    entry = keras.utils.legacy.serialize_keras_object(keras.optimizers.Adam(0.01))
    assert entry["class_name"] == "Custom>Adam"
    for deserialize in (keras.utils.legacy.deserialize_keras_object,
                        keras.utils.deserialize_keras_object):
        optimizer = deserialize(entry)
        assert isinstance(optimizer, keras.optimizers.Adam)
        assert float(optimizer.learning_rate) == pytest.approx(0.01)


def test_an_object_without_get_config_is_refused():
    with pytest.raises(ValueError, match="get_config"):
        keras.utils.legacy.serialize_keras_object(object())


class _Counter(keras.utils.TimedThread):
    def __init__(self, interval, target):
        super().__init__(interval)
        self.calls, self.target, self.reached = 0, target, threading.Event()

    def on_interval(self):
        self.calls += 1
        if self.calls >= self.target:
            self.reached.set()


def test_timed_thread_calls_on_interval_until_stopped():
    with _Counter(interval=0.001, target=3) as counter:
        assert counter.reached.wait(timeout=10)
        assert counter.is_alive() and counter.thread.daemon
    counter.thread.join(timeout=10)
    assert not counter.is_alive()
    calls = counter.calls
    assert calls >= 3 and counter.calls == calls   # no call after the stop


def test_timed_thread_without_on_interval_raises_in_its_thread():
    assert not keras.utils.TimedThread(1.0).is_alive()
    with pytest.raises(NotImplementedError, match="on_interval|interval"):
        keras.utils.TimedThread(1.0).on_interval()
