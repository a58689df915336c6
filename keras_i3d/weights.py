"""Resolve pretrained weights (cache -> convert -> download) and load them.

``I3D(weights="kinetics400_rgb")`` looks, in order, for:

1. the Keras cache, ``$KERAS_HOME/models/keras_i3d/i3d_<preset>.weights.h5``
   (``~/.keras`` by default), verified against its ``.sha256`` sidecar;
2. DeepMind's checkpoint ``$KINETICS_I3D_DATA/checkpoints/<source>/model.ckpt``,
   converted on demand (needs TensorFlow) and cached;
3. a download from ``$KERAS_I3D_WEIGHTS_URL/i3d_<preset>.weights.h5``, verified
   against the preset's sha256 (or the mirror's ``.sha256`` file) and cached.

A cached file whose hash does not match is deleted and resolved again; a
download is written to a temporary file and only moved into the cache once its
hash matches, so nothing corrupt stays behind.
"""

from __future__ import annotations

import logging
import os
import urllib.request
import warnings
from pathlib import Path

from keras_i3d import data_paths
from keras_i3d import presets as presets_lib
from keras_i3d._files import atomic_path, read_sidecar, sha256_file, sidecar_path, write_sidecar
from keras_i3d.model import weights_holder

#: Environment variable with the base URL of a weights mirror.
WEIGHTS_URL_ENV = "KERAS_I3D_WEIGHTS_URL"
#: Default base URL of published weights. DeepMind publishes TF checkpoints
#: only; there is no public mirror of converted Keras weights yet, so
#: downloads happen only when ``$KERAS_I3D_WEIGHTS_URL`` names one.
DEFAULT_WEIGHTS_URL: str | None = None

logger = logging.getLogger(__name__)


class WeightsError(ValueError):
    """Weights could not be found, verified or loaded."""


def cache_dir() -> Path:
    """The folder converted and downloaded weights are cached in."""
    base = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    if not os.access(base if base.exists() else base.parent, os.W_OK):
        base = Path("/tmp/.keras")
    return base / "models" / "keras_i3d"


def is_weights_file(weights) -> bool:
    """Whether ``weights`` names a file rather than a preset."""
    if isinstance(weights, os.PathLike):
        return True
    return isinstance(weights, str) and (weights.endswith(".h5") or os.sep in weights or "/" in weights)


def _discard(path: Path) -> None:
    for p in (path, sidecar_path(path)):
        p.unlink(missing_ok=True)


def _cached(preset: presets_lib.Preset) -> Path | None:
    path = cache_dir() / preset.filename
    if not path.exists():
        return None
    actual = sha256_file(path)
    expected = read_sidecar(path)
    if expected is None and actual == preset.sha256:
        # A published file copied into the cache by hand: verified by the registry.
        write_sidecar(path, actual)
        return path
    if expected is None or actual != expected:
        warnings.warn(
            f"Discarding cached weights {path}: sha256 {actual} does not match "
            f"{expected or 'the preset (and there is no .sha256 sidecar)'} (truncated, corrupted "
            "or unverifiable).",
            stacklevel=3,
        )
        _discard(path)
        return None
    return path


def _convert(preset: presets_lib.Preset, progress: bool) -> Path:
    from keras_i3d import checkpoints  # noqa: PLC0415 - imports TF lazily

    prefix = data_paths.checkpoint_prefix(preset.source)
    if prefix is None:
        raise FileNotFoundError(f"no data folder (set ${data_paths.DATA_ENV})")
    checkpoints.resolve_checkpoint_prefix(prefix)
    path = cache_dir() / preset.filename
    logger.info("Converting %s into %s", prefix, path)
    checkpoints.convert_checkpoint(prefix, path, preset=preset.name, progress=progress)
    return path


def _download_to(url: str, dest: Path, progress: bool) -> None:
    from tqdm.auto import tqdm  # noqa: PLC0415

    with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(
            total=total, unit="B", unit_scale=True, desc=f"Downloading {dest.name}", disable=not progress, leave=False
        ) as bar:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                bar.update(len(chunk))
        if total is not None and out.tell() != total:
            raise WeightsError(f"{url}: got {out.tell()} of {total} bytes (truncated download).")


def download_weights(preset: presets_lib.Preset, base_url: str, progress: bool = True) -> Path:
    """Downloads a preset's weights into the cache, verifying their sha256.

    Args:
        preset: the preset.
        base_url: the mirror's base URL (``file://`` works too).
        progress: show a progress bar.

    Returns:
        The cached file.

    Raises:
        WeightsError: on a hash mismatch, a truncated download or no known hash;
            nothing is left in the cache then.
    """
    url = f"{base_url.rstrip('/')}/{preset.filename}"
    expected = preset.sha256
    if expected is None:
        with urllib.request.urlopen(f"{url}.sha256", timeout=60) as response:
            text = response.read().decode().split()
        if not text:
            raise WeightsError(f"{url}.sha256 is empty; cannot verify the download.")
        expected = text[0].lower()
    path = cache_dir() / preset.filename
    with atomic_path(path, suffix=".weights.h5") as tmp:
        _download_to(url, tmp, progress)
        actual = sha256_file(tmp)
        if actual != expected:
            raise WeightsError(f"sha256 mismatch for {url}: expected {expected}, got {actual}. The file was discarded.")
    write_sidecar(path, expected)
    return path


def resolve_preset(name: str, progress: bool = True) -> Path:
    """Returns a local, verified ``.weights.h5`` file for a preset.

    Args:
        name: the preset name.
        progress: show progress bars while converting or downloading.

    Raises:
        ValueError: for an unknown preset.
        WeightsError: when none of the three ways works; the message says why
            each failed and how to fix it.
    """
    preset = presets_lib.get_preset(name)
    cached = _cached(preset)
    if cached is not None:
        return cached
    reasons = [f"1. cache: {cache_dir() / preset.filename} does not exist"]
    try:
        return _convert(preset, progress)
    except (FileNotFoundError, ImportError) as e:
        reasons.append(f"2. convert DeepMind's '{preset.source}' checkpoint: {e}")
    base_url = os.environ.get(WEIGHTS_URL_ENV) or DEFAULT_WEIGHTS_URL
    if base_url:
        try:
            return download_weights(preset, base_url, progress)
        except (OSError, WeightsError) as e:
            reasons.append(f"3. download from {base_url}: {e}")
    else:
        reasons.append(f"3. download: ${WEIGHTS_URL_ENV} is not set and there is no default mirror")
    raise WeightsError(
        f"Could not get weights for preset {name!r}:\n  " + "\n  ".join(reasons) + "\n"
        f"Fix one of them: put the file in the cache (python -m weights_conversion --preset {name} "
        f"--checkpoint .../{preset.source}/model.ckpt --output {cache_dir() / preset.filename}), "
        f"set ${data_paths.DATA_ENV} to a folder holding checkpoints/{preset.source}/model.ckpt.*, "
        f"or set ${WEIGHTS_URL_ENV} to a mirror of converted weights."
    )


def describe_weights_file(path: str | os.PathLike) -> tuple[int, int | None]:
    """Returns ``(input channels, classes or None)`` of an I3D ``.weights.h5``.

    Raises:
        WeightsError: if the file is unreadable or not I3D weights.
    """
    import h5py  # noqa: PLC0415

    shapes = []
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda _, obj: shapes.append(obj.shape) if isinstance(obj, h5py.Dataset) else None)
    except OSError as e:
        raise WeightsError(f"Cannot read weights file {path}: {e} (truncated or not HDF5?)") from e
    first = [s for s in shapes if len(s) == 5 and s[:3] == (7, 7, 7) and s[4] == 64]
    logits = [s for s in shapes if len(s) == 5 and s[:4] == (1, 1, 1, 1024)]
    if len(first) != 1 or len(logits) > 1:
        raise WeightsError(f"{path} does not hold I3D weights.")
    return int(first[0][3]), (int(logits[0][4]) if logits else None)


def _model_channels(model) -> int:
    return int(model.get_layer("Conv3d_1a_7x7_conv_3d").kernel.shape[3])


def load_weights(model, weights, include_top: bool = True, progress: bool = True) -> None:
    """Loads a preset or a ``.weights.h5`` file into an I3D model, by layer name.

    Works for any head: weights of a full model load into a model built with
    ``include_top=False`` (the classifier is skipped).

    Args:
        model: a model built by `keras_i3d.I3D`.
        weights: a preset name or a path to a ``.weights.h5`` file.
        include_top: whether ``model`` has the ``Logits`` classifier.
        progress: show progress bars while converting or downloading.

    Raises:
        WeightsError: if the weights cannot be found, read, or do not fit.
    """
    if is_weights_file(weights):
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"Weights file {path} does not exist.")
    else:
        path = resolve_preset(weights, progress=progress)
    channels, classes = describe_weights_file(path)
    if _model_channels(model) != channels:
        raise WeightsError(
            f"{path} has weights for {channels} input channels; the model takes {_model_channels(model)}."
        )
    model_classes = model.get_layer("Logits").output.shape[-1] if include_top else None
    if include_top and classes != model_classes:
        raise WeightsError(
            f"{path} has {'no classifier' if classes is None else f'{classes} classes'}; the "
            f"model has {model_classes}. Use include_top=False or matching `classes`."
        )
    reference = weights_holder(channels, classes)
    try:
        reference.load_weights(path)
    except Exception as e:  # Keras raises several types for a bad file
        raise WeightsError(f"Cannot load weights file {path}: {e}") from e
    for layer in model.layers:
        if layer.weights:
            layer.set_weights(reference.get_layer(layer.name).get_weights())
