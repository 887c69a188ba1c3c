"""`keras.utils.io_utils`: printing and the overwrite prompt."""
import logging
import os
import sys

from ..saving.file_io import ask_to_proceed_with_overwrite  # noqa: F401

_interactive_logging = {"enabled": True}


def enable_interactive_logging():
    """Progress output goes to stdout (the default)."""
    _interactive_logging["enabled"] = True


def disable_interactive_logging():
    """Progress output goes to Python's `logging` instead of stdout."""
    _interactive_logging["enabled"] = False


def is_interactive_logging_enabled():
    return _interactive_logging["enabled"]


def print_msg(message, line_break=True):
    """Print to stdout (with a line break unless `line_break=False`), or log it when
    interactive logging is disabled."""
    if is_interactive_logging_enabled():
        sys.stdout.write(message + "\n" if line_break else message)
        sys.stdout.flush()
    else:
        logging.getLogger("keras").info(message)


def path_to_string(path):
    """A `PathLike` as its string; anything else unchanged."""
    if isinstance(path, os.PathLike):
        return os.fspath(path)
    return path
