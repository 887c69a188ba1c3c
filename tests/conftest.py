import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))

import minikeras as keras  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


@pytest.fixture(autouse=True)
def fresh_session():
    """Every test starts with fresh automatic names, float32 and a fixed seed."""
    keras.backend.clear_session()
    keras.backend.set_floatx("float32")
    keras.utils.set_random_seed(0)
    yield
    keras.backend.set_floatx("float32")


@pytest.fixture
def float64():
    """Run the test in float64 (for finite-difference gradient checks)."""
    keras.backend.set_floatx("float64")
    yield
    keras.backend.set_floatx("float32")


def fixture_path(*parts):
    return os.path.join(FIXTURES, *parts)
