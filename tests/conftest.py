import contextlib
import importlib.util
import logging
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


# --- heavy checks -----------------------------------------------------------------------------
# Tests marked `slow` are too heavy to run in full on every CI run. By default a fixed sample of
# them runs (every SLOW_SAMPLE_EVERY-th by a stable hash of the test id, so every CI run exercises
# the same real subset); `--slow=all` runs every one, `--slow=none` none.
SLOW_SAMPLE_EVERY = 4


@contextlib.contextmanager
def minikeras_warnings_logged():
    """The messages minikeras' logger gives at WARNING and above while the block runs (a list
    filled as they come), through a handler of its own: other tests may stop propagation or
    disable the logger (a logging.config call), so neither caplog nor the root sees them."""
    messages = []

    class Collect(logging.Handler):
        def emit(self, record):
            messages.append(record.getMessage())
    logger = logging.getLogger("minikeras")
    handler, level, disabled = Collect(logging.WARNING), logger.level, logger.disabled
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.disabled = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled


def pytest_addoption(parser):
    parser.addoption("--slow", default="sample", choices=("sample", "all", "none"),
                     help="which tests marked slow to run (default: a fixed sample)")


def _stable_hash(text):
    import zlib
    return zlib.crc32(text.encode("utf-8"))


def pytest_collection_modifyitems(config, items):
    mode = config.getoption("--slow")
    if mode == "all":
        return
    kept, dropped = [], []
    for item in items:
        is_slow = item.get_closest_marker("slow") is not None
        in_sample = mode == "sample" and _stable_hash(item.nodeid) % SLOW_SAMPLE_EVERY == 0
        (dropped if is_slow and not in_sample else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def load_fixture_module(name, *parts):
    """Import a Python file kept under tests/fixtures (case lists shared with a peer recipe)
    as module `name`."""
    spec = importlib.util.spec_from_file_location(name, os.path.join(FIXTURES, *parts))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
