"""Publishing a finished SavedModel as TF Serving's next version folder, atomically, never over another."""

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


def publish(source: Path, export_dir: Path, version: int | None) -> Path:
    """Renames the finished SavedModel to its version folder (atomic; never over an existing version)."""
    if not (source / "saved_model.pb").is_file():
        raise ExportError(f"TensorFlow wrote no saved_model.pb in {source}.")
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
            raise ExportError(f"Cannot publish the SavedModel as {final}: {e.strerror or e}.") from e
        return final
    raise ExportError(f"Cannot find a free version number in {export_dir}.")
