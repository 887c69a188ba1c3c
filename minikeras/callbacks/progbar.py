"""Keras' text progress bar (`12/12 [====] - 0s 3ms/step - loss: ...`), byte for byte.

The rules tf.keras 2.x follows, reproduced here:
- `verbose=1` redraws the line: on POSIX (and in terminals and notebooks) each redraw starts
  with one backspace per character of the previous line and a carriage return, even when
  stdout is a pipe; elsewhere a redraw starts on a new line. A shorter line is padded with
  spaces to the previous width. An update that comes less than `interval` seconds after the
  previous written one is skipped, unless it is the final one; the first one is always written.
- Values print as `%.4f`, or `%.4e` when `abs(value) <= 1e-3` (`verbose=1`) or `value <= 1e-3`
  (`verbose=2`, so negative values also use e-notation there).
- The time per step ignores the first step once there are more; the ETA is `h:mm:ss`,
  `m:ss` or `Ns`.
- `verbose=2` writes one line when the bar is finalized, with the epoch's duration and the
  time per step.
"""
import os
import sys
import time

import numpy as np


def format_value(value):
    """How `verbose=1` prints a value: `%.4f`, or `%.4e` for magnitudes up to 1e-3."""
    value = float(np.mean(value))
    return f"{value:.4f}" if abs(value) > 1e-3 else f"{value:.4e}"


def _format_value_verbose2(value):
    value = float(np.mean(value))
    return f"{value:.4f}" if value > 1e-3 else f"{value:.4e}"


def format_time_per_unit(seconds, unit="step"):
    """`3s/step`, `35ms/step` or `56us/step`."""
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _format_eta(eta):
    if eta > 3600:
        return "%d:%02d:%02d" % (eta // 3600, (eta % 3600) // 60, eta % 60)
    if eta > 60:
        return "%d:%02d" % (eta // 60, eta % 60)
    return "%ds" % eta


def _dynamic_display():
    return ((hasattr(sys.stdout, "isatty") and sys.stdout.isatty()) or "ipykernel" in sys.modules
            or "posix" in sys.modules or "PYCHARM_HOSTED" in os.environ)


class Progbar:
    """A progress bar for `target` steps (None: unknown).

    Arguments: `width` of the bar in characters, `verbose` (0 silent, 1 redrawn line, 2 one
    line at the end), `interval` (minimum seconds between redraws), `stateful_metrics` (names
    shown as given instead of averaged over steps), `unit_name` (`step` or `sample`).

    Example:

        bar = keras.utils.Progbar(10)
        for step in range(10):
            bar.update(step + 1, values=[("loss", 0.5)])
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics) if stateful_metrics else set()
        self._dynamic_display = _dynamic_display()
        self._total_width = 0
        self._seen_so_far = 0
        self._values = {}
        self._values_order = []
        self._start = time.time()
        self._last_update = 0
        self._time_at_epoch_start = self._start
        self._time_at_epoch_end = None
        self._time_after_first_step = None

    # --- state ------------------------------------------------------------------------------
    def _accumulate(self, values, current):
        """Averaged values are weighted by the steps since the previous update."""
        for name, value in values or []:
            if name not in self._values_order:
                self._values_order.append(name)
            if name in self.stateful_metrics:
                self._values[name] = [value, 1]
                continue
            steps = max(current - self._seen_so_far, 1)
            if name in self._values:
                self._values[name][0] += value * steps
                self._values[name][1] += steps
            else:
                self._values[name] = [value * steps, steps]

    def _average(self, name):
        total, count = self._values[name]
        return np.mean(total / max(1, count))

    def _step_duration(self, current, now):
        if not current:
            return 0
        if self._time_after_first_step is not None and current > 1:
            duration = (now - self._time_after_first_step) / (current - 1)
        else:
            duration = (now - self._start) / current
        if current == 1:
            self._time_after_first_step = now
        return duration

    # --- drawing ------------------------------------------------------------------------------
    def _bar(self, current):
        if self.target is None:
            return "%7d/Unknown" % current
        digits = int(np.log10(self.target)) + 1
        text = ("%" + str(digits) + "d/%d [") % (current, self.target)
        filled = int(self.width * float(current) / self.target)
        if filled > 0:
            text += "=" * (filled - 1) + (">" if current < self.target else "=")
        return text + "." * (self.width - filled) + "]"

    def _line_verbose1(self, current, now, finalize):
        previous_width = self._total_width
        message = ("\b" * previous_width + "\r") if self._dynamic_display else "\n"
        bar = self._bar(current)
        self._total_width = len(bar)
        duration = self._step_duration(current, now)
        if self.target is None or finalize:
            info = f" - {now - self._start:.0f}s " + format_time_per_unit(duration,
                                                                        self.unit_name)
        else:
            info = " - ETA: " + _format_eta(duration * (self.target - current))
        for name in self._values_order:
            info += f" - {name}: " + format_value(self._average(name))
        self._total_width += len(info)
        if previous_width > self._total_width:
            info += " " * (previous_width - self._total_width)
        return message + bar + info + ("\n" if finalize else "")

    def _line_verbose2(self, current, now):
        digits = int(np.log10(self.target)) + 1
        info = ("%" + str(digits) + "d/%d") % (current, self.target)
        info += f" - {now - self._start:.0f}s"
        for name in self._values_order:
            info += f" - {name}: " + _format_value_verbose2(self._average(name))
        if self._time_at_epoch_end:
            epoch_time = self._time_at_epoch_end - self._time_at_epoch_start
            self._time_at_epoch_start = now
            self._time_at_epoch_end = None
            info += " - " + format_time_per_unit(epoch_time, "epoch")
            info += " - " + format_time_per_unit(epoch_time / self.target, self.unit_name)
            info += "\n"
        return info

    def update(self, current, values=None, finalize=None):
        """Show step `current`; `values` are `(name, value)` pairs of this step."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._accumulate(values, current)
        self._seen_so_far = current
        now = time.time()
        if current == self.target:
            self._time_at_epoch_end = now
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            _write(self._line_verbose1(current, now, finalize))
        elif self.verbose == 2 and finalize:
            _write(self._line_verbose2(current, now))
        self._last_update = now

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)


def _write(text):
    sys.stdout.write(text)
    sys.stdout.flush()
