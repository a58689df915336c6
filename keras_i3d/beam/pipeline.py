"""``keras-i3d extract``'s pipeline: `run_extract` builds it from the transforms, runs it, and sums up.

On the DirectRunner, ``num_workers`` worker processes each load the network once and
take videos as they come; other runners (Dataflow, Flink, Spark) take their own
options, passed through as Beam's command-line flags.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from keras_i3d.beam import outputs, storage
from keras_i3d.beam.defaults import DEFAULT_RUNNER, VIDEOS_PER_SHARD
from keras_i3d.beam.library import PipelineOptions, beam
from keras_i3d.beam.outputs import OutputLayout
from keras_i3d.beam.settings import ExtractSettings
from keras_i3d.beam.sources import VideoTask, is_remote
from keras_i3d.beam.transforms import (
    ExtractVideos,
    WriteFVDStatistics,
    WriteIndex,
    WriteSequenceExamples,
    fvd_statistics_settings,
    shard_count,
)
from keras_i3d.errors import KerasI3DError
from keras_i3d.utils.files import sha256_file
from keras_i3d.utils.progress import bar as progress_bar

#: Seconds between two looks at the output folder for the progress bar.
_POLL_SECONDS = 1.0


class PipelineError(KerasI3DError, RuntimeError):
    """The Beam pipeline itself failed (not one video: those are listed and the job goes on)."""


@dataclasses.dataclass(frozen=True)
class ExtractSummary:
    """What `run_extract` did.

    Attributes:
        out: the output folder.
        videos: videos of this job whose outputs are complete (earlier runs' included).
        failed: ``(source, reason)`` of this job's videos that could not be processed.
        seconds: the run's wall time.
        fvd_statistics: the ``.npz`` path of an FVD job with at least 2 videos, else ``None``.
        tfrecords: the TFRecord shards written.
    """

    out: str
    videos: int
    failed: tuple[tuple[str, str], ...]
    seconds: float
    fvd_statistics: str | None = None
    tfrecords: tuple[str, ...] = ()


def pipeline_options(
    runner: str = DEFAULT_RUNNER, num_workers: int = 1, beam_args: Sequence[str] = ()
) -> PipelineOptions:
    """Beam's options: the runner, the DirectRunner's worker processes, and any flags passed through.

    Workers log warnings and errors only, unless ``beam_args`` sets ``--default_sdk_harness_log_level``.
    """
    args = [f"--runner={runner}", *beam_args]
    if runner == "DirectRunner":
        mode = "multi_processing" if num_workers > 1 else "in_memory"
        args += [f"--direct_num_workers={num_workers}", f"--direct_running_mode={mode}"]
    if not any(a.startswith("--default_sdk_harness_log_level") for a in beam_args):
        args.append("--default_sdk_harness_log_level=WARNING")
    options = PipelineOptions(args)
    unknown = _unknown_options(options)
    if unknown:
        raise ValueError(f"Beam does not know the option(s) {' '.join(unknown)}; write them as --name=value.")
    return options


class _Discarded(logging.Handler):
    """Catches Beam's "Discarding unparseable args" warning, its only report of an unknown option."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.arguments: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Discarding unparseable args") and record.args:
            self.arguments += [str(a) for a in record.args[0]]


def _unknown_options(options: PipelineOptions) -> list[str]:
    logger = logging.getLogger("apache_beam.options.pipeline_options")
    catcher, saved = _Discarded(), (logger.level, logger.propagate)
    logger.addHandler(catcher)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # caught here, not printed
    try:
        options.get_all_options()
    finally:
        logger.removeHandler(catcher)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    return catcher.arguments


#: Environment variables that bound a worker's compute threads (OpenMP/MKL for PyTorch and NumPy, TensorFlow's
#: intra-op pool, OpenCV's parallel_for); set for the DirectRunner's worker processes unless already set.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "OPENCV_FOR_THREADS_NUM")


def worker_threads(num_workers: int, cores: int | None = None) -> int:
    """Compute threads per DirectRunner worker: the cores shared out, at least one."""
    return max(1, (cores or os.cpu_count() or 1) // num_workers)


@contextlib.contextmanager
def _thread_limits(threads: int | None) -> Iterator[None]:
    """Sets `THREAD_VARIABLES` (those not set already) to ``threads`` while worker processes start."""
    added = [name for name in THREAD_VARIABLES if threads is not None and name not in os.environ]
    for name in added:
        os.environ[name] = str(threads)
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def fvd_network(weights: str) -> str:
    """How FVD statistics name a network: a preset's name, or a file's name and SHA-256."""
    return f"{Path(weights).name} sha256:{sha256_file(weights)}" if os.path.isfile(str(weights)) else str(weights)


def build_pipeline(pipeline, tasks: Sequence[VideoTask], settings: ExtractSettings, layout: OutputLayout) -> None:
    """Adds the job to ``pipeline``: extract every video, then the index (and the TFRecords or FVD statistics)."""
    outcomes = pipeline | "Videos" >> beam.Create(list(tasks)) | "Extract" >> ExtractVideos(settings, layout)
    outcomes | "Index" >> WriteIndex(settings, layout)
    if settings.fvd is not None:
        stats_settings = fvd_statistics_settings(settings, fvd_network(settings.fvd.weights))
        outcomes | "FVD" >> WriteFVDStatistics(layout, stats_settings)
    if "tfrecord" in settings.formats:
        outcomes | "TFRecords" >> WriteSequenceExamples(settings, layout, shard_count(len(tasks), VIDEOS_PER_SHARD))


def _watch(layout: OutputLayout, names: set[str], started: float, stop: threading.Event, bar) -> None:
    """Moves ``bar`` to the number of this job's videos with a sidecar, or a failure written since ``started``."""
    root = layout.video_root
    while not stop.wait(_POLL_SECONDS):
        done = {n[: -len(outputs.SIDECAR)] for n in storage.list_names(root, outputs.SIDECAR)} & names
        failed = {
            n[: -len(outputs.FAILURE)]
            for n in storage.list_names(root, outputs.FAILURE)
            if os.path.getmtime(storage.join(root, n)) >= started
        } & names
        bar.n = len(done | failed)
        bar.refresh()


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def run_extract(
    tasks: Sequence[VideoTask],
    out: str | os.PathLike,
    settings: ExtractSettings,
    runner: str = DEFAULT_RUNNER,
    num_workers: int = 1,
    beam_args: Sequence[str] = (),
    progress: bool = True,
) -> ExtractSummary:
    """Runs the extraction of ``tasks`` into ``out`` on Beam and waits for it.

    Resumable: videos whose outputs are complete are skipped; a killed run's
    unfinished videos are redone; the index is rebuilt from the files.

    Args:
        tasks: the videos (`keras_i3d.beam.sources.find_tasks`).
        out: the output folder (local, or a URL of Beam's file systems).
        settings: what to compute.
        runner: Beam's runner (``DirectRunner``, ``DataflowRunner``, ``FlinkRunner``, ``SparkRunner``, ...).
        num_workers: the DirectRunner's worker processes; with more than one, each gets its share of the
            cores (`THREAD_VARIABLES`, unless set already).
        beam_args: further Beam flags (``--project``, ``--region``, ``--temp_location``, ...).
        progress: a progress bar (DirectRunner with a local output folder).

    Raises:
        ValueError: for options Beam does not know, or two videos with one output name.
        FileAccessError: when ``out`` holds another job's outputs.
        PipelineError: when the pipeline fails (the runner's last line of error).
    """
    if not tasks:
        raise ValueError("No videos to extract.")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise ValueError("Two videos share an output name; give each its own path or time range.")
    options = pipeline_options(runner, num_workers, beam_args)  # an unknown option fails before anything is written
    layout = OutputLayout(str(out), settings.formats)
    outputs.check_record(layout, settings.record())
    logging.getLogger("apache_beam").setLevel(logging.WARNING)
    started = time.time()
    stop = threading.Event()
    watch = progress and runner == "DirectRunner" and not is_remote(layout.out)
    with progress_bar(total=len(tasks), progress=watch, unit="video", desc="extract") as bar:
        watcher = threading.Thread(target=_watch, args=(layout, set(names), started, stop, bar), daemon=True)
        if watch:
            watcher.start()
        # Worker processes would each start a thread per core: N workers on N cores would fight over them.
        threads = worker_threads(num_workers) if runner == "DirectRunner" and num_workers > 1 else None
        try:
            with _thread_limits(threads), beam.Pipeline(options=options) as pipeline:
                build_pipeline(pipeline, tasks, settings, layout)
        except (KeyboardInterrupt, KerasI3DError):
            raise
        except Exception as e:  # the runner's own errors: one line, the traceback behind --debug
            raise PipelineError(f"The Beam pipeline failed: {_one_line(e)}") from e
        finally:
            stop.set()
        if watch:
            watcher.join()
            bar.n = len(tasks)
            bar.refresh()
    return _summary(layout, settings, tasks, time.time() - started)


def _summary(layout: OutputLayout, settings: ExtractSettings, tasks: Sequence[VideoTask], seconds: float):
    index = json.loads(storage.read_bytes(layout.path(outputs.INDEX_FILE)))
    names = {t.name for t in tasks}
    failed = tuple((v["source"], v["error"]) for name, v in sorted(index["failed"].items()) if name in names)
    videos = sum(1 for name in index["videos"] if name in names)
    fvd = layout.path(outputs.FVD_FILE) if settings.fvd is not None and videos >= 2 else None
    shards = ()
    if "tfrecord" in settings.formats:
        shards = tuple(_keep_current_shards(layout, shard_count(len(tasks), VIDEOS_PER_SHARD)))
    return ExtractSummary(layout.out, videos, failed, seconds, fvd, shards)


def _keep_current_shards(layout: OutputLayout, count: int) -> list[str]:
    """The shards of this run; shards of an earlier run with another shard count are removed."""
    folder = layout.path(outputs.TFRECORD_FOLDER)
    kept = []
    for name in storage.list_names(folder, ".tfrecord"):
        match = re.fullmatch(r"features-\d{5}-of-(\d{5})\.tfrecord", name)
        if match and int(match.group(1)) == count:
            kept.append(storage.join(folder, name))
        elif match:
            storage.delete(storage.join(folder, name))
    return sorted(kept)
