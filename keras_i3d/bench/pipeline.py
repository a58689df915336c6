"""Benchmarks (``keras-i3d bench``): how many training clips per second the input pipeline delivers.

Two sources are measured on the same videos: the TFRecords of
``keras-i3d dataset`` read by `keras_i3d.training.data.clip_dataset` (JPEG decoded
inside the crop window, in tf.data's thread pool), and the raw video files
decoded by PyAV and prepared in NumPy by one process (the way a
``Dataset.from_generator`` or a naive loop would feed a model). Rates are
reported per CPU core used, so they scale to a machine of N cores.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import posixpath
import time

import numpy as np

from keras_i3d.errors import DatasetError
from keras_i3d.preprocessing import resize_short_side
from keras_i3d.training import record_format as rf
from keras_i3d.training.data import clip_dataset, dataset_info
from keras_i3d.utils.tf_loader import import_tensorflow
from keras_i3d.video.decode import iter_frames


@dataclasses.dataclass(frozen=True)
class PipelineRate:
    """One measured source: clips per second in total and per core used."""

    source: str
    clips: int
    seconds: float
    cores: int

    @property
    def clips_per_second(self) -> float:
        """Clips delivered per second."""
        return self.clips / self.seconds

    @property
    def clips_per_second_per_core(self) -> float:
        """Clips per second per CPU core used."""
        return self.clips_per_second / self.cores


def tfrecord_rate(dataset, frames: int, size: int, batch_size: int, seconds: float, threads: int) -> PipelineRate:
    """Clips/s `clip_dataset` delivers (training mode) with a private pool of ``threads`` threads."""
    tf = import_tensorflow("The pipeline benchmark")
    data = clip_dataset(dataset, frames, size, batch_size, training=True, seed=0, repeat=True)
    options = tf.data.Options()
    options.threading.private_threadpool_size = threads
    iterator = iter(data.with_options(options))
    for _ in range(2):  # warm-up: tracing, first file opens, AUTOTUNE's first guesses
        next(iterator)
    clips, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        next(iterator)
        clips += batch_size
    return PipelineRate("tfrecord", clips, time.perf_counter() - start, threads)


def _raw_clip(path: str, frames: int, size: int, short_side: int, rng: np.random.Generator) -> np.ndarray:
    """One training clip straight from a video file: first ``frames`` frames (looped), resized, cropped, flipped."""
    decoded = list(itertools.islice(iter_frames(path), frames))
    clip = np.stack([decoded[i % len(decoded)] for i in range(frames)])
    clip = resize_short_side(clip, short_side)
    top = rng.integers(0, clip.shape[1] - size + 1)
    left = rng.integers(0, clip.shape[2] - size + 1)
    clip = clip[:, top : top + size, left : left + size]
    if rng.random() < 0.5:
        clip = clip[:, :, ::-1]
    return clip / 127.5 - 1.0


def raw_video_rate(videos: list[str], frames: int, size: int, short_side: int, seconds: float) -> PipelineRate:
    """Clips/s one process makes from the video files (PyAV decode, NumPy resize and crop)."""
    rng = np.random.default_rng(0)
    _raw_clip(videos[0], frames, size, short_side, rng)  # warm-up
    clips, start = 0, time.perf_counter()
    for path in itertools.cycle(videos):
        _raw_clip(path, frames, size, short_side, rng)
        clips += 1
        if time.perf_counter() - start >= seconds:
            break
    return PipelineRate("raw video", clips, time.perf_counter() - start, 1)


def source_videos(dataset) -> list[str]:
    """The video files a dataset holds (from its ``plan.json``, less skipped ones), those still present."""
    info = dataset_info(dataset)
    skipped = {entry["path"] for entry in (info.manifest or {}).get("skipped", ())}
    tf = import_tensorflow("The pipeline benchmark")
    plan_path = posixpath.join(posixpath.dirname(info.files[0]), rf.PLAN_FILE)
    if not tf.io.gfile.exists(plan_path):
        return []
    with tf.io.gfile.GFile(plan_path) as f:
        plan = json.loads(f.read())
    return sorted(
        e["path"] for shard in plan["shards"] for e in shard if e["path"] not in skipped and os.path.isfile(e["path"])
    )


def bench_pipeline(
    dataset,
    frames: int = 64,
    size: int = 224,
    batch_size: int = 8,
    seconds: float = 20.0,
    threads: int | None = None,
    raw: bool = True,
) -> list[PipelineRate]:
    """Measures the input pipeline from TFRecords and (with ``raw``) from the source videos.

    Args:
        dataset: a `keras-i3d dataset` folder or glob.
        frames: frames per clip.
        size: crop size.
        batch_size: clips per batch (TFRecords).
        seconds: time measured per source, after warm-up.
        threads: tf.data threads (default: all cores).
        raw: also measure decoding the source videos (listed in the dataset's plan).

    Returns:
        One `PipelineRate` per source.

    Raises:
        DatasetError: if ``raw`` and none of the source videos is present.
    """
    threads = threads or os.cpu_count() or 1
    rates = [tfrecord_rate(dataset, frames, size, batch_size, seconds, threads)]
    if raw:
        videos = source_videos(dataset)
        if not videos:
            raise DatasetError(f"The videos {dataset} was written from are not here; measure with raw=False.")
        short_side = dataset_info(dataset).short_side or 256
        rates.append(raw_video_rate(videos, frames, size, short_side, seconds))
    return rates
