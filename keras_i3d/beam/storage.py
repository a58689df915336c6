"""Reading and writing a job's files, locally or on Beam's file systems, each write atomic.

Local files go through `keras_i3d.utils.files` (a temporary file beside the target,
renamed over it; a killed process's leftovers are swept). Remote files (``gs://``,
``s3://``, ...) are written to a uniquely named temporary object and renamed, so a
reader sees the old object or the whole new one, never a part.
"""

from __future__ import annotations

import io
import os
import posixpath
import uuid
from pathlib import Path

import numpy as np

from keras_i3d.beam.library import FileSystems
from keras_i3d.beam.sources import is_remote
from keras_i3d.utils.files import is_stale_temp, write_bytes_atomic

#: Bytes of a .npy file read to parse its header.
_HEADER_BYTES = 4096


def join(root: str, name: str) -> str:
    """``root/name`` for local paths and URLs alike (``name`` uses ``/``)."""
    return posixpath.join(root, name) if is_remote(root) else str(Path(root, *name.split("/")))


def write_bytes(path: str, data: bytes) -> None:
    """Writes ``data`` to ``path`` atomically."""
    if not is_remote(path):
        write_bytes_atomic(path, data)
        return
    tmp = f"{path}.tmp-{uuid.uuid4().hex}"
    with FileSystems.create(tmp) as f:
        f.write(data)
    FileSystems.rename([tmp], [path])


def read_bytes(path: str, limit: int | None = None) -> bytes | None:
    """The file's bytes (the first ``limit`` of them), ``None`` when it does not exist or cannot be read."""
    try:
        if not is_remote(path):
            with open(path, "rb") as f:
                return f.read(limit if limit is not None else -1)
        with FileSystems.open(path) as f:
            return f.read(limit) if limit is not None else f.read()
    except Exception:  # missing or unreadable: the caller treats the file as absent
        return None


def size(path: str) -> int | None:
    """The file's size in bytes, ``None`` when it does not exist."""
    if not is_remote(path):
        try:
            return os.stat(path).st_size
        except OSError:
            return None
    try:
        found = FileSystems.match([path])[0].metadata_list
    except Exception:  # missing: the file system's own error
        return None
    return found[0].size_in_bytes if found else None


def delete(path: str) -> None:
    """Removes ``path`` if it exists."""
    if not is_remote(path):
        Path(path).unlink(missing_ok=True)
    elif size(path) is not None:
        FileSystems.delete([path])


def list_names(root: str, suffix: str) -> list[str]:
    """The names (relative to ``root``, ``/``-separated) of the files under it ending in ``suffix``."""
    if is_remote(root):
        try:
            matched = FileSystems.match([root.rstrip("/") + "/**"])[0].metadata_list
        except Exception:  # an empty or missing folder
            return []
        prefix = root.rstrip("/") + "/"
        return sorted(m.path[len(prefix) :] for m in matched if m.path.endswith(suffix))
    base = Path(root)
    names = []
    for folder, _, files in os.walk(base):
        for name in files:
            if name.endswith(suffix) and not is_stale_temp(Path(folder, name)):
                names.append(Path(folder, name).relative_to(base).as_posix())
    return sorted(names)


def remove_stale_temps(root: str) -> int:
    """Removes the temporary files killed processes left under a local ``root``; returns how many."""
    if is_remote(root) or not Path(root).is_dir():
        return 0
    removed = 0
    for folder, _, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if ".tmp" in name and is_stale_temp(path):
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of a ``.npy`` file."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_shape(path: str) -> tuple[int, ...] | None:
    """The shape of the complete ``.npy`` file at ``path``; ``None`` when it is missing, truncated or not one."""
    head = read_bytes(path, _HEADER_BYTES)
    if not head:
        return None
    buffer = io.BytesIO(head)
    try:
        major, _ = np.lib.format.read_magic(buffer)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = read_header(buffer)
    except (ValueError, OSError, EOFError):
        return None
    expected = buffer.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return tuple(int(n) for n in shape) if size(path) == expected and not fortran else None
