"""File helpers: sha256 and atomic writes (nothing is ever left half-written)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Returns the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yields a temporary path beside ``path`` that replaces it on success.

    The temporary file is created in the destination folder (so the final
    ``os.replace`` is atomic) and removed if the block raises.

    Args:
        path: the final destination.
        suffix: suffix of the temporary name (e.g. ``".weights.h5"``, which
            Keras requires of weight files).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Writes ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def sidecar_path(path: str | os.PathLike) -> Path:
    """The ``<file>.sha256`` sidecar that records a file's expected hash."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def write_sidecar(path: str | os.PathLike, digest: str) -> None:
    """Writes ``path``'s sidecar (``sha256sum`` format) atomically."""
    write_text_atomic(sidecar_path(path), f"{digest}  {Path(path).name}\n")


def read_sidecar(path: str | os.PathLike) -> str | None:
    """Returns the hash recorded in ``path``'s sidecar, or ``None`` if there is none."""
    try:
        return sidecar_path(path).read_text().split()[0].lower()
    except (OSError, IndexError):
        return None
