"""Learning-rate schedules (`keras.optimizers.schedules`)."""
from ..utils.serialization import deserialize_object, serialize_keras_object


class LearningRateSchedule:
    """Base class: `schedule(step)` returns the learning rate for that step."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


_SCHEDULES = {}


def register(cls):
    _SCHEDULES[cls.__name__] = cls
    return cls


def serialize(schedule):
    return serialize_keras_object(schedule, "keras.optimizers.schedules")


def deserialize(config, custom_objects=None):
    return deserialize_object(config, _SCHEDULES, custom_objects, "decay")
