"""File helpers: hashes, git blob ids and atomic writes (nothing is ever left half-written)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yields a temporary path beside ``path`` that replaces it on success.

    The temporary file is created in the destination folder (so the final
    ``os.replace`` is atomic) and removed if the block raises, including on
    ``KeyboardInterrupt``.

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
        tmp.unlink(missing_ok=True)


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
    """Returns the hash recorded in ``path``'s sidecar, or ``None`` if there is none."""
    try:
        return sidecar_path(path).read_text().split()[0].lower()
    except (OSError, IndexError):
        return None
