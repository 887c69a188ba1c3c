"""Durable writes: a file's bytes and a rename survive a power cut once these return.

`os.replace` makes a save atomic (readers see the old file or the new one), not durable: until
the new file's data and the directory entry reach the disk, a crash can leave the old name
pointing at an empty or partly written file. Both steps are needed: the file's bytes before the
rename, the directory after it.
"""
import contextlib
import os


def fsync_file(path):
    """Flush a closed file's bytes to the disk."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def sync_directory(directory):
    """Make renames in `directory` durable, where the platform allows it (POSIX)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        handle = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)


def durable_replace(temporary, target):
    """`os.replace(temporary, target)` with the bytes synced before and the directory after."""
    fsync_file(temporary)
    os.replace(temporary, target)
    sync_directory(os.path.dirname(os.path.abspath(target)))
