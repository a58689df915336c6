"""`write_dataset`: videos -> sharded TFRecords of `tf.train.SequenceExample` (``keras-i3d dataset``).

Input is a folder with one sub-folder of videos per class (UCF-101's layout)
or a CSV of ``path,label[,start,end]`` (paths relative to the CSV's folder,
times in seconds). Each readable video becomes one SequenceExample (layout in
`keras_i3d.training.record_format`): JPEG frames at 25 fps with the short side resized
to 256, optionally TV-L1 flow. Videos are decoded in parallel worker
processes; shards are written one after another, each to a temporary file
renamed into place when complete, so an interrupted run resumes where it
stopped (finished shards are kept). Unreadable videos are skipped and listed
in ``skipped.txt`` and the manifest, never dropped silently.
"""

from __future__ import annotations

import concurrent.futures
import csv
import ctypes
import dataclasses
import io
import json
import math
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from keras_i3d.errors import DatasetError, FileAccessError, KerasI3DError, VideoError
from keras_i3d.preprocessing import SHORT_SIDE, resize_short_side, resized_shape
from keras_i3d.training import record_format as rf
from keras_i3d.utils.files import atomic_path, ensure_writable_dir, write_json_atomic, write_text_atomic
from keras_i3d.utils.jobs import is_inside
from keras_i3d.utils.progress import bar as progress_bar
from keras_i3d.utils.tf_loader import import_tensorflow
from keras_i3d.version import __version__
from keras_i3d.video.decode import DEFAULT_FPS, VIDEO_SUFFIXES, iter_frames
from keras_i3d.video.flow import TVL1, iter_flow, resolve_flow_implementation

#: Videos per shard when ``shards`` is not given.
VIDEOS_PER_SHARD = 32
#: JPEG quality of the stored frames.
JPEG_QUALITY = 90
_RESIZE_CHUNK = 16
#: Float32 bytes one resize call may use (see `_resized`).
RESIZE_BUDGET_BYTES = 256 << 20
#: The largest side a JPEG can have.
MAX_JPEG_SIDE = 65500
#: The most bytes one video's record may hold while it is written (JPEGs, and raw frames for flow): protobuf
#: refuses records over 2 GB, and the whole record is in memory. Longer videos: several time ranges in a CSV.
MAX_RECORD_BYTES = 512 << 20


@dataclasses.dataclass(frozen=True)
class VideoEntry:
    """One video to write: its file, class name and optional ``[start, end)`` in seconds."""

    path: str
    label: str
    start: float | None = None
    end: float | None = None


@dataclasses.dataclass(frozen=True)
class DatasetSummary:
    """What `write_dataset` wrote.

    Attributes:
        out_dir: the dataset folder.
        labels: class names, in label-index order.
        videos: videos written.
        skipped: ``(path, reason)`` of videos that could not be read.
        shards: shard files, in order.
        resumed: shards kept from an earlier, interrupted run.
        frames: frames written (all videos).
    """

    out_dir: Path
    labels: tuple[str, ...]
    videos: int
    skipped: tuple[tuple[str, str], ...]
    shards: tuple[Path, ...]
    resumed: int
    frames: int


def find_videos(
    source: str | os.PathLike, exclude: str | os.PathLike | None = None
) -> tuple[list[VideoEntry], tuple[str, ...]]:
    """The videos and class names of a class-per-folder tree or a ``path,label[,start,end]`` CSV.

    ``exclude``: a folder whose files are never inputs (the dataset being written, when it lies
    inside the source folder).

    Returns:
        ``(entries, labels)``: entries sorted by path; labels sorted by name
        (label index = position).

    Raises:
        DatasetError: for a missing source, a folder without class folders,
            a class folder without videos, or a malformed CSV row.
    """
    source = Path(source)
    if source.is_dir():
        return _from_folder(source, None if exclude is None else Path(exclude))
    if source.is_file():
        return _from_csv(source)
    raise DatasetError(f"{source} does not exist: give a folder of class folders or a CSV of path,label.")


def _from_folder(root: Path, exclude: Path | None = None) -> tuple[list[VideoEntry], tuple[str, ...]]:
    classes = sorted(
        p
        for p in root.iterdir()
        if p.is_dir() and not p.name.startswith(".") and not (exclude is not None and is_inside(p, exclude))
    )
    if not classes:
        raise DatasetError(f"{root} has no class folders: put each class's videos in a folder named for the class.")
    entries, empty = [], []
    for folder in classes:
        videos = sorted(
            p
            for p in folder.rglob("*")
            if p.is_file()
            and p.suffix.lower() in VIDEO_SUFFIXES
            and not (exclude is not None and is_inside(p, exclude))
        )
        if not videos:
            empty.append(folder.name)
        label = check_label(folder.name, f"class folder {folder}")
        entries += [VideoEntry(str(p.resolve()), label) for p in videos]
    if empty:
        raise DatasetError(f"Class folder(s) with no videos in {root}: {', '.join(empty)}.")
    return entries, tuple(p.name for p in classes)


def _seconds(value: str, where: str) -> float | None:
    if value.strip() == "":
        return None
    try:
        seconds = float(value)
    except ValueError:
        raise DatasetError(f"{where}: {value!r} is not a time in seconds.") from None
    if not math.isfinite(seconds) or seconds < 0:
        raise DatasetError(f"{where}: {value!r} is not a time in seconds.")
    return seconds


def _is_comment(row: list[str]) -> bool:
    """``# ...`` lines are comments; a row whose path merely starts with ``#`` (``#1.mp4,label``) is data."""
    return bool(row) and row[0].startswith("#") and (len(row) == 1 or row[0].startswith("# ") or row[0] == "#")


def _from_csv(path: Path) -> tuple[list[VideoEntry], tuple[str, ...]]:
    entries = read_video_csv(path)
    return entries, tuple(sorted({e.label for e in entries}))


def read_video_csv(path: str | os.PathLike, require_label: bool = True) -> list[VideoEntry]:
    """The rows of a CSV of ``path,label[,start,end]``, sorted by path and start.

    Paths are relative to the CSV's folder; times are seconds. ``# ...`` lines are
    comments and a ``path,label`` header is skipped. With ``require_label=False``
    the label may be empty or absent (``path``, ``path,,start,end``): its entry's
    label is ``""``.

    Raises:
        DatasetError: for text that is not UTF-8 CSV, a row of the wrong shape, a bad
            time or range, a bad class name, or one video and range listed twice.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: Excel's byte-order mark
            rows = [(number, row) for number, row in enumerate(csv.reader(f), 1) if row and not _is_comment(row)]
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path} is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8 CSV.") from None
    except csv.Error as e:
        raise DatasetError(f"{path} is not a readable CSV: {e}.") from None
    if rows and [c.strip().lower() for c in rows[0][1][:2]] == ["path", "label"]:
        rows = rows[1:]
    shape = "path,label[,start,end]" if require_label else "path[,label][,start,end]"
    if not rows:
        raise DatasetError(f"{path} lists no videos (expected rows of {shape}).")
    entries, seen = [], {}
    for number, row in rows:
        where = f"{path}, row {number}"
        label = row[1].strip() if len(row) > 1 else ""
        if len(row) not in ((2, 3, 4) if require_label else (1, 2, 3, 4)) or not row[0].strip():
            raise DatasetError(f"{where}: expected {shape}; got {','.join(row)!r}.")
        if require_label and not label:
            raise DatasetError(f"{where}: expected {shape}; got {','.join(row)!r}.")
        start = _seconds(row[2], where) if len(row) > 2 else None
        end = _seconds(row[3], where) if len(row) > 3 else None
        if start is not None and end is not None and end <= start:
            raise DatasetError(f"{where}: end ({end}) must come after start ({start}).")
        video = Path(row[0].strip())
        video = video if video.is_absolute() else path.parent / video
        entry = VideoEntry(str(video.resolve()), check_label(label, where) if label else "", start, end)
        key = (entry.path, entry.start, entry.end)
        if key in seen:
            first_number, first_label = seen[key]
            what = (
                "the same row twice"
                if first_label == entry.label
                else (f"one video under two labels ({first_label!r} and {entry.label!r})")
            )
            raise DatasetError(f"{path}: rows {first_number} and {number} list {what}: {row[0].strip()}.")
        seen[key] = (number, entry.label)
        entries.append(entry)
    return sorted(entries, key=lambda e: (e.path, e.start or 0.0))


def check_label(label: str, where: str) -> str:
    """``label`` if it can be a class name (one line of ``labels.txt``), else `DatasetError`.

    Refused: empty names, and names holding line breaks or other control or
    separator characters (line feeds, carriage returns, U+2028, tabs...), which would
    split one class into two in ``labels.txt`` and shift every class after it.
    """
    bad = [ch for ch in label if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") or (ch.isspace() and ch != " ")]
    if not label.strip() or bad:
        shown = ", ".join(sorted({repr(ch) for ch in bad})) or "nothing"
        raise DatasetError(f"{where}: the class name {label!r} holds {shown}; a class name is one line of text.")
    return label


def plan_shards(entries: list[VideoEntry], shards: int | None, seed: int = 0) -> list[list[VideoEntry]]:
    """Splits the videos into shards: shuffled with ``seed`` (so each shard mixes classes), then dealt out."""
    if shards is None:
        shards = max(1, math.ceil(len(entries) / VIDEOS_PER_SHARD))
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"`shards` must be a positive int; got {shards!r}.")
    shards = min(shards, len(entries))
    order = list(entries)
    random.Random(seed).shuffle(order)
    return [order[i::shards] for i in range(shards)]


def _jpeg(frame: np.ndarray, quality: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def range_frames(entry: VideoEntry, fps: float | None) -> Iterator[tuple[int, np.ndarray]]:
    """``(frame index in the video, frame)`` inside the entry's ``[start, end)`` (seconds), at ``fps``."""
    first = 0 if entry.start is None else math.ceil(entry.start * fps - 1e-9)
    stop = None if entry.end is None else math.ceil(entry.end * fps - 1e-9)
    for k, frame in enumerate(iter_frames(entry.path, fps)):
        if stop is not None and k >= stop:
            break
        if k >= first:
            yield k, frame


def _resized(frames: Iterator[tuple[int, np.ndarray]], short_side: int) -> Iterator[tuple[int, np.ndarray]]:
    """Frames resized so the short side is ``short_side`` (in chunks, one resize call each), as uint8.

    A chunk holds at most `_RESIZE_CHUNK` frames and `RESIZE_BUDGET_BYTES` of float32 work, so a
    thin 2x2000 video resizes one frame at a time instead of asking for gigabytes; frames that would
    resize past what a JPEG can hold (`MAX_JPEG_SIDE`) are refused as unreadable.
    """
    chunk: list[tuple[int, np.ndarray]] = []
    limit = _RESIZE_CHUNK

    def flush():
        batch = np.stack([f for _, f in chunk])
        if min(batch.shape[1:3]) != short_side:
            batch = np.clip(np.rint(resize_short_side(batch, short_side)), 0, 255).astype(np.uint8)
        yield from zip([k for k, _ in chunk], batch, strict=True)

    for item in frames:
        if chunk and item[1].shape != chunk[0][1].shape:
            yield from flush()
            chunk = []
        if not chunk:
            limit = _chunk_limit(item[1].shape, short_side)
        chunk.append(item)
        if len(chunk) >= limit:
            yield from flush()
            chunk = []
    if chunk:
        yield from flush()


def _chunk_limit(shape: tuple, short_side: int) -> int:
    """How many frames of ``shape`` one resize call may take (see `_resized`); refuses impossible sizes."""
    height, width = shape[:2]
    new_height, new_width = resized_shape(height, width, short_side)
    if max(new_height, new_width) > MAX_JPEG_SIDE:
        raise VideoError(
            f"frames of {width}x{height} resize to {new_width}x{new_height}, larger than a JPEG can hold "
            f"({MAX_JPEG_SIDE} px a side)"
        )
    per_frame = 4 * 3 * (height * width + new_height * new_width + height * new_width)  # float32 in, between, out
    return max(1, min(_RESIZE_CHUNK, RESIZE_BUDGET_BYTES // per_frame))


def encode_video(task: tuple[VideoEntry, dict]) -> dict:
    """Decodes, resizes and encodes one video (runs in a worker process).

    Returns:
        A dict of the record's fields, or ``{"error": reason}`` for a video
        that cannot be read.
    """
    entry, options = task
    fps, short_side, quality = options["fps"], options["short_side"], options["quality"]
    try:
        frames, jpegs, times = [], [], []
        held = 0
        for k, frame in _resized(range_frames(entry, fps), short_side):
            jpegs.append(_jpeg(frame, quality))
            times.append(round(k * 1e6 / fps))
            held += len(jpegs[-1])
            if options["flow"]:
                frames.append(frame)
                held += frame.nbytes
            if held > MAX_RECORD_BYTES:
                raise VideoError(
                    f"is too long for one record ({MAX_RECORD_BYTES >> 20} MB held after {len(jpegs) / fps:.0f} s "
                    "of video); list it in a CSV as several time ranges (path,label,start,end)"
                )
        if not jpegs:
            raise VideoError("no frames in the requested time range")
        if options["flow"] and len(jpegs) < 2:
            raise VideoError("one frame has no optical flow (--flow needs at least 2 frames at this frame rate)")
        shapes = {f.shape for f in frames} if options["flow"] else set()
        if len(shapes) > 1:
            raise VideoError(f"frame size changes mid-video ({sorted(shapes)}), so flow cannot be computed")
        height, width = Image.open(io.BytesIO(jpegs[0])).size[::-1]
        record = {
            "path": entry.path,
            "label": entry.label,
            "jpegs": jpegs,
            "timestamps": times,
            "height": height,
            "width": width,
            "start": times[0],
            "end": times[-1] + round(1e6 / fps),
        }
        if options["flow"]:
            pairs = iter_flow(frames, None, TVL1(**options["tvl1"]), options.get("flow_implementation", "opencv"))
            record["flow"] = [_png(rf.quantize_flow(f)) for f in pairs]
        return record
    except VideoError as e:
        return {"error": str(e).removeprefix(f"{entry.path} ").removeprefix(f"{entry.path}: ")}
    except (KerasI3DError, OSError, ValueError, RuntimeError) as e:  # a decoder or codec failing mid-file
        return {"error": f"{type(e).__name__}: {e}"}
    except MemoryError:  # this video, not the dataset
        return {"error": "out of memory while decoding or resizing it"}


def sequence_example(tf, record: dict, label_index: int, fps: float) -> bytes:
    """The serialised `tf.train.SequenceExample` of one encoded video (see `keras_i3d.training.record_format`)."""
    train = tf.train

    def ints(*values):
        return train.Feature(int64_list=train.Int64List(value=list(values)))

    def data(*values):
        return train.Feature(bytes_list=train.BytesList(value=list(values)))

    context = {
        rf.DATA_PATH: data(record["path"].encode()),
        rf.LABEL_INDEX: ints(label_index),
        rf.LABEL_STRING: data(record["label"].encode()),
        rf.START_TIMESTAMP: ints(record["start"]),
        rf.END_TIMESTAMP: ints(record["end"]),
        rf.IMAGE_FORMAT: data(b"JPEG"),
        rf.IMAGE_HEIGHT: ints(record["height"]),
        rf.IMAGE_WIDTH: ints(record["width"]),
        rf.IMAGE_CHANNELS: ints(3),
        rf.FRAME_RATE: train.Feature(float_list=train.FloatList(value=[fps])),
    }
    lists = {
        rf.IMAGE_ENCODED: train.FeatureList(feature=[data(j) for j in record["jpegs"]]),
        rf.IMAGE_TIMESTAMP: train.FeatureList(feature=[ints(t) for t in record["timestamps"]]),
    }
    if "flow" in record:
        context[rf.FLOW_FORMAT] = data(b"PNG")
        context[rf.FLOW_BOUND_KEY] = train.Feature(float_list=train.FloatList(value=[rf.FLOW_BOUND]))
        lists[rf.FLOW_ENCODED] = train.FeatureList(feature=[data(p) for p in record["flow"]])
    example = train.SequenceExample(
        context=train.Features(feature=context), feature_lists=train.FeatureLists(feature_list=lists)
    )
    return example.SerializeToString()


def _plan_document(entries, labels, shards, options) -> dict:
    return {
        "format_version": rf.FORMAT_VERSION,
        "options": options,
        "labels": list(labels),
        "shards": [[dataclasses.asdict(e) for e in shard] for shard in shards],
    }


def _check_plan(out_dir: Path, plan: dict) -> None:
    """Refuses to resume into a folder started with other videos or options; writes the plan otherwise."""
    path = out_dir / rf.PLAN_FILE
    if path.exists():
        try:
            earlier = json.loads(path.read_text())
        except (OSError, ValueError):
            earlier = None
        if earlier != plan:
            raise DatasetError(
                f"{out_dir} holds a dataset written from other videos or options; "
                "write to a new folder (or delete this one to start over)."
            )
        return
    write_json_atomic(path, plan)


def _finished(out_dir: Path, name: str) -> dict | None:
    """The summary of a shard an earlier run completed, or ``None``."""
    shard, summary = out_dir / name, (out_dir / name).with_suffix(".json")
    if not (shard.is_file() and summary.is_file()):
        return None
    try:
        return json.loads(summary.read_text())
    except (OSError, ValueError):
        return None


def _executor(workers: int):
    if workers == 1:
        return None
    # Workers are spawned, never forked: the parent may have TensorFlow's threads running. Each one
    # ends when the parent does, however it ends (SIGKILL included), never left decoding (~1 GB each).
    return concurrent.futures.ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=exit_with_parent,
        initargs=(os.getpid(),),
    )


def exit_with_parent(parent: int) -> None:
    """Makes this (worker) process end when process ``parent`` ends.

    Linux: the kernel sends SIGKILL when the parent dies (``PR_SET_PDEATHSIG``); elsewhere, and
    in case the parent died before this ran, a daemon thread checks the parent every second.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(1)
            time.sleep(1.0)

    threading.Thread(target=watch, name="keras-i3d-parent-watch", daemon=True).start()


def _encoded(tasks: list, executor) -> Iterator[dict]:
    """`encode_video` of each task, in order (in the worker pool when there is one)."""
    if executor is None:
        yield from map(encode_video, tasks)
    else:
        yield from executor.map(encode_video, tasks)


def write_dataset(
    source: str | os.PathLike,
    out_dir: str | os.PathLike,
    flow: bool = False,
    shards: int | None = None,
    fps: float = DEFAULT_FPS,
    short_side: int = SHORT_SIDE,
    workers: int | None = None,
    quality: int = JPEG_QUALITY,
    tvl1: TVL1 | None = None,
    progress: bool = True,
    flow_implementation: str = "auto",
) -> DatasetSummary:
    """Writes the videos of ``source`` as a sharded TFRecord dataset in ``out_dir``.

    Args:
        source: a folder with one sub-folder of videos per class, or a CSV
            of ``path,label[,start,end]`` rows (optional ``path,label`` header;
            relative paths from the CSV's folder; times in seconds).
        out_dir: the dataset folder (created). Rerunning with the same
            inputs resumes: finished shards are kept.
        flow: also compute and store TV-L1 optical flow (slow: about a
            tenth of a second per frame pair on one core).
        shards: number of shard files (default: one per 32 videos).
        fps: frame rate of the stored frames (DeepMind: 25).
        short_side: stored frames' short side (DeepMind: 256).
        workers: decoding processes (default: one per CPU core).
        quality: JPEG quality of the stored frames.
        tvl1: TV-L1 parameters (default: `keras_i3d.video.flow.TVL1()`).
        progress: show a progress bar.
        flow_implementation: TV-L1's implementation (see `keras_i3d.video.flow.tvl1`), resolved
            here and recorded in the manifest: a dataset never mixes two implementations' flow.

    Returns:
        A `DatasetSummary`. ``out_dir`` then holds the shards
        (``clips-00000-of-00004.tfrecord`` ...), ``labels.txt``,
        ``manifest.json`` (options, counts per class and shard, skipped
        videos) and, if any video was unreadable, ``skipped.txt``.

    Raises:
        DatasetError: for a bad source (see `find_videos`), a folder
            holding a dataset of other inputs, or a class none of whose
            videos could be read (the report is written first).
        MissingExtraError: without TensorFlow or PyAV.
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1e4:
        raise ValueError(f"`fps` must be a positive number; got {fps!r}.")
    if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
        raise ValueError(f"`quality` must be an int in [1, 100]; got {quality!r}.")
    if isinstance(short_side, bool) or not isinstance(short_side, int) or short_side < 32:
        raise ValueError(f"`short_side` must be an int of at least 32; got {short_side!r}.")
    workers = (os.cpu_count() or 1) if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"`workers` must be a positive int; got {workers!r}.")
    tf = import_tensorflow("Writing TFRecord datasets")
    entries, labels = find_videos(source, exclude=out_dir)
    out_dir = ensure_writable_dir(out_dir)
    options = {
        "fps": float(fps),
        "short_side": short_side,
        "quality": quality,
        "flow": bool(flow),
        "tvl1": dataclasses.asdict(tvl1 or TVL1()),
    }
    if flow:  # recorded only with flow; OpenCV's datasets keep the plan of earlier releases (resumable)
        implementation = resolve_flow_implementation(flow_implementation)
        if implementation != "opencv":
            options["flow_implementation"] = implementation
    planned = plan_shards(entries, shards)
    _check_plan(out_dir, _plan_document(entries, labels, planned, options))
    label_index = {name: i for i, name in enumerate(labels)}
    names = [rf.shard_name(i, len(planned)) for i in range(len(planned))]
    summaries = {name: _finished(out_dir, name) for name in names}
    todo = [(name, shard) for name, shard in zip(names, planned, strict=True) if summaries[name] is None]
    resumed = len(names) - len(todo)
    start = time.monotonic()
    executor = _executor(min(workers, max(1, sum(len(s) for _, s in todo))))
    try:
        with progress_bar(
            total=len(entries),
            initial=sum(s["videos"] + len(s["skipped"]) for s in summaries.values() if s),
            unit="video",
            desc=f"dataset {out_dir.name}",
            progress=progress,
        ) as bar:
            results = _encoded([(e, options) for _, shard in todo for e in shard], executor)
            for name, shard in todo:
                try:
                    summaries[name] = _write_shard(tf, out_dir / name, shard, results, label_index, fps, bar)
                except (tf.errors.OpError, OSError) as e:  # disk full, file too large, ...: nothing half-written
                    reason = getattr(e, "message", None) or str(e)
                    raise FileAccessError(
                        f"Writing {out_dir / name} failed: {reason.strip().splitlines()[0]} (disk full or a file "
                        "size limit?). The shards finished before it are kept; rerun to resume."
                    ) from None
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    return _finish(out_dir, source, labels, names, summaries, options, resumed, time.monotonic() - start)


def _write_shard(tf, path: Path, shard: list[VideoEntry], results: Iterator[dict], label_index, fps, bar) -> dict:
    """Writes one shard from the next ``len(shard)`` results; returns (and stores) its summary."""
    summary = {"videos": 0, "frames": 0, "flow_frames": 0, "classes": {}, "skipped": []}
    with atomic_path(path, rf.SHARD_SUFFIX) as tmp, tf.io.TFRecordWriter(str(tmp)) as writer:
        for entry in shard:
            record = next(results)
            bar.update()
            if "error" in record:
                summary["skipped"].append([entry.path, record["error"]])
                if not bar.disable:  # the summary lists them too; this says so as it happens
                    bar.write(f"skipped {entry.path}: {record['error']}", file=sys.stderr)
                continue
            writer.write(sequence_example(tf, record, label_index[entry.label], fps))
            summary["videos"] += 1
            summary["frames"] += len(record["jpegs"])
            summary["flow_frames"] += len(record.get("flow", ()))
            summary["classes"][entry.label] = summary["classes"].get(entry.label, 0) + 1
    write_json_atomic(path.with_suffix(".json"), summary)
    return summary


def _finish(out_dir, source, labels, names, summaries, options, resumed, seconds) -> DatasetSummary:
    per_class = dict.fromkeys(labels, 0)
    skipped = []
    for name in names:
        for label, count in summaries[name]["classes"].items():
            per_class[label] += count
        skipped += [tuple(s) for s in summaries[name]["skipped"]]
    skipped.sort()
    report = out_dir / rf.REPORT_FILE
    if skipped:
        write_text_atomic(report, "".join(f"{path}\t{reason}\n" for path, reason in skipped))
    elif report.exists():
        report.unlink()
    empty = [label for label, count in per_class.items() if count == 0]
    if empty:
        raise DatasetError(
            f"No readable video for class(es) {', '.join(empty)} (see {report}); "
            "fix or remove their videos, then rerun to finish the dataset."
        )
    videos = sum(per_class.values())
    frames = sum(summaries[n]["frames"] for n in names)
    write_text_atomic(out_dir / rf.LABELS_FILE, "".join(f"{label}\n" for label in labels))
    manifest = {
        "format_version": rf.FORMAT_VERSION,
        "keras_i3d_version": __version__,
        "source": str(Path(source).resolve()),
        "options": options,
        "labels": list(labels),
        "videos": videos,
        "frames": frames,
        "flow_frames": sum(summaries[n]["flow_frames"] for n in names),
        "class_counts": per_class,
        "shards": [{"file": n, **{k: summaries[n][k] for k in ("videos", "frames")}} for n in names],
        "skipped": [{"path": p, "reason": r} for p, r in skipped],
        "seconds": round(seconds, 3),
    }
    write_json_atomic(out_dir / rf.MANIFEST_FILE, manifest)
    return DatasetSummary(
        out_dir=out_dir,
        labels=tuple(labels),
        videos=videos,
        skipped=tuple(skipped),
        shards=tuple(out_dir / n for n in names),
        resumed=resumed,
        frames=frames,
    )
