"""Learning-rate schedules against their documented closed forms (float64 by hand)."""
import math

import numpy as np
import pytest

import minikeras as keras

S = keras.optimizers.schedules
STEPS = [0, 1, 5, 9, 10, 11, 25, 100]


def assert_schedule(schedule, closed_form, steps=STEPS):
    for step in steps:
        value = np.asarray(schedule(step))
        assert value.dtype == np.float32, step
        np.testing.assert_allclose(value, closed_form(step), rtol=2e-6, atol=1e-9,
                                   err_msg=f"step {step}")
    again = type(schedule).from_config(schedule.get_config())
    assert again.get_config() == schedule.get_config()
    restored = S.deserialize(S.serialize(schedule))
    for step in steps:
        np.testing.assert_allclose(restored(step), schedule(step), rtol=0)


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay(staircase):
    def closed(step):
        p = step // 10 if staircase else step / 10
        return 0.1 * 0.96 ** p
    assert_schedule(S.ExponentialDecay(0.1, 10, 0.96, staircase=staircase), closed)


def test_piecewise_constant_decay():
    values = [1.0, 0.5, 0.1]
    schedule = S.PiecewiseConstantDecay([5, 10], values)
    assert_schedule(schedule,
                    lambda s: values[0] if s <= 5 else values[1] if s <= 10 else values[2])
    with pytest.raises(ValueError, match="The length of boundaries should be 1 less"):
        S.PiecewiseConstantDecay([5, 10], [1.0, 0.5])


@pytest.mark.parametrize("cycle", [False, True])
def test_polynomial_decay(cycle):
    def closed(step):
        decay_steps = 10
        if cycle:
            decay_steps = 10 * max(1, math.ceil(step / 10))
        else:
            step = min(step, 10)
        return (0.1 - 0.01) * (1 - step / decay_steps) ** 0.5 + 0.01
    assert_schedule(S.PolynomialDecay(0.1, 10, end_learning_rate=0.01, power=0.5, cycle=cycle),
                    closed)


@pytest.mark.parametrize("staircase", [False, True])
def test_inverse_time_decay(staircase):
    def closed(step):
        p = step // 4 if staircase else step / 4
        return 0.1 / (1 + 0.5 * p)
    assert_schedule(S.InverseTimeDecay(0.1, 4, 0.5, staircase=staircase), closed)


def test_cosine_decay():
    def closed(step):
        step = min(step, 20)
        return 0.1 * ((1 - 0.1) * 0.5 * (1 + math.cos(math.pi * step / 20)) + 0.1)
    assert_schedule(S.CosineDecay(0.1, 20, alpha=0.1), closed)


def test_cosine_decay_with_warmup():
    def closed(step):
        step = min(step, 20 + 5)
        if step < 5:
            return (0.2 - 0.0) * step / 5 + 0.0
        return 0.2 * 0.5 * (1 + math.cos(math.pi * (step - 5) / 20))
    assert_schedule(S.CosineDecay(0.0, 20, warmup_target=0.2, warmup_steps=5), closed)


@pytest.mark.parametrize("t_mul,m_mul", [(1.0, 1.0), (2.0, 0.5)])
def test_cosine_decay_restarts(t_mul, m_mul):
    def closed(step):
        # Walk the periods: 10, 10 * t_mul, ... each starting m_mul times lower.
        start, length, scale = 0.0, 10.0, 1.0
        while step >= start + length:
            start, length, scale = start + length, length * t_mul, scale * m_mul
        fraction = (step - start) / length
        return 0.1 * ((1 - 0.05) * 0.5 * scale * (1 + math.cos(math.pi * fraction)) + 0.05)
    assert_schedule(S.CosineDecayRestarts(0.1, 10, t_mul=t_mul, m_mul=m_mul, alpha=0.05), closed,
                    steps=[0, 1, 5, 9, 11, 25, 29, 31, 69, 71])


def test_optimizer_reads_schedule_at_current_iteration():
    schedule = S.PiecewiseConstantDecay([1], [1.0, 0.5])
    opt = keras.optimizers.SGD(learning_rate=schedule)
    var = keras.Variable(np.float32(0.0))
    for _ in range(3):
        opt.apply_gradients([(np.float32(1.0), var)])
    # steps 0 and 1 use 1.0, step 2 uses 0.5
    assert float(var) == -2.5


def test_custom_schedule_subclass():
    class Halving(S.LearningRateSchedule):
        def __call__(self, step):
            return 1.0 / (step + 1)

        def get_config(self):
            return {}
    opt = keras.optimizers.SGD(learning_rate=Halving())
    var = keras.Variable(np.float32(0.0))
    opt.apply_gradients([(np.float32(1.0), var)])
    opt.apply_gradients([(np.float32(1.0), var)])
    assert float(var) == -1.5
