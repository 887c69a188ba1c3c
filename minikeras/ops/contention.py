"""Whether other processes keep the machine's cores busy now: CPU time of the whole machine
(`/proc/stat`) minus this process' own (`os.times`), over the last fraction of a second.

OpenBLAS splits a product evenly over its threads and waits for the slowest; one busy core is
enough to make every product wait for a thread that shares it (an MLP GradientTape step with
one busy-looping process beside it: 28 ms with BLAS threads against 1.5 ms on one). The
1-minute load average reacts within a minute only, and counts this process' own threads (BLAS'
spinning ones too), so a single busy core beside an MLP does not reach its threshold; this
reading does, within `_PERIOD`.

Linux only (elsewhere, and without /proc, nothing is ever reported busy).
"""
import os
import time

# Other processes count as busy from this many cores' worth of CPU time (averaged over at
# least _PERIOD seconds; the kernel counts in ticks of 10 ms, ~0.05 core over such a window), or
# a quarter of the cores on a larger machine (where one BLAS thread would leave most idle).
_BUSY_CORES = max(0.5, (os.cpu_count() or 1) / 4)
_PERIOD = 0.25
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def read_cpu_seconds():
    """`(machine busy seconds, this process' CPU seconds)` since boot, or None without /proc.
    Busy is user, nice, system, irq, softirq and steal (a virtual machine's host taking the
    core counts as another process)."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[1:9])
    own = os.times()
    return (user + nice + system + irq + softirq + steal) / _TICK, own.user + own.system


class OtherProcesses:
    """`busy()`: whether other processes used at least `_BUSY_CORES` cores since the previous
    reading (taken at most every `_PERIOD` seconds; in between the last answer stands)."""

    def __init__(self, read=read_cpu_seconds, clock=time.monotonic):
        self._read, self._clock = read, clock
        self._busy = False
        self._last = None
        self._take_reading()

    def busy(self):
        if self._last is None or self._clock() - self._last[0] >= _PERIOD:
            self._take_reading()
        return self._busy

    def _take_reading(self):
        now, reading = self._clock(), self._read()
        if reading is None:
            return
        if self._last is not None:
            wall, machine, own = now - self._last[0], reading[0] - self._last[1], \
                reading[1] - self._last[2]
            self._busy = wall > 0 and (machine - own) / wall >= _BUSY_CORES
        self._last = (now,) + reading


_other_processes = OtherProcesses()
if hasattr(os, "register_at_fork"):     # a child's own CPU time starts again from zero
    os.register_at_fork(after_in_child=lambda: _other_processes.__init__())


def other_processes_busy():
    """Whether other processes keep `_BUSY_CORES` cores busy (half a core on up to two cores;
    see `OtherProcesses`)."""
    return _other_processes.busy()
