"""Find pretrained weights (cache -> local data -> mirror -> DeepMind) and load them.

``I3D(weights="kinetics400_rgb")`` looks, in order, for:

1. the Keras cache, ``$KERAS_HOME/models/keras_i3d/i3d_<preset>.weights.h5``
   (``~/.keras`` by default), checked against its ``.sha256`` sidecar and, when
   loaded, against the registry's content digest;
2. DeepMind's checkpoint in a local data folder,
   ``$KINETICS_I3D_DATA/checkpoints/<source>/model.ckpt``, converted and cached;
3. a mirror of converted weights, ``$KERAS_I3D_WEIGHTS_URL/i3d_<preset>.weights.h5``
   (only when that variable is set), verified and cached;
4. DeepMind's original checkpoint files, downloaded from
   ``$KINETICS_I3D_CHECKPOINT_URL`` (default: their GitHub repository),
   verified against their git blob ids, converted and cached.

If all fail, one error says why each did and how to fix it. Conversion needs
no TensorFlow (`keras_i3d.tensor_bundle` reads the checkpoints), so this works
on every backend.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path

import keras

from keras_i3d import deepmind_data
from keras_i3d import presets as presets_lib
from keras_i3d.architecture import weights_holder
from keras_i3d.checkpoints import convert_checkpoint, resolve_checkpoint_prefix
from keras_i3d.errors import ConversionError, DownloadError, WeightsError
from keras_i3d.utils import paths
from keras_i3d.utils.download import download_file, fetch_text
from keras_i3d.utils.files import read_sidecar, sha256_file, sidecar_path
from keras_i3d.weights_files import WeightsInfo, config_path, describe_weights_file, weights_digest, write_weights

logger = logging.getLogger(__name__)


def is_weights_file(weights) -> bool:
    """Whether ``weights`` names a file rather than a preset."""
    if isinstance(weights, os.PathLike):
        return True
    return isinstance(weights, str) and (weights.endswith(".h5") or os.sep in weights or "/" in weights)


def cached_path(preset: presets_lib.Preset) -> Path:
    """Where a preset's converted weights live in the cache."""
    return paths.cache_dir() / preset.filename


def discard(path: Path) -> None:
    """Removes a weights file with its sidecar and config."""
    for p in (path, sidecar_path(path), config_path(path)):
        p.unlink(missing_ok=True)


def _cached(preset: presets_lib.Preset) -> Path | None:
    path = cached_path(preset)
    if not path.exists():
        return None
    expected = read_sidecar(path)
    actual = sha256_file(path)
    if expected is None or actual != expected:
        warnings.warn(
            f"Discarding cached weights {path}: sha256 {actual} does not match "
            f"{expected or 'anything (there is no .sha256 sidecar)'} (truncated, corrupted or unverifiable). "
            "They will be fetched again.",
            stacklevel=4,
        )
        discard(path)
        return None
    return path


def _convert_into_cache(preset: presets_lib.Preset, prefix: Path, progress: bool) -> Path:
    path = cached_path(preset)
    logger.info("Converting %s into %s", prefix, path)
    convert_checkpoint(prefix, path, preset=preset.name, progress=progress, require_registered=True)
    return path


def _from_local_data(preset: presets_lib.Preset, progress: bool) -> Path:
    data_dir = paths.find_data_dir()
    if data_dir is None:
        raise FileNotFoundError(f"${paths.DATA_ENV} is not set")
    if not data_dir.is_dir():
        raise FileNotFoundError(f"${paths.DATA_ENV}={data_dir} does not exist")
    prefix = resolve_checkpoint_prefix(paths.checkpoint_prefix(preset.source, data_dir))
    return _convert_into_cache(preset, prefix, progress)


def download_weights(preset: presets_lib.Preset, base_url: str, progress: bool = True) -> Path:
    """Downloads a preset's converted weights from a mirror into the cache.

    The file must match the mirror's ``.sha256`` file and, where the registry
    knows the preset's content digest, that digest; only then is it cached
    (with a fresh sidecar and config).

    Raises:
        DownloadError: on a network failure or a sha256 mismatch.
        WeightsError: if the file is unreadable or its content digest does not
            match the registry. Nothing is left in the cache then.
    """
    url = f"{base_url.rstrip('/')}/{preset.filename}"
    text = fetch_text(f"{url}.sha256").split()
    if not text:
        raise DownloadError(f"{url}.sha256 is empty; cannot verify the download.")
    with _scratch_dir(f"mirror-{preset.name}") as tmp:
        local = download_file(url, Path(tmp) / preset.filename, expected=text[0], digest="sha256", progress=progress)
        info = WeightsInfo(channels=preset.channels, classes=preset.classes)
        holder = _load_holder(local, info, preset.weights_digest)
        write_weights(holder, cached_path(preset), preset.weights_config)
    return cached_path(preset)


def _scratch_dir(what: str) -> tempfile.TemporaryDirectory:
    """A temporary folder inside the cache (same filesystem), removed afterwards."""
    cache = paths.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix=f".{what}-", dir=cache)


def _from_deepmind(preset: presets_lib.Preset, progress: bool) -> Path:
    with _scratch_dir(f"download-{preset.source}") as tmp:
        prefix = deepmind_data.download_checkpoint(preset, tmp, progress=progress)
        return _convert_into_cache(preset, prefix, progress)


def resolve_preset(name: str, progress: bool = True) -> Path:
    """Returns a local, verified ``.weights.h5`` file for a preset.

    Args:
        name: the preset name.
        progress: show progress bars while downloading or converting.

    Raises:
        ValueError: for an unknown preset.
        WeightsError: when none of the four ways works; the message says why
            each failed and how to fix it.
    """
    preset = presets_lib.get_preset(name)
    cached = _cached(preset)
    if cached is not None:
        return cached
    reasons = [f"1. cache: {cached_path(preset)} does not exist"]
    try:
        return _from_local_data(preset, progress)
    except (FileNotFoundError, ConversionError) as e:
        reasons.append(f"2. local DeepMind data: {e}")
    mirror = paths.weights_base_url()
    if mirror:
        try:
            return download_weights(preset, mirror, progress)
        except (DownloadError, WeightsError) as e:
            reasons.append(f"3. converted-weights mirror {mirror}: {e}")
    else:
        reasons.append(f"3. converted-weights mirror: ${paths.WEIGHTS_URL_ENV} is not set")
    try:
        return _from_deepmind(preset, progress)
    except (DownloadError, ConversionError) as e:
        reasons.append(f"4. DeepMind's original checkpoint from {paths.checkpoint_base_url()}: {e}")
    raise WeightsError(
        f"Could not get weights for preset {name!r}:\n  " + "\n  ".join(reasons) + "\n"
        "Fix one of them: connect to the internet (or set "
        f"${paths.CHECKPOINT_URL_ENV} to a mirror of DeepMind's data/ folder, file:// works), "
        f"set ${paths.DATA_ENV} to a folder holding checkpoints/{preset.source}/model.ckpt.*, "
        f"or pre-fetch on a connected machine with `keras-i3d download {name}` and copy "
        f"{paths.cache_dir()} over."
    )


def _load_holder(path: Path, info: WeightsInfo, expected_digest: str | None) -> keras.Model:
    holder = weights_holder(info.channels, info.classes)
    try:
        holder.load_weights(path)
    except Exception as e:  # Keras raises several types for a bad file
        raise WeightsError(f"Cannot load weights file {path}: {e}") from e
    if expected_digest is not None:
        actual = weights_digest(holder)
        if actual != expected_digest:
            raise WeightsError(
                f"{path} does not verify: its weights digest is {actual}, expected {expected_digest} "
                "(corrupted or different weights)."
            )
    return holder


def _model_channels(model) -> int:
    return int(model.get_layer("Conv3d_1a_7x7_conv_3d").kernel.shape[3])


def load_weights(model, weights, include_top: bool = True, progress: bool = True) -> None:
    """Loads a preset or a ``.weights.h5`` file into an I3D model, by layer name.

    Works for any head: weights of a full model load into a model built with
    ``include_top=False`` (the classifier is skipped). Preset weights are
    checked against the registry's content digest (a cached file that fails is
    discarded and fetched again); a file with a config JSON against the digest
    it records.

    Args:
        model: a model built by `keras_i3d.I3D`.
        weights: a preset name or a path to a ``.weights.h5`` file.
        include_top: whether ``model`` has the ``Logits`` classifier.
        progress: show progress bars while converting or downloading.

    Raises:
        WeightsError: if the weights cannot be found, read, verified, or do not fit.
    """
    if is_weights_file(weights):
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"Weights file {path} does not exist.")
        info = describe_weights_file(path)
        expected = info.weights_digest
    else:
        preset = presets_lib.get_preset(weights)
        path = resolve_preset(weights, progress=progress)
        info = WeightsInfo(channels=preset.channels, classes=preset.classes)
        expected = preset.weights_digest or describe_weights_file(path).weights_digest
    if _model_channels(model) != info.channels:
        raise WeightsError(
            f"{path} has weights for {info.channels} input channels; the model takes {_model_channels(model)}."
        )
    model_classes = model.get_layer("Logits").output.shape[-1] if include_top else None
    if include_top and info.classes != model_classes:
        raise WeightsError(
            f"{path} has {'no classifier' if info.classes is None else f'{info.classes} classes'}; the "
            f"model has {model_classes}. Use include_top=False or matching `classes`."
        )
    try:
        holder = _load_holder(path, info, expected)
    except WeightsError:
        if is_weights_file(weights):
            raise
        warnings.warn(f"Discarding cached weights {path}: they fail verification. Fetching them again.", stacklevel=3)
        discard(path)
        holder = _load_holder(resolve_preset(weights, progress=progress), info, expected)
    for layer in model.layers:
        if layer.weights:
            for target, value in zip(layer.weights, holder.get_layer(layer.name).weights, strict=True):
                target.assign(value.value)


def download_presets(names: list[str], progress: bool = True) -> dict[str, Path]:
    """Fetches (and converts) presets into the cache, for machines that will be offline.

    Returns:
        ``{preset name: cached .weights.h5}``.

    Raises:
        WeightsError: naming the first preset that could not be fetched.
    """
    return {name: resolve_preset(name, progress=progress) for name in names}
