"""Publishing a finished export as the next version folder (TF Serving's and Triton's layout), atomically."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np

from keras_i3d.errors import ExportError


def existing_versions(export_dir: str | os.PathLike) -> list[int]:
    """The version numbers (all-digit folder names) in ``export_dir``, ascending."""
    folder = Path(export_dir)
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())


#: The largest version TF Serving loads (its version numbers are int64).
MAX_VERSION = 2**63 - 1


def check_version_number(version) -> None:
    """Raises ``ValueError`` unless ``version`` is ``None`` or an int TF Serving can load (1 ... 2**63 - 1)."""
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or not 1 <= version <= MAX_VERSION:
        raise ValueError(
            f"`version` must be a whole number from 1 to {MAX_VERSION} (TF Serving's int64 versions) or None; "
            f"got {version!r}."
        )


def check_version_free(export_dir: str | os.PathLike, version: int | None) -> None:
    """Raises `ExportError` if the requested ``version`` already exists in ``export_dir`` (``None``: any is free)."""
    if version is not None and (Path(export_dir) / str(version)).exists():
        raise ExportError(f"{Path(export_dir) / str(version)} exists; versions are never overwritten. Pick another.")


def publish(source: Path, export_dir: Path, version: int | None, written: list[Path] | None = None) -> Path:
    """Renames the finished version folder ``source`` into ``export_dir`` (atomic; never over an existing version).

    Args:
        source: the folder to publish, in ``export_dir``'s filesystem.
        export_dir: the model's folder.
        version: the version number, or ``None`` for the next free one.
        written: what ``source`` must hold: SavedModel folders (holding
            ``saved_model.pb``) and files; default ``[source]``, a SavedModel.
    """
    for path in written or [source]:
        if path.suffix == ".onnx":
            if not path.is_file():
                raise ExportError(f"No ONNX file was written at {path}.")
        elif not (path / "saved_model.pb").is_file():
            raise ExportError(f"TensorFlow wrote no saved_model.pb in {path}.")
    for _ in range(1000):
        number = version if version is not None else max(existing_versions(export_dir), default=0) + 1
        final = export_dir / str(number)
        if final.exists():  # os.rename would replace an empty folder
            check_version_free(export_dir, version)  # raises for a requested version
            continue
        try:
            os.rename(source, final)
        except OSError as e:
            if e.errno in (errno.EEXIST, errno.ENOTEMPTY) and version is None:
                continue  # another export took this number meanwhile
            raise ExportError(f"Cannot publish the export as {final}: {e.strerror or e}.") from e
        return final
    raise ExportError(f"Cannot find a free version number in {export_dir}.")
