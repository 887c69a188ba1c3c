"""contention.OtherProcesses: the CPU time other processes used since the previous reading
(machine busy time minus this process' own), read at most every `_PERIOD` seconds."""
import os

import pytest

from minikeras.ops import contention, parallel


class FakeMachine:
    """A clock and cumulative `(machine busy seconds, own CPU seconds)` that the test advances."""

    def __init__(self):
        self.now, self.machine, self.own, self.reads = 100.0, 1000.0, 10.0, 0

    def clock(self):
        return self.now

    def read(self):
        self.reads += 1
        return self.machine, self.own

    def advance(self, seconds, own_cores, other_cores):
        self.now += seconds
        self.own += seconds * own_cores
        self.machine += seconds * (own_cores + other_cores)


@pytest.fixture
def machine():
    fake = FakeMachine()
    return fake, contention.OtherProcesses(read=fake.read, clock=fake.clock)


def test_own_threads_alone_are_not_contention(machine):
    fake, meter = machine
    fake.advance(0.5, own_cores=2.0, other_cores=contention._BUSY_CORES * 0.2)
    assert not meter.busy()


def test_other_processes_using_half_a_core_are_contention(machine):
    fake, meter = machine
    fake.advance(0.5, own_cores=1.0, other_cores=contention._BUSY_CORES * 1.2)
    assert meter.busy()
    fake.advance(0.5, own_cores=1.0, other_cores=0.0)   # they stopped
    assert not meter.busy()


def test_readings_are_taken_at_most_every_period(machine):
    fake, meter = machine
    reads = fake.reads
    busy = contention._BUSY_CORES * 2
    fake.advance(contention._PERIOD / 4, own_cores=1.0, other_cores=busy)
    assert not meter.busy() and fake.reads == reads       # too soon: the last answer stands
    fake.advance(contention._PERIOD, own_cores=1.0, other_cores=busy)
    assert meter.busy() and fake.reads == reads + 1


def test_nothing_is_busy_without_proc():
    meter = contention.OtherProcesses(read=lambda: None)
    assert not meter.busy()


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="no /proc/stat")
def test_the_real_reading_counts_this_process():
    machine_seconds, own_seconds = contention.read_cpu_seconds()
    assert machine_seconds > 0 and 0 < own_seconds <= machine_seconds


def test_busy_other_processes_make_steps_run_blas_single_threaded(monkeypatch):
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    monkeypatch.setattr(parallel, "other_processes_busy", lambda: True)
    assert parallel.oversubscribed()
    monkeypatch.setattr(parallel, "other_processes_busy", lambda: False)
    assert not parallel.oversubscribed()
