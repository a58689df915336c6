"""Fetching a preset's weights: cache -> local data -> mirror -> DeepMind, each verified (step 4 of the path).

``I3D(weights="kinetics400_rgb")`` looks, in order, for:

1. the Keras cache, ``$KERAS_HOME/models/keras_i3d/i3d_<preset>.weights.h5``
   (``~/.keras`` by default), verified every time it is used (a read-only
   cache works); an entry that fails is discarded with a warning and fetched again;
2. DeepMind's checkpoint in a local data folder,
   ``$KINETICS_I3D_DATA/checkpoints/<source>/model.ckpt``, converted into the cache;
3. a mirror of converted weights, ``$KERAS_I3D_WEIGHTS_URL/i3d_<preset>.weights.h5``
   (only when that variable is set), verified and cached;
4. DeepMind's original checkpoint files, downloaded from
   ``$KINETICS_I3D_CHECKPOINT_URL`` (default: their GitHub repository),
   verified against their git blob ids, converted and cached.

Each source is a small function that returns a `Fetched` file or raises
`StepFailed` with the reason; `fetch` then hands the file to ``verify`` (by
default `keras_i3d.weights.verify.verify`, the one place digests are
compared), and a file that does not verify is removed. If every source
fails, one `WeightsError` says why each did and how to fix it. Conversion
needs no TensorFlow (`keras_i3d.weights.tensor_bundle` reads the
checkpoints), so this works on every backend.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import keras

from keras_i3d import presets as presets_lib
from keras_i3d.errors import ConversionError, DownloadError, FileAccessError, WeightsError
from keras_i3d.utils import paths
from keras_i3d.utils.download import download_file, fetch_text
from keras_i3d.utils.files import ensure_writable_dir, scratch_dir
from keras_i3d.weights import deepmind as deepmind_data
from keras_i3d.weights.checkpoints import convert_checkpoint_weights, resolve_checkpoint_prefix
from keras_i3d.weights.files import WeightsFile, write_weights
from keras_i3d.weights.spec import WeightsSpec, preset_spec
from keras_i3d.weights.verify import verify as default_verify

logger = logging.getLogger(__name__)


class StepFailed(Exception):  # noqa: N818 - a source that failed, not an error for the caller
    """One source of weights did not work; the chain goes on to the next.

    Attributes:
        reason: why, in one line, for the combined error.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Fetched:
    """What a source produced: a file in the cache, and the weights in memory when it has them.

    Attributes:
        file: the cached `WeightsFile`.
        holder: a weights holder already filled with the same weights (a
            conversion's), which verification reads the file back into instead
            of building another graph; ``None`` otherwise.
    """

    file: WeightsFile
    holder: keras.Model | None = None


#: ``verify(weights_file, spec, holder=None, require_sidecar=False) -> holder``.
Verify = Callable[..., keras.Model]
#: ``source(spec, progress) -> Fetched``, raising `StepFailed`.
Source = Callable[[WeightsSpec, bool], Fetched]


def cached_path(preset: presets_lib.Preset) -> Path:
    """Where a preset's converted weights live in the cache."""
    return paths.cache_dir() / preset.filename


def _convert_into_cache(spec: WeightsSpec, prefix: Path, progress: bool) -> Fetched:
    target = cached_path(spec.preset)
    logger.info("Converting %s into %s", prefix, target)
    try:
        result, holder = convert_checkpoint_weights(
            prefix, target, preset=spec.preset.name, progress=progress, require_registered=True
        )
    except ConversionError as e:  # CheckpointError too: a truncated or corrupted checkpoint
        raise StepFailed(str(e)) from e
    return Fetched(WeightsFile(result.output), holder)


def from_local_data(spec: WeightsSpec, progress: bool) -> Fetched:
    """Converts DeepMind's checkpoint from ``$KINETICS_I3D_DATA`` into the cache.

    Raises:
        StepFailed: no data folder, no checkpoint in it, or a checkpoint that
            does not convert.
    """
    data_dir = paths.find_data_dir()
    if data_dir is None:
        raise StepFailed(f"${paths.DATA_ENV} is not set")
    if not data_dir.is_dir():
        what = "is a file, not a folder" if data_dir.exists() else "does not exist"
        raise StepFailed(f"${paths.DATA_ENV}={data_dir} {what}")
    try:
        prefix = resolve_checkpoint_prefix(paths.checkpoint_prefix(spec.preset.source, data_dir))
    except (FileNotFoundError, ConversionError) as e:
        raise StepFailed(str(e)) from e
    return _convert_into_cache(spec, prefix, progress)


def download_weights(
    preset: presets_lib.Preset, base_url: str, progress: bool = True, verify: Verify = default_verify
) -> Path:
    """Downloads a preset's converted weights from a mirror into the cache.

    The file must match the mirror's ``.sha256`` file, load, and match the
    registry's content digest where the preset has one; only then is it cached
    (with a fresh sidecar and config).

    Raises:
        DownloadError: on a network failure or a sha256 mismatch.
        WeightsError: if the file is unreadable (e.g. not HDF5) or its content
            digest does not match the registry. Nothing is left in the cache then.
    """
    return _download_weights(preset_spec(preset), base_url, progress, verify).file.path


#: The most bytes a mirrored ``.weights.h5`` can have (I3D's are ~50 MB).
MAX_WEIGHTS_BYTES = 512 << 20


def _download_weights(spec: WeightsSpec, base_url: str, progress: bool, verify: Verify) -> Fetched:
    preset = spec.preset
    url = f"{base_url.rstrip('/')}/{preset.filename}"
    text = fetch_text(f"{url}.sha256").split()
    if not text:
        raise DownloadError(f"{url}.sha256 is empty; cannot verify the download.")
    with scratch_dir(paths.cache_dir(), f"mirror-{preset.name}") as tmp:
        local = download_file(
            url,
            tmp / preset.filename,
            expected=text[0],
            digest="sha256",
            progress=progress,
            max_bytes=MAX_WEIGHTS_BYTES,
        )
        holder = verify(WeightsFile(local), spec)
        write_weights(holder, cached_path(preset), preset.weights_config)
    return Fetched(WeightsFile(cached_path(preset)), holder)


def from_mirror(spec: WeightsSpec, progress: bool, verify: Verify = default_verify) -> Fetched:
    """Downloads converted weights from ``$KERAS_I3D_WEIGHTS_URL`` into the cache.

    Raises:
        StepFailed: no mirror set, a failed download, or a file that does not verify.
    """
    try:
        mirror = paths.weights_base_url()
    except ValueError as e:  # the variable holds no URL
        raise StepFailed(str(e)) from e
    if not mirror:
        raise StepFailed(f"${paths.WEIGHTS_URL_ENV} is not set")
    try:
        return _download_weights(spec, mirror, progress, verify)
    except (DownloadError, WeightsError) as e:
        raise StepFailed(str(e)) from e


def from_deepmind(spec: WeightsSpec, progress: bool) -> Fetched:
    """Downloads DeepMind's original checkpoint (verified by git blob ids) and converts it into the cache.

    Raises:
        StepFailed: a failed download or a checkpoint that does not convert.
    """
    try:
        paths.checkpoint_base_url()
    except ValueError as e:  # the variable holds no URL
        raise StepFailed(str(e)) from e
    with scratch_dir(paths.cache_dir(), f"download-{spec.preset.source}") as tmp:
        try:
            prefix = deepmind_data.download_checkpoint(spec.preset, tmp, progress=progress)
        except DownloadError as e:
            raise StepFailed(str(e)) from e
        return _convert_into_cache(spec, prefix, progress)


#: The sources after the cache, in order: ``(label, source)``.
SOURCES: tuple[tuple[str, Source], ...] = (
    ("local DeepMind data", from_local_data),
    ("converted-weights mirror", from_mirror),
    ("DeepMind's original checkpoint", from_deepmind),
)


def _from_cache(spec: WeightsSpec, verify: Verify, reasons: list[str]) -> tuple[WeightsFile, keras.Model] | None:
    """The cached file, verified; an entry that fails is discarded (with a warning) and ``None`` returned."""
    weights_file = WeightsFile(cached_path(spec.preset))
    if weights_file.path.is_dir():
        raise WeightsError(f"The cache entry {weights_file.path} is a directory, not a weights file; remove it.")
    if not weights_file.path.exists():
        reasons.append(f"1. cache: {weights_file.path} does not exist")
        return None
    try:
        weights_file.recorded_sha256  # noqa: B018 - an unreadable sidecar is the cache's fault, not the weights'
    except FileAccessError as e:
        raise WeightsError(str(e)) from e
    try:
        return weights_file, verify(weights_file, spec, require_sidecar=True)
    except WeightsError as e:
        warnings.warn(f"Discarding cached weights: {str(e).rstrip('.')}. They will be fetched again.", stacklevel=5)
        weights_file.discard()
        reasons.append(f"1. cache: {weights_file.path} did not verify and was discarded")
        return None


def fetch(
    spec: WeightsSpec,
    verify: Verify = default_verify,
    progress: bool = True,
    sources: Sequence[tuple[str, Source]] = SOURCES,
) -> tuple[WeightsFile, keras.Model]:
    """A preset's cached, verified weights, fetched the first way that works.

    Args:
        spec: a preset's spec (`keras_i3d.weights.spec.describe`).
        verify: checks a file and returns a weights holder filled from it.
        progress: show progress bars while downloading or converting.
        sources: the sources tried after the cache, as ``(label, source)``.

    Returns:
        ``(cached file, weights holder)``.

    Raises:
        WeightsError: when every source fails (the message says why each did
            and how to fix it), or the cache is unusable (a folder in place of
            the file, not writable when the preset is missing).
    """
    preset = spec.preset
    reasons: list[str] = []
    cached = _from_cache(spec, verify, reasons)
    if cached is not None:
        return cached
    try:
        ensure_writable_dir(paths.cache_dir())
    except FileAccessError as e:
        raise WeightsError(
            f"Preset {preset.name!r} is not in the cache, and the cache cannot be written: {e} "
            "Set KERAS_HOME to a writable folder (a read-only cache that holds the preset works)."
        ) from e
    for number, (label, source) in enumerate(sources, start=2):
        try:
            fetched = source(spec, progress)
        except StepFailed as e:
            reasons.append(f"{number}. {label}: {e.reason}")
            continue
        try:
            return fetched.file, verify(fetched.file, spec, fetched.holder)
        except WeightsError as e:  # written, but does not read back: never keep it
            reasons.append(f"{number}. {label}: {e}")
            fetched.file.discard()
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
    return fetch(preset_spec(presets_lib.get_preset(name)), progress=progress)[0].path


def download_presets(names: list[str], progress: bool = True) -> dict[str, Path]:
    """Fetches (and converts) presets into the cache, for machines that will be offline.

    Returns:
        ``{preset name: cached .weights.h5}``.

    Raises:
        WeightsError: naming the first preset that could not be fetched.
    """
    return {name: resolve_preset(name, progress=progress) for name in names}
