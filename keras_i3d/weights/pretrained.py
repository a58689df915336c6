"""Find pretrained weights (cache -> local data -> mirror -> DeepMind) and load them.

``I3D(weights="kinetics400_rgb")`` looks, in order, for:

1. the Keras cache, ``$KERAS_HOME/models/keras_i3d/i3d_<preset>.weights.h5``
   (``~/.keras`` by default), checked against its ``.sha256`` sidecar and the
   registry's content digest every time it is used (a read-only cache works);
2. DeepMind's checkpoint in a local data folder,
   ``$KINETICS_I3D_DATA/checkpoints/<source>/model.ckpt``, converted and cached;
3. a mirror of converted weights, ``$KERAS_I3D_WEIGHTS_URL/i3d_<preset>.weights.h5``
   (only when that variable is set), verified and cached;
4. DeepMind's original checkpoint files, downloaded from
   ``$KINETICS_I3D_CHECKPOINT_URL`` (default: their GitHub repository),
   verified against their git blob ids, converted and cached.

If all fail, one error says why each did and how to fix it. Conversion needs
no TensorFlow (`keras_i3d.weights.tensor_bundle` reads the checkpoints), so this works
on every backend.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import warnings
from pathlib import Path

import keras

from keras_i3d import presets as presets_lib
from keras_i3d.errors import ConversionError, DownloadError, FileAccessError, WeightsError
from keras_i3d.model.architecture import FIRST_CONV_LAYER, LOGITS_LAYER, weights_holder
from keras_i3d.utils import paths
from keras_i3d.utils.download import download_file, fetch_text
from keras_i3d.utils.files import ensure_writable_dir, read_sidecar, scratch_dir, sidecar_path
from keras_i3d.weights import deepmind as deepmind_data
from keras_i3d.weights.checkpoints import convert_checkpoint, resolve_checkpoint_prefix
from keras_i3d.weights.files import (
    WeightsInfo,
    check_sidecar,
    check_weights_path,
    config_path,
    describe_weights_file,
    weights_digest,
    write_weights,
)

logger = logging.getLogger(__name__)


def is_weights_file(weights) -> bool:
    """Whether ``weights`` names a file rather than a preset."""
    if isinstance(weights, os.PathLike):
        return True
    return isinstance(weights, str) and (weights.endswith((".h5", ".keras")) or os.sep in weights or "/" in weights)


def cached_path(preset: presets_lib.Preset) -> Path:
    """Where a preset's converted weights live in the cache."""
    return paths.cache_dir() / preset.filename


def discard(path: Path) -> None:
    """Removes a weights file with its sidecar and config (folders in their place are left alone)."""
    for p in (path, sidecar_path(path), config_path(path)):
        if not p.is_dir():
            p.unlink(missing_ok=True)


def registered_digest(info: WeightsInfo) -> str | None:
    """The registry's content digest for a file converted from a preset's DeepMind checkpoint, if any."""
    preset = presets_lib.PRESETS.get(info.preset or "")
    if preset is None or (info.source is not None and info.source != preset.source):
        return None
    return preset.weights_digest


def load_verified(path: Path, info: WeightsInfo, registered: str | None = None) -> keras.Model:
    """Loads a weights file into a `weights_holder`, verified against every digest known for it.

    Checked, when present: the file's sha256 against its ``.sha256`` sidecar,
    then the weights' content digest against the registry's (``registered``,
    the most trusted: a corrupted file with a regenerated sidecar and config
    still fails it) and against the digest its config records.

    Raises:
        WeightsError: if the file cannot be read or any digest differs.
    """
    check_sidecar(path)
    holder = weights_holder(info.channels, info.classes)
    try:
        with warnings.catch_warnings():  # Keras warns per layer before it fails; the error says it all
            warnings.simplefilter("ignore")
            holder.load_weights(path)
    except Exception as e:  # Keras and h5py raise several types for a bad file
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        raise WeightsError(
            f"Cannot load weights file {path}: {reason} (truncated, corrupted, or not the I3D its "
            f"config describes: {info.channels} channels, {info.classes} classes?)"
        ) from e
    actual = weights_digest(holder)
    for source, expected in (("the registry", registered), (config_path(path).name, info.weights_digest)):
        if expected is not None and actual != expected:
            raise WeightsError(
                f"{path} does not verify: its weights digest is {actual}, but {source} says {expected} "
                "(corrupted or different weights)."
            )
    return holder


def _preset_info(preset: presets_lib.Preset) -> WeightsInfo:
    return WeightsInfo(channels=preset.channels, classes=preset.classes, preset=preset.name, source=preset.source)


def _load_cached(preset: presets_lib.Preset) -> keras.Model | None:
    """The cached preset's weights, verified; a cache entry that fails is discarded (with a warning)."""
    path = cached_path(preset)
    if path.is_dir():
        raise WeightsError(f"The cache entry {path} is a directory, not a weights file; remove it.")
    if not path.exists():
        return None
    try:
        if read_sidecar(path) is None:
            raise WeightsError(f"{path} has no .sha256 sidecar (unverifiable)")
        info = describe_weights_file(path) if preset.weights_digest is None else _preset_info(preset)
        return load_verified(path, dataclasses.replace(info, preset=preset.name), preset.weights_digest)
    except FileAccessError as e:
        raise WeightsError(str(e)) from e
    except WeightsError as e:
        warnings.warn(f"Discarding cached weights: {str(e).rstrip('.')}. They will be fetched again.", stacklevel=5)
        discard(path)
        return None


def _convert_into_cache(preset: presets_lib.Preset, prefix: Path, progress: bool) -> None:
    logger.info("Converting %s into %s", prefix, cached_path(preset))
    convert_checkpoint(prefix, cached_path(preset), preset=preset.name, progress=progress, require_registered=True)


def _from_local_data(preset: presets_lib.Preset, progress: bool) -> None:
    data_dir = paths.find_data_dir()
    if data_dir is None:
        raise FileNotFoundError(f"${paths.DATA_ENV} is not set")
    if not data_dir.is_dir():
        what = "is a file, not a folder" if data_dir.exists() else "does not exist"
        raise FileNotFoundError(f"${paths.DATA_ENV}={data_dir} {what}")
    prefix = resolve_checkpoint_prefix(paths.checkpoint_prefix(preset.source, data_dir))
    _convert_into_cache(preset, prefix, progress)


def download_weights(preset: presets_lib.Preset, base_url: str, progress: bool = True) -> Path:
    """Downloads a preset's converted weights from a mirror into the cache.

    The file must match the mirror's ``.sha256`` file, load, and match the
    registry's content digest where the preset has one; only then is it cached
    (with a fresh sidecar and config).

    Raises:
        DownloadError: on a network failure or a sha256 mismatch.
        WeightsError: if the file is unreadable (e.g. not HDF5) or its content
            digest does not match the registry. Nothing is left in the cache then.
    """
    url = f"{base_url.rstrip('/')}/{preset.filename}"
    text = fetch_text(f"{url}.sha256").split()
    if not text:
        raise DownloadError(f"{url}.sha256 is empty; cannot verify the download.")
    with scratch_dir(paths.cache_dir(), f"mirror-{preset.name}") as tmp:
        local = download_file(url, tmp / preset.filename, expected=text[0], digest="sha256", progress=progress)
        holder = load_verified(local, _preset_info(preset), preset.weights_digest)
        write_weights(holder, cached_path(preset), preset.weights_config)
    return cached_path(preset)


def _from_mirror(preset: presets_lib.Preset, progress: bool) -> None:
    mirror = paths.weights_base_url()
    if not mirror:
        raise FileNotFoundError(f"${paths.WEIGHTS_URL_ENV} is not set")
    download_weights(preset, mirror, progress)


def _from_deepmind(preset: presets_lib.Preset, progress: bool) -> None:
    with scratch_dir(paths.cache_dir(), f"download-{preset.source}") as tmp:
        prefix = deepmind_data.download_checkpoint(preset, tmp, progress=progress)
        _convert_into_cache(preset, prefix, progress)


def _resolve(preset: presets_lib.Preset, progress: bool) -> tuple[Path, keras.Model]:
    """The cached, verified weights of a preset, fetched the first way that works."""
    path = cached_path(preset)
    holder = _load_cached(preset)
    if holder is not None:
        return path, holder
    try:
        ensure_writable_dir(paths.cache_dir())
    except FileAccessError as e:
        raise WeightsError(
            f"Preset {preset.name!r} is not in the cache, and the cache cannot be written: {e} "
            "Set KERAS_HOME to a writable folder (a read-only cache that holds the preset works)."
        ) from e
    reasons = [f"1. cache: {path} does not exist"]
    steps = (
        ("local DeepMind data", _from_local_data),
        ("converted-weights mirror", _from_mirror),
        ("DeepMind's original checkpoint", _from_deepmind),
    )
    for number, (label, step) in enumerate(steps, start=2):
        try:
            step(preset, progress)
        except (FileNotFoundError, DownloadError, ConversionError, WeightsError, ValueError) as e:
            reasons.append(f"{number}. {label}: {e}")
            continue
        try:
            return path, load_verified(path, _preset_info(preset), preset.weights_digest)
        except WeightsError as e:  # written, but does not read back: never keep it
            reasons.append(f"{number}. {label}: {e}")
            discard(path)
    raise WeightsError(
        f"Could not get weights for preset {preset.name!r}:\n  " + "\n  ".join(reasons) + "\n"
        "Fix one of them: connect to the internet (or set "
        f"${paths.CHECKPOINT_URL_ENV} to a mirror of DeepMind's data/ folder, file:// works), "
        f"set ${paths.DATA_ENV} to a folder holding checkpoints/{preset.source}/model.ckpt.*, "
        f"or pre-fetch on a connected machine with `keras-i3d download {preset.name}` and copy "
        f"{paths.cache_dir()} over."
    )


def resolve_preset(name: str, progress: bool = True) -> Path:
    """Returns a local, verified ``.weights.h5`` file for a preset.

    A cached file is verified against its sidecar and the registry's content
    digest (the most trusted one) every time; one that fails is discarded and
    fetched again.

    Args:
        name: the preset name.
        progress: show progress bars while downloading or converting.

    Raises:
        ValueError: for an unknown preset.
        WeightsError: when none of the four ways works (the message says why
            each failed and how to fix it), or the cache is unusable (a folder
            in place of the file, not writable when the preset is missing).
    """
    return _resolve(presets_lib.get_preset(name), progress)[0]


def _model_channels(model) -> int:
    return int(model.get_layer(FIRST_CONV_LAYER).kernel.shape[3])


def _check_fits(model, info: WeightsInfo, include_top: bool, what) -> None:
    if _model_channels(model) != info.channels:
        raise WeightsError(
            f"{what} has weights for {info.channels} input channels; the model takes {_model_channels(model)}."
        )
    model_classes = model.get_layer(LOGITS_LAYER).output.shape[-1] if include_top else None
    if include_top and info.classes != model_classes:
        raise WeightsError(
            f"{what} has {'no classifier' if info.classes is None else f'{info.classes} classes'}; the "
            f"model has {model_classes}. Use include_top=False or matching `classes`."
        )


def load_weights(model, weights, include_top: bool = True, progress: bool = True) -> None:
    """Loads a preset or a ``.weights.h5`` file into an I3D model, by layer name.

    Works for any head: weights of a full model load into a model built with
    ``include_top=False`` (the classifier is skipped). Every file is verified
    first (see `load_verified`): a preset against the registry's content
    digest, a file against its ``.sha256`` sidecar and the digests its config
    records. A cached preset that fails is discarded and fetched again.

    Args:
        model: a model built by `keras_i3d.I3D`.
        weights: a preset name or a path to a ``.weights.h5`` file.
        include_top: whether ``model`` has the ``Logits`` classifier.
        progress: show progress bars while converting or downloading.

    Raises:
        WeightsError: if the weights cannot be found, read, verified, or do not fit.
    """
    if is_weights_file(weights):
        path = check_weights_path(weights)
        info = describe_weights_file(path)
        _check_fits(model, info, include_top, path)
        holder = load_verified(path, info, registered_digest(info))
    else:
        preset = presets_lib.get_preset(weights)
        _check_fits(model, _preset_info(preset), include_top, f"Preset {preset.name!r}")
        _, holder = _resolve(preset, progress)
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
