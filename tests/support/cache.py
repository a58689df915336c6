"""Converted weights in Keras caches: the session's one conversion, copied where a test needs it.

Converting DeepMind's ``rgb_scratch`` checkpoint takes seconds; the session
does it once (``converted_rgb`` in ``tests/conftest.py``) and tests that need
the file in a fresh or empty cache copy it there (``seed_cache``) instead of
converting again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from keras_i3d.utils import paths
from keras_i3d.utils.files import sidecar_path
from keras_i3d.weights.files import config_path


def copy_weights(source: Path, folder: Path) -> Path:
    """Copies a weights file with its ``.sha256`` sidecar and config JSON into ``folder``; returns the copy."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in (source, sidecar_path(source), config_path(source)):
        shutil.copy(path, folder / path.name)
    return folder / source.name


def seed_cache(source: Path, cache: Path | None = None) -> Path:
    """Puts a converted preset file (with sidecar and config) into ``cache`` (default: today's
    ``$KERAS_HOME/models/keras_i3d``) under its own name, as a conversion there would have."""
    return copy_weights(source, paths.cache_dir() if cache is None else cache)


def fresh_cache_dir(tmp_path: Path, monkeypatch) -> Path:
    """Points ``$KERAS_HOME`` at an empty folder under ``tmp_path`` (no mirror); returns its weights cache."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(paths.WEIGHTS_URL_ENV, raising=False)
    return paths.cache_dir()
