"""FVD from anything that holds videos: arrays, ``.npy`` files, video files and folders, datasets, statistics.

`video_statistics` streams a source through an `keras_i3d.fvd.embedding.FVDEmbedder`
into `keras_i3d.fvd.statistics.FVDStatistics` (memory bounded by one batch);
`frechet_video_distance` compares two sources.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from keras_i3d.fvd.clips import ClipSampling
from keras_i3d.fvd.defaults import DEFAULT_FRAMES
from keras_i3d.fvd.embedding import FVD_DIM, FVDEmbedder, check_videos
from keras_i3d.fvd.statistics import FVDStatistics
from keras_i3d.utils import progress as progress_lib
from keras_i3d.video.decode import VIDEO_SUFFIXES


def _video_files(source) -> list[Path] | None:
    """The video files a folder or a list of paths names (``None``: not files)."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        files = sorted(p for p in Path(source).rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        if not files:
            raise ValueError(f"{source} holds no videos ({', '.join(VIDEO_SUFFIXES)}).")
        return files
    if isinstance(source, (list, tuple)) and source and all(isinstance(p, (str, os.PathLike)) for p in source):
        return [Path(p) for p in source]
    return None


def _file_batches(files: list[Path], frames: int, batch_size: int, clips: ClipSampling) -> Iterator[np.ndarray]:
    """A clip of ``frames`` frames (native frame rate) of each file, ``batch_size`` videos at a time."""
    batch = []
    for path in files:
        clip = clips.read(path, frames)
        if batch and clip.shape != batch[0].shape:
            raise ValueError(f"{path} is {clip.shape[2]}x{clip.shape[1]}, unlike the videos before it: "
                             "FVD batches videos of one size; resize them first.")  # fmt: skip
        batch.append(clip)
        if len(batch) == batch_size:
            yield np.stack(batch)
            batch = []
    if batch:
        yield np.stack(batch)


def _array_batches(videos, batch_size: int) -> Iterator[np.ndarray]:
    for start in range(0, len(videos), batch_size):
        yield np.asarray(videos[start : start + batch_size])


def _iterable_batches(source: Iterable) -> Iterator[np.ndarray]:
    for element in source:
        videos = element[0] if isinstance(element, (tuple, list)) else element  # (videos, labels) pairs too
        yield np.asarray(videos.numpy() if hasattr(videos, "numpy") else videos)


def _batches(
    source, frames: int | None, batch_size: int, clips: ClipSampling
) -> tuple[Iterator[np.ndarray], int | None, str | None]:
    """Batches of videos from ``source``, how many videos there are when known, and how clips were taken."""
    files = _video_files(source)
    if files is not None:
        return _file_batches(files, frames or DEFAULT_FRAMES, batch_size, clips), len(files), clips.describe()
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.suffix.lower() != ".npy":
            raise ValueError(f"{path}: FVD takes a folder of videos, a .npy of videos or saved statistics (.npz).")
        if not path.is_file():
            raise ValueError(f"{path} does not exist.")
        videos = np.load(path, mmap_mode="r")
        return _array_batches(videos, batch_size), len(videos) if videos.ndim == 5 else None, None
    if isinstance(source, np.ndarray) or hasattr(source, "shape"):
        return _array_batches(source, batch_size), len(source), None
    if isinstance(source, Iterable):
        return _iterable_batches(source), None, None
    raise ValueError(f"FVD cannot read videos from {type(source).__name__}.")


def video_statistics(
    source,
    embedder: FVDEmbedder | None = None,
    frames: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
    clips: ClipSampling | None = None,
) -> FVDStatistics:
    """FVD statistics of a set of videos.

    Args:
        source: `FVDStatistics` or a saved ``.npz`` of them (returned as they are);
            videos ``(N, T, H, W, 3)`` with values 0-255 as an array or a backend's
            tensor; a ``.npy`` of such videos (read batch by batch); a folder of video
            files or a list of their paths (the first ``frames`` frames of each, at
            its own frame rate, or as ``clips`` says); or an iterable of batches (e.g. a `tf.data.Dataset`,
            also of ``(videos, labels)`` pairs).
        embedder: the network and resize (default: the reference's, `FVDEmbedder()`).
        frames: frames per video file (default `DEFAULT_FRAMES`); arrays keep their own.
        batch_size: videos per forward pass for arrays and files.
        progress: show a progress bar.
        clips: which frames of each video file (default: the first ``frames``); recorded in
            the statistics' settings as ``"clips"`` (not compared: real and generated sets
            are often sampled differently on purpose).

    Raises:
        ValueError: for a source that holds no videos, a video file with too few frames, videos FVD cannot take (see
            `keras_i3d.fvd.embedding.check_videos`), or fewer than two videos.
        VideoError: for a video file that cannot be decoded.
    """
    if is_statistics(source):
        return source if isinstance(source, FVDStatistics) else FVDStatistics.load(source)
    embedder = embedder or FVDEmbedder(batch_size=batch_size)
    batches, total, sampling = _batches(source, frames, batch_size, clips or ClipSampling())
    stats = None
    with progress_lib.bar(total=total, progress=progress, desc="FVD embeddings", unit="video") as bar:
        for unchecked in batches:
            batch = check_videos(unchecked)
            if stats is None:
                stats = FVDStatistics(FVD_DIM, embedder.settings(batch.shape[1]))
                if sampling is not None:
                    stats.settings["clips"] = sampling
            elif batch.shape[1] != stats.settings["frames"]:
                raise ValueError(
                    f"Videos of {batch.shape[1]} frames after videos of {stats.settings['frames']}: FVD compares "
                    "sets of one clip length."
                )
            stats.update(embedder(batch))
            bar.update(len(batch))
    if stats is None or stats.count < 2:
        raise ValueError(f"FVD needs at least 2 videos per set; got {0 if stats is None else stats.count}.")
    return stats


def frechet_video_distance(
    a,
    b,
    embedder: FVDEmbedder | None = None,
    frames: int | None = None,
    batch_size: int = 8,
    progress: bool = True,
    clips: ClipSampling | None = None,
) -> float:
    """The Fréchet Video Distance between two sets of videos (each anything `video_statistics` takes).

    With the defaults this is the FVD of the reference (google-research
    ``frechet_video_distance``): TF1 bilinear resize to 224x224, the 400
    ``kinetics400_rgb`` logits averaged over time, unbiased covariances.
    """
    if embedder is None and not (is_statistics(a) and is_statistics(b)):
        embedder = FVDEmbedder(batch_size=batch_size)  # one network for both sides
    first = video_statistics(a, embedder, frames, batch_size, progress, clips)
    second = video_statistics(b, embedder, frames, batch_size, progress, clips)
    return first.frechet_distance_to(second)


def is_statistics(source) -> bool:
    """Whether ``source`` is statistics already: `FVDStatistics` or a saved ``.npz`` (no network needed)."""
    return isinstance(source, FVDStatistics) or (
        isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".npz"
    )
