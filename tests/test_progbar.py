"""What fit / Progbar write to stdout, character for character as tf.keras 2.21 (timings masked
with the fixture's regular expressions; the clock is simulated so that the 0.05 s redraw
interval skips the same updates)."""
import contextlib
import io
import json
import re

import numpy as np
import pytest

import minikeras as keras
from minikeras.callbacks import progbar as progbar_module
from conftest import fixture_path

FIXTURE = json.load(open(fixture_path("progbar", "progbar.json")))
ARRAYS = np.load(fixture_path("progbar", "progbar.npz"))
CASES = {case["name"]: case for case in FIXTURE["cases"]}


def mask(text):
    for pattern, replacement in FIXTURE["masks"]:
        text = re.sub(pattern, replacement, text)
    return text


@pytest.fixture
def fake_clock(monkeypatch):
    """Every reading of the clock advances it by 1 ms: a fast step, as in the fixture."""
    now = [1000.0]

    def tick():
        now[0] += 0.001
        return now[0]
    monkeypatch.setattr(progbar_module.time, "time", tick)
    return now


def captured(fn):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        fn()
    return out.getvalue()


def progbar_mlp():
    keras.backend.clear_session()
    model = keras.Sequential([keras.layers.Dense(5, activation="relu", input_shape=(4,)),
                              keras.layers.Dense(3, activation="softmax")])
    for layer in model.layers:
        layer.set_weights([ARRAYS[f"w/{layer.name}/{i}"] for i in range(2)])
    return model


def run_model_case(case):
    model = progbar_mlp()
    model.compile(keras.optimizers.SGD(**case["compile"]["optimizer"]["kwargs"]),
                  loss=case["compile"]["loss"], metrics=case["metrics"])
    kwargs = dict(case["kwargs"])
    for key in ("x", "y"):
        if key in kwargs:
            kwargs[key] = ARRAYS[kwargs[key]]
    if "validation_data" in kwargs:
        kwargs["validation_data"] = tuple(ARRAYS[name] for name in kwargs["validation_data"])
    return captured(lambda: getattr(model, case["call"])(**kwargs))


MODEL_CASES = [name for name, case in CASES.items() if case["kind"] == "model"]
DIRECT_CASES = [name for name, case in CASES.items() if case["kind"] == "direct"]


@pytest.mark.parametrize("name", MODEL_CASES)
def test_model_output_as_tf_keras(name, fake_clock):
    case = CASES[name]
    assert mask(run_model_case(case)) == mask(case["raw"])


@pytest.mark.parametrize("name", DIRECT_CASES)
def test_progbar_used_directly_as_tf_keras(name, fake_clock):
    case = CASES[name]

    def run():
        bar = keras.utils.Progbar(**case["progbar"])
        for method, step, values in case["calls"]:
            getattr(bar, method)(step, [tuple(v) for v in values])
    assert mask(captured(run)) == mask(case["raw"])


def test_intermediate_update_within_interval_is_skipped_but_final_is_written(fake_clock):
    def run():
        bar = keras.utils.Progbar(3, interval=0.05)
        bar.update(1, [("loss", 1.0)])
        bar.update(2, [("loss", 1.0)])          # 1 ms later: skipped
        fake_clock[0] += 1.0
        bar.update(3, [("loss", 1.0)], finalize=False)   # after the interval: written
        bar.update(3, [("loss", 1.0)])          # final: written immediately
    text = captured(run)
    assert text.count("\r") == 3 and "2/3" not in text
    assert text.endswith("\n") and text.count("\n") == 1


def test_shorter_redraw_is_padded_and_backspaces_count_previous_width(fake_clock):
    def run():
        bar = keras.utils.Progbar(2, interval=0)
        bar.update(1, [("a_long_metric_name", 1.0)])
        bar.stateful_metrics = {"a_long_metric_name"}
        bar.update(2, [])
    first, second = captured(run).split("\r")[1:]
    width = len(first.rstrip("\b"))
    assert first.endswith("\b" * width) and not first.endswith("\b" * (width + 1))
    assert len(second.rstrip("\n")) >= width


def test_e_notation_thresholds_differ_between_verbose_1_and_2(fake_clock):
    def run(verbose):
        bar = keras.utils.Progbar(1, verbose=verbose)
        bar.update(1, [("neg", -0.5), ("tiny", 0.001), ("small", 0.0011)])
    one, two = captured(lambda: run(1)), captured(lambda: run(2))
    assert "neg: -0.5000 - tiny: 1.0000e-03 - small: 0.0011" in one
    assert "neg: -5.0000e-01 - tiny: 1.0000e-03 - small: 0.0011" in two


def test_non_posix_redraws_start_a_new_line(fake_clock, monkeypatch):
    monkeypatch.setattr(progbar_module, "_dynamic_display", lambda: False)

    def run():
        bar = keras.utils.Progbar(2, interval=0)
        bar.update(1)
        bar.update(2)
    text = captured(run)
    assert "\b" not in text and text.startswith("\n1/2") and "\n2/2" in text


MORE = json.load(open(fixture_path("progbar", "peer", "progbar_more.json")))


@pytest.mark.parametrize("case", MORE, ids=[case["name"] for case in MORE])
def test_more_calls_as_tf_keras(case, fake_clock):
    model = progbar_mlp()
    model.compile(keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    kwargs = {key: (ARRAYS[value] if key in ("x", "y") else value)
              for key, value in case["kwargs"].items()}
    assert mask(captured(lambda: getattr(model, case["call"])(**kwargs))) == mask(case["raw"])
