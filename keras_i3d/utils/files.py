"""File helpers: hashes, git blob ids and atomic writes (nothing is ever left half-written)."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from keras_i3d.errors import FileAccessError
from keras_i3d.utils.termination import cleanup_on_termination

_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike, chunk_size: int = _CHUNK) -> str:
    """Returns the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def git_blob_id(path: str | os.PathLike, chunk_size: int = _CHUNK) -> str:
    """Returns the git blob id of a file: sha1 of the header ``blob <size>`` and a NUL byte, then its bytes.

    This is the id git (and GitHub's tree listing) gives the file, so a file
    fetched from a repository can be checked against the id in its tree.
    """
    digest = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode(), usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


#: Temporary names: ``.<final name>.<pid>@<host id>.<random>.tmp<suffix>``, so a
#: later run can tell its own leftovers (of a dead process) from live ones.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)@(?P<host>[0-9a-f]{8})\.[^.]+\.tmp")
#: Leftovers of another machine (shared folders) are removed after this many seconds.
FOREIGN_TEMP_AGE = 24 * 3600


def _host_id() -> str:
    return hashlib.sha1(socket.gethostname().encode(), usedforsecurity=False).hexdigest()[:8]


#: Temporary names carry the final name; longer names are shortened (a prefix and a hash) so that a
#: final name up to the file system's 255 bytes still has a temporary name that fits.
_MAX_TEMP_STEM = 150


def _temp_stem(name: str) -> str:
    if len(name.encode()) <= _MAX_TEMP_STEM:
        return name
    digest = hashlib.sha1(name.encode(), usedforsecurity=False).hexdigest()[:12]
    return f"{name.encode()[:100].decode(errors='ignore')}~{digest}"


def _temp_prefix(name: str) -> str:
    return f".{_temp_stem(name)}.{os.getpid()}@{_host_id()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, but another user's
        return True
    return True


def is_stale_temp(path: Path) -> bool:
    """Whether ``path`` is a temporary file or folder of ours whose writer is gone.

    Gone: a process of this machine that no longer runs, or (for shared
    folders) anything older than `FOREIGN_TEMP_AGE` from another machine.
    """
    match = _TEMP_NAME.match(path.name)
    if match is None:
        return False
    if match["host"] == _host_id():
        return int(match["pid"]) != os.getpid() and not _pid_alive(int(match["pid"]))
    try:
        return time.time() - path.lstat().st_mtime > FOREIGN_TEMP_AGE
    except OSError:
        return False


def sweep_stale_temps(folder: str | os.PathLike, name: str) -> list[Path]:
    """Removes the stale temporary files and folders (see `is_stale_temp`) for ``name`` in ``folder``.

    Returns:
        What was removed. Errors (a file another process just removed, no
        permission) are ignored: sweeping is best effort.
    """
    removed = []
    for path in Path(folder).glob(f".{glob.escape(_temp_stem(name))}.*@*.tmp*"):
        if not is_stale_temp(path):
            continue
        try:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        except OSError:
            continue
        removed.append(path)
    return removed


def default_file_mode() -> int:
    """The mode ``open()`` gives new files under the current umask (``0o666 & ~umask``)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


def ensure_writable_dir(folder: str | os.PathLike) -> Path:
    """Creates ``folder`` if needed and checks that files can be written in it.

    Raises:
        FileAccessError: saying why not: a path component is a regular file,
            permission is denied, or the folder is read-only.
    """
    folder = Path(folder)
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise FileAccessError(f"Cannot use folder {folder}: {ancestor} is a file, not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise FileAccessError(f"Cannot create folder {folder}: {e.strerror or e}.") from e
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FileAccessError(f"Cannot write into folder {folder}: permission denied.")
    return folder


def ensure_writable_file(path: str | os.PathLike) -> Path:
    """Checks, before any work, that ``path`` can be written: not a folder, its folder writable.

    Raises:
        FileAccessError: saying why not (see `ensure_writable_dir`).
    """
    path = Path(path)
    if path.is_dir():
        raise FileAccessError(f"Cannot write {path}: it is a directory.")
    ensure_writable_dir(path.parent)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yields a temporary path beside ``path`` that replaces it on success.

    The temporary file is created in the destination folder (so the final
    ``os.replace`` is atomic), given the umask's normal file mode before it
    replaces ``path``, and removed if the block raises, including on Ctrl-C,
    SIGTERM and SIGHUP (see `cleanup_on_termination`). Leftovers of processes
    killed outright (SIGKILL, power loss) are swept the next time ``path`` is
    written.

    Args:
        path: the final destination.
        suffix: suffix of the temporary name (e.g. ``".weights.h5"``, which
            Keras requires of weight files).

    Raises:
        FileAccessError: if ``path`` is a folder or its folder cannot be
            created or written.
    """
    path = ensure_writable_file(path)
    sweep_stale_temps(path.parent, path.name)
    with cleanup_on_termination():
        tmp = None
        try:
            try:
                fd, name = tempfile.mkstemp(prefix=_temp_prefix(path.name), suffix=f".tmp{suffix}", dir=path.parent)
            except OSError as e:
                raise FileAccessError(f"Cannot write {path}: {e.strerror or e}.") from e
            tmp = Path(name)
            os.close(fd)
            yield tmp
            os.chmod(tmp, default_file_mode())
            os.replace(tmp, path)
        finally:
            _remove_own_temps(path.parent, path.name, tmp)


def _remove_own_temps(folder: Path, name: str, known: Path | None) -> None:
    """Removes this process's temporary file or folder for ``name`` in ``folder``.

    ``known`` is the one created, or ``None`` when a signal arrived between
    its creation and the assignment; then every temporary of this process
    for ``name`` goes.
    """
    for path in [known] if known is not None else folder.glob(glob.escape(_temp_prefix(name)) + "*"):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


@contextlib.contextmanager
def scratch_dir(parent: str | os.PathLike, what: str) -> Iterator[Path]:
    """A temporary folder in ``parent`` (same filesystem), removed afterwards.

    Removed on errors, Ctrl-C, SIGTERM and SIGHUP too; leftovers of killed
    processes are swept the next time a scratch folder for ``what`` is made.

    Raises:
        FileAccessError: if ``parent`` cannot be created or written.
    """
    parent = ensure_writable_dir(parent)
    sweep_stale_temps(parent, what)
    with cleanup_on_termination():
        tmp = None
        try:
            tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(what), suffix=".tmp", dir=parent))
            yield tmp
        finally:
            _remove_own_temps(parent, what, tmp)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | os.PathLike, data: dict) -> None:
    """Writes ``data`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def sidecar_path(path: str | os.PathLike) -> Path:
    """The ``<file>.sha256`` sidecar that records a file's expected hash."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def write_sidecar(path: str | os.PathLike, digest: str) -> None:
    """Writes ``path``'s sidecar (``sha256sum`` format) atomically."""
    write_text_atomic(sidecar_path(path), f"{digest}  {Path(path).name}\n")


def read_sidecar(path: str | os.PathLike) -> str | None:
    """Returns the hash recorded in ``path``'s sidecar, or ``None`` if there is none.

    Raises:
        FileAccessError: if the sidecar exists but is not a readable file
            holding a sha256 (a folder, no permission, empty or garbled).
    """
    sidecar = sidecar_path(path)
    if not sidecar.exists():
        return None
    if not sidecar.is_file():
        raise FileAccessError(f"{sidecar} is not a file (a directory?); remove it.")
    try:
        fields = sidecar.read_text().split()
    except (OSError, UnicodeDecodeError) as e:
        raise FileAccessError(f"Cannot read {sidecar}: {e}.") from e
    if not fields or not re.fullmatch(r"[0-9a-fA-F]{64}", fields[0]):
        raise FileAccessError(f"{sidecar} does not hold a sha256; remove it.")
    return fields[0].lower()
