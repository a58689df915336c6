"""Where DeepMind's kinetics-i3d data (checkpoints, sample clip) lives."""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the kinetics-i3d data folder.
DATA_ENV = "KINETICS_I3D_DATA"


def _candidates() -> list[Path]:
    repo_root = Path(__file__).resolve().parent.parent
    return [Path.cwd().parent / "shared" / "kinetics-i3d", repo_root.parent / "shared" / "kinetics-i3d"]


def find_data_dir() -> Path | None:
    """Returns the kinetics-i3d data folder, or ``None`` if there is none.

    ``$KINETICS_I3D_DATA`` wins when set (even if it does not exist, so that a
    typo is reported rather than silently ignored by callers); otherwise
    ``../shared/kinetics-i3d`` beside the working directory or beside this
    source checkout is used when it exists.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate
    return None


def require_data_dir() -> Path:
    """Like `find_data_dir` but raises a clear error when nothing is found.

    Raises:
        FileNotFoundError: if no data folder exists.
    """
    path = find_data_dir()
    if path is None or not path.is_dir():
        raise FileNotFoundError(
            f"kinetics-i3d data folder not found (looked at ${DATA_ENV}="
            f"{os.environ.get(DATA_ENV)!r} and {', '.join(map(str, _candidates()))}). "
            f"Set {DATA_ENV} to a folder laid out like DeepMind's kinetics-i3d/data."
        )
    return path


def checkpoint_prefix(source: str, data_dir: Path | None = None) -> Path | None:
    """Returns ``<data>/checkpoints/<source>/model.ckpt``, or ``None`` without data."""
    data_dir = data_dir if data_dir is not None else find_data_dir()
    if data_dir is None:
        return None
    return Path(data_dir) / "checkpoints" / source / "model.ckpt"
