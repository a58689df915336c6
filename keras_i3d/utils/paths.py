"""Where things live: DeepMind's data folder, the caches, the download URLs.

The library reads locations from the environment only; it never guesses a
development checkout's layout (the Makefile and the tests set
``$KINETICS_I3D_DATA`` for that).
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

#: Environment variable naming a local copy of DeepMind's kinetics-i3d ``data/`` folder.
DATA_ENV = "KINETICS_I3D_DATA"
#: Environment variable overriding the base URL of DeepMind's original files.
CHECKPOINT_URL_ENV = "KINETICS_I3D_CHECKPOINT_URL"
#: DeepMind's repository ``data/`` folder, raw files (every file verified by its git blob id).
DEFAULT_CHECKPOINT_URL = "https://raw.githubusercontent.com/google-deepmind/kinetics-i3d/master/data"
#: Environment variable with the base URL of a mirror of converted ``.weights.h5`` files.
WEIGHTS_URL_ENV = "KERAS_I3D_WEIGHTS_URL"

#: DeepMind's sample clip (UCF-101 ``v_CricketShot_g04_c01``), per stream.
SAMPLE_CLIP = {"rgb": "v_CricketShot_g04_c01_rgb.gif", "flow": "v_CricketShot_g04_c01_flow.gif"}


def find_data_dir() -> Path | None:
    """Returns ``$KINETICS_I3D_DATA`` as a path, or ``None`` when it is unset or empty.

    The path is returned even if it does not exist, so that callers can report
    a typo instead of silently ignoring it.
    """
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser() if env else None


def local_data_file(relative: str) -> Path | None:
    """``$KINETICS_I3D_DATA/<relative>`` if that file exists, else ``None``."""
    data_dir = find_data_dir()
    if data_dir is None:
        return None
    path = data_dir / relative
    return path if path.is_file() else None


def checkpoint_prefix(source: str, data_dir: Path | None = None) -> Path | None:
    """Returns ``<data>/checkpoints/<source>/model.ckpt``, or ``None`` without a data folder."""
    data_dir = data_dir if data_dir is not None else find_data_dir()
    if data_dir is None:
        return None
    return Path(data_dir) / "checkpoints" / source / "model.ckpt"


def keras_home() -> Path:
    """``$KERAS_HOME`` (default ``~/.keras``).

    Unlike Keras, which quietly moves to ``/tmp/.keras`` when this is not
    writable, keras_i3d keeps it: a read-only cache is still read, and a write
    into it fails with an error that names the folder.
    """
    return Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()


def cache_dir() -> Path:
    """The folder converted weights are cached in: ``$KERAS_HOME/models/keras_i3d``."""
    return keras_home() / "models" / "keras_i3d"


def data_cache_dir() -> Path:
    """The folder downloaded DeepMind files (sample clips) are cached in: ``$KERAS_HOME/models/keras_i3d/deepmind``.

    Inside `cache_dir`, so that copying that one folder makes a machine work offline.
    """
    return cache_dir() / "deepmind"


#: URL schemes the downloads understand.
URL_SCHEMES = ("http", "https", "file")


def _url_from_env(name: str) -> str | None:
    url = os.environ.get(name)
    if not url:
        return None
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in URL_SCHEMES or (parsed.scheme != "file" and not parsed.netloc):
        raise ValueError(f"${name}={url!r} is not a URL; give http://..., https://... or file:///absolute/folder.")
    return url.rstrip("/")


def checkpoint_base_url() -> str:
    """Base URL of DeepMind's ``data/`` folder: ``$KINETICS_I3D_CHECKPOINT_URL`` or GitHub.

    Raises:
        ValueError: if the variable is set to something that is not a URL.
    """
    return _url_from_env(CHECKPOINT_URL_ENV) or DEFAULT_CHECKPOINT_URL


def weights_base_url() -> str | None:
    """Base URL of a converted-weights mirror (``$KERAS_I3D_WEIGHTS_URL``), or ``None``.

    Raises:
        ValueError: if the variable is set to something that is not a URL.
    """
    return _url_from_env(WEIGHTS_URL_ENV)
