"""DeepMind's original kinetics-i3d files, found locally or downloaded and verified.

DeepMind publish their five TF checkpoints and the sample clips as plain files
in the ``data/`` folder of ``github.com/google-deepmind/kinetics-i3d``. Each
file has a permanent git blob id (``presets.deepmind_files()``); a downloaded
file is kept only if its blob id matches, so nothing unverified is ever read.

The base URL is ``$KINETICS_I3D_CHECKPOINT_URL`` (a mirror laid out like that
folder, ``file://`` works) or DeepMind's repository.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from keras_i3d import presets as presets_lib
from keras_i3d.errors import DownloadError, one_line
from keras_i3d.utils import paths
from keras_i3d.utils.download import download_file
from keras_i3d.utils.files import git_blob_id, scratch_dir


def blob_id(relative: str) -> str:
    """The git blob id of DeepMind's ``data/<relative>``.

    Raises:
        KeyError: for a file that is not one of DeepMind's.
    """
    files = presets_lib.deepmind_files()
    if relative not in files:
        raise KeyError(f"{relative!r} is not one of DeepMind's kinetics-i3d files: {sorted(files)}.")
    return files[relative]


def download(relative: str, dest: str | os.PathLike, progress: bool = True) -> Path:
    """Downloads DeepMind's ``data/<relative>`` to ``dest``, verified by its git blob id.

    Raises:
        DownloadError: on a network failure, a cut-off transfer or a blob id
            mismatch (then nothing is left at ``dest``).
    """
    url = f"{paths.checkpoint_base_url()}/{relative}"
    return download_file(
        url, dest, blob_id(relative), digest="git_blob_id", progress=progress, desc=relative,
        max_bytes=max_size(relative),
    )  # fmt: skip


#: The most bytes each kind of DeepMind file can have (their sizes are ~11 kB, ~50-100 MB and ~1-3 MB):
#: an endless or wrong body stops here, before the blob id is computed.
MAX_SIZES = {".index": 1 << 20, ".data-00000-of-00001": 512 << 20, ".gif": 32 << 20}


def max_size(relative: str) -> int:
    """The size bound of DeepMind's ``data/<relative>`` (see `MAX_SIZES`)."""
    return next((size for suffix, size in MAX_SIZES.items() if relative.endswith(suffix)), 512 << 20)


def download_checkpoint(preset: presets_lib.Preset, dest_dir: str | os.PathLike, progress: bool = True) -> Path:
    """Downloads a preset's source checkpoint (``.index`` and data) into ``dest_dir``.

    Returns:
        The checkpoint prefix ``dest_dir/model.ckpt``.

    Raises:
        DownloadError: if either file cannot be fetched or does not verify.
    """
    dest_dir = Path(dest_dir)
    for relative in preset.checkpoint_files:
        download(relative, dest_dir / Path(relative).name, progress=progress)
    return dest_dir / "model.ckpt"


def ensure(relative: str, target: str | os.PathLike, progress: bool = True) -> Path:
    """``target`` if it holds DeepMind's ``data/<relative>`` (blob id checked), else downloads it there.

    A file at ``target`` that does not verify is removed first.

    Raises:
        DownloadError: if it has to be downloaded and cannot be.
    """
    target = Path(target)
    if target.is_file():
        if git_blob_id(target) == blob_id(relative):
            return target
        target.unlink()
    return download(relative, target, progress=progress)


@contextlib.contextmanager
def source_checkpoint(preset: presets_lib.Preset, progress: bool = True) -> Iterator[Path]:
    """Yields the prefix of a preset's DeepMind checkpoint, local or freshly downloaded.

    The checkpoint in ``$KINETICS_I3D_DATA`` when both its files are there;
    otherwise both are downloaded (verified) into a temporary folder that is
    removed when the block ends.

    Raises:
        DownloadError: if it is not local and cannot be downloaded.
    """
    data_dir = paths.find_data_dir()
    if data_dir is not None and all((data_dir / relative).is_file() for relative in preset.checkpoint_files):
        yield paths.checkpoint_prefix(preset.source, data_dir)
        return
    with scratch_dir(tempfile.gettempdir(), f"kinetics-i3d-{preset.source}") as tmp:
        yield download_checkpoint(preset, tmp, progress=progress)


def fetch_file(relative: str, progress: bool = True) -> Path:
    """A local copy of DeepMind's ``data/<relative>`` (e.g. the sample clip).

    Looks in ``$KINETICS_I3D_DATA``, then in the data cache
    (``$KERAS_HOME/models/keras_i3d/deepmind``, re-verified), then downloads into
    that cache.

    Raises:
        DownloadError: if it is nowhere local and cannot be downloaded; the
            message ends with what to do about it.
    """
    local = paths.local_data_file(relative)
    if local is not None:
        return local
    try:
        return ensure(relative, paths.data_cache_dir() / relative, progress=progress)
    except DownloadError as e:
        data_dir = paths.find_data_dir()
        where = f"${paths.DATA_ENV}={data_dir}" if data_dir else f"${paths.DATA_ENV} unset"
        raise DownloadError(
            f"DeepMind's {relative} is not local ({where}) and could not be downloaded: {one_line(e)}\n"
            f"To fix: point ${paths.DATA_ENV} at a copy of DeepMind's data/ folder, or on a connected machine run "
            f"`keras-i3d download --samples` and copy {paths.cache_dir()} here."
        ) from None


def sample_clip(stream: str = "rgb", progress: bool = True) -> Path:
    """Path of DeepMind's sample cricket clip GIF for ``stream`` (``"rgb"`` or ``"flow"``)."""
    if stream not in paths.SAMPLE_CLIP:
        raise ValueError(f"`stream` must be 'rgb' or 'flow'; got {stream!r}.")
    return fetch_file(paths.SAMPLE_CLIP[stream], progress=progress)


def download_data_folder(dest: str | os.PathLike, relatives: list[str], progress: bool = True) -> list[Path]:
    """Downloads DeepMind's original files into ``dest``, laid out like their ``data/`` folder.

    The result works as ``$KINETICS_I3D_DATA`` or, served or as a ``file://``
    URL, as ``$KINETICS_I3D_CHECKPOINT_URL``. Files already there and verified
    are not fetched again.
    """
    return [ensure(relative, Path(dest) / relative, progress=progress) for relative in relatives]
