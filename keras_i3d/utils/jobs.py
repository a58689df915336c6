"""Resumable jobs that write into a folder: the options they were started with, and one writer at a time.

A job (``keras-i3d features`` on a folder, ``keras-i3d dataset``) records the
options that shape its outputs in the folder it writes; a later run into the
same folder resumes only with the same options, and is refused with the
options that differ otherwise (never a folder of mixed outputs). While it runs,
it holds an exclusive lock on the folder, so a second run at the same time is
refused rather than losing the first one's index entries.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from keras_i3d.errors import FileAccessError

try:
    import fcntl
except ImportError:  # Windows: no flock; jobs run unlocked there
    fcntl = None

LOCK_FILE = ".keras-i3d.lock"


def option_differences(recorded: Mapping, wanted: Mapping) -> list[str]:
    """The options that differ, as ``"name: recorded -> wanted"`` lines (sorted by name)."""
    names = sorted(set(recorded) | set(wanted))
    missing = object()
    return [
        f"{name}: {_show(recorded.get(name, missing))} -> {_show(wanted.get(name, missing))}"
        for name in names
        if recorded.get(name, missing) != wanted.get(name, missing)
    ]


def _show(value) -> str:
    return "(not recorded)" if not isinstance(value, (str, int, float, bool, list, dict, type(None))) else repr(value)


def check_same_options(folder: Path, recorded: Mapping | None, wanted: Mapping, what: str) -> None:
    """Refuses to resume ``what`` in ``folder`` when it was started with other options.

    Args:
        folder: the job's output folder (named in the error).
        recorded: the options an earlier run recorded, or ``None`` for a new job.
        wanted: this run's options.
        what: the job, as the error names it (``"features"``).

    Raises:
        FileAccessError: naming each option that differs.
    """
    if recorded is None:
        return
    differences = option_differences(recorded, wanted)
    if differences:
        raise FileAccessError(
            f"{folder} holds {what} written with other options ({'; '.join(differences)}); "
            "write to another folder, or delete this one to start over."
        )


@contextlib.contextmanager
def exclusive_folder(folder: str | os.PathLike, what: str) -> Iterator[Path]:
    """Holds an exclusive lock on ``folder`` (created if needed) while a job writes into it.

    The lock is an ``flock`` on ``folder/.keras-i3d.lock``: the kernel releases it
    when the process ends, however it ends, so a killed run never leaves the folder
    locked. (Where there is no ``flock``, on Windows, the folder is not locked.)

    Raises:
        FileAccessError: another process holds the folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / LOCK_FILE
    if fcntl is None:
        yield folder
        return
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            raise FileAccessError(
                f"{folder} is being written by another keras-i3d {what} run ({holder}); "
                "wait for it to finish, or write to another folder."
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        try:
            yield folder
        finally:
            lock.seek(0)
            lock.truncate()
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it (both resolved)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
