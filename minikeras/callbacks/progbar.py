"""Keras' text progress bar (`12/12 [====] - 0s 3ms/step - loss: ...`)."""
import sys
import time

import numpy as np


def format_value(value):
    """Keras prints `%.4f`, or `%.4e` for magnitudes below 1e-3."""
    value = float(np.mean(value))
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def format_time_per_unit(seconds, unit="step"):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """A progress bar for `target` steps; `verbose=1` redraws one line, `verbose=2` prints once
    at the end. `update(current, values)` sets the step and the latest values to show."""

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = stateful_metrics if stateful_metrics is not None else set()
        self._dynamic = (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()) or \
            "ipykernel" in sys.modules
        self._values = {}
        self._order = []
        self._start = time.time()
        self._last_update = 0.0
        self._seen = 0
        self._total_width = 0

    def _store(self, values, current):
        for name, value in values or ():
            if name not in self._order:
                self._order.append(name)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
            else:
                weight = max(current - self._seen, 1)
                total, count = self._values.get(name, [0.0, 0])
                self._values[name] = [total + float(np.mean(value)) * weight, count + weight]

    def _value(self, name):
        total, count = self._values[name]
        return total if name in self.stateful_metrics else total / max(count, 1)

    def _bar(self, current):
        digits = len(str(self.target))
        text = f"{current:{digits}d}/{self.target} ["
        filled = int(self.width * current / self.target) if self.target else self.width
        if filled > 0:
            text += "=" * (filled - 1) + (">" if current < self.target else "=")
        text += "." * (self.width - filled) + "]"
        return text

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._store(values, current)
        self._seen = current
        now = time.time()
        metrics = "".join(f" - {name}: {format_value(self._value(name))}" for name in self._order)
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        if self.verbose == 1:
            if not finalize and now - self._last_update < self.interval:
                return
            self._last_update = now
            if self.target is None:
                line = f"{current:7d}/Unknown - {elapsed:.0f}s {format_time_per_unit(per_step, self.unit_name)}"
            else:
                line = self._bar(current)
                if finalize:
                    line += f" - {elapsed:.0f}s {format_time_per_unit(per_step, self.unit_name)}"
                else:
                    eta = per_step * (self.target - current)
                    line += f" - ETA: {_format_eta(eta)}"
            line += metrics
            if self._dynamic:
                pad = max(self._total_width - len(line), 0)
                sys.stdout.write("\r" + line + " " * pad)
                self._total_width = len(line)
                if finalize:
                    sys.stdout.write("\n")
            elif finalize:
                sys.stdout.write(line + "\n")
            sys.stdout.flush()
        elif self.verbose == 2 and finalize:
            digits = len(str(self.target))
            line = f"{current:{digits}d}/{self.target} - {elapsed:.0f}s{metrics}"
            line += f" - {elapsed * 1e3:.0f}ms/epoch - {format_time_per_unit(per_step, self.unit_name)}"
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def add(self, n, values=None):
        self.update(self._seen + n, values)


def _format_eta(eta):
    if eta > 3600:
        return f"{int(eta // 3600)}:{int(eta % 3600) // 60:02d}:{int(eta % 60):02d}"
    if eta > 60:
        return f"{int(eta // 60)}:{int(eta % 60):02d}"
    return f"{eta:.0f}s"
