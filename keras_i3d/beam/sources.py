"""The videos of a job: a folder (recursive), a CSV of ``path[,label][,start,end]``, a glob, or one file.

Local paths are listed with the standard library; other paths (``gs://``, ``s3://``,
...) through Beam's file systems, which need Beam's extra for that scheme (e.g.
``apache-beam[gcp]``). Each video gets a `VideoTask` whose ``name`` — its path
relative to the source, plus ``@start-end`` for a CSV row's time range — names
its outputs, so two videos never share an output and a rerun finds its own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob as globlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from keras_i3d.beam.library import FileSystems
from keras_i3d.errors import DatasetError, InputError
from keras_i3d.training.dataset_writer import read_video_csv
from keras_i3d.utils.jobs import is_inside
from keras_i3d.video.decode import VIDEO_SUFFIXES

_GLOB_CHARACTERS = "*?["


@dataclasses.dataclass(frozen=True)
class VideoTask:
    """One video of a job.

    Attributes:
        path: the file: a local path or a URL of one of Beam's file systems.
        name: its outputs' name, relative to the output folder (POSIX separators).
        label: the CSV's label, ``""`` when none.
        start: the first second to use (a CSV's range), ``None`` from the start.
        end: the second to stop at, ``None`` to the end.
    """

    path: str
    name: str
    label: str = ""
    start: float | None = None
    end: float | None = None


def is_remote(path: str) -> bool:
    """Whether ``path`` is a URL of another file system than the local one."""
    return "://" in str(path) and not str(path).startswith("file://")


def _local(path: str) -> str:
    return path[len("file://") :] if path.startswith("file://") else path


def _is_video(name: str) -> bool:
    return PurePosixPath(name).suffix.lower() in VIDEO_SUFFIXES


def _range_name(name: str, start: float | None, end: float | None) -> str:
    if start is None and end is None:
        return name
    return f"{name}@{start or 0:g}-{'end' if end is None else f'{end:g}'}"


def find_tasks(source: str | os.PathLike, exclude: str | os.PathLike | None = None) -> list[VideoTask]:
    """The videos ``source`` names, sorted by name.

    Args:
        source: a folder (searched recursively for `keras_i3d.video.decode.VIDEO_SUFFIXES`), a ``.csv`` of
            ``path[,label][,start,end]`` (paths relative to its folder, times in seconds), a glob
            (``videos/**/*.mp4``, ``gs://bucket/videos/*.webm``), or one video file.
        exclude: a local folder whose files are never inputs (the output folder, when it lies inside the source).

    Raises:
        DatasetError: for a source that does not exist or names no video, or a malformed CSV.
    """
    source = str(source)
    if is_remote(source):
        return _remote_tasks(source)
    source = _local(source)
    path = Path(source)
    if any(ch in source for ch in _GLOB_CHARACTERS) and not path.exists():
        return _glob_tasks(source, exclude)
    if path.is_dir():
        videos = sorted(
            p for p in path.rglob("*")
            if p.is_file() and _is_video(p.name) and not (exclude is not None and is_inside(p, Path(exclude)))
        )  # fmt: skip
        if not videos:
            raise DatasetError(f"{path} holds no videos ({', '.join(VIDEO_SUFFIXES)}).")
        return [VideoTask(str(p.resolve()), p.relative_to(path).as_posix()) for p in videos]
    if path.is_file() and path.suffix.lower() == ".csv":
        return _csv_tasks(path)
    if path.is_file():
        return [VideoTask(str(path.resolve()), path.name)]
    raise DatasetError(f"{source} does not exist: give a folder of videos, a CSV of path[,label][,start,end], a glob.")


def _csv_tasks(path: Path) -> list[VideoTask]:
    entries = read_video_csv(path, require_label=False)
    root = path.parent.resolve()
    tasks = []
    for entry in entries:
        video = Path(entry.path)
        name = video.relative_to(root).as_posix() if is_inside(video, root) else video.as_posix().lstrip("/")
        tasks.append(VideoTask(entry.path, _range_name(name, entry.start, entry.end), entry.label, entry.start,
                               entry.end))  # fmt: skip
    return sorted(tasks, key=lambda t: t.name)


def _glob_root(pattern: str) -> str:
    parts = pattern.split("/")
    fixed = []
    for part in parts[:-1]:
        if any(ch in part for ch in _GLOB_CHARACTERS):
            break
        fixed.append(part)
    return "/".join(fixed)


def _glob_tasks(pattern: str, exclude) -> list[VideoTask]:
    root = Path(_glob_root(pattern) or ".")
    videos = sorted(
        Path(p) for p in globlib.glob(pattern, recursive=True)
        if Path(p).is_file() and not (exclude is not None and is_inside(Path(p), Path(exclude)))
    )  # fmt: skip
    if not videos:
        raise DatasetError(f"{pattern} matches no video file.")
    return [VideoTask(str(p.resolve()), p.resolve().relative_to(root.resolve()).as_posix()) for p in videos]


def _remote_tasks(source: str) -> list[VideoTask]:
    pattern = source if any(ch in source.split("://", 1)[1] for ch in _GLOB_CHARACTERS) else source.rstrip("/") + "/**"
    root = _glob_root(pattern)
    try:
        matched = FileSystems.match([pattern])[0].metadata_list
    except Exception as e:  # Beam raises its own errors per file system (missing extra, access)
        raise DatasetError(f"Cannot list {source}: {e}") from None
    names = sorted(m.path for m in matched if _is_video(m.path) or pattern != source.rstrip("/") + "/**")
    if not names:
        raise DatasetError(f"{source} holds no videos ({', '.join(VIDEO_SUFFIXES)}).")
    return [VideoTask(p, p[len(root) :].lstrip("/")) for p in names]


@contextlib.contextmanager
def local_copy(path: str) -> Iterator[Path]:
    """``path`` as a local file: itself, or a temporary copy of a remote file (removed afterwards).

    The copy keeps the file's name (FVD's random clips are seeded by it).

    Raises:
        InputError: when the remote file cannot be read.
    """
    if not is_remote(path):
        yield Path(_local(path))
        return
    with tempfile.TemporaryDirectory(prefix="keras-i3d-video-") as folder:
        local = Path(folder, PurePosixPath(path).name)
        try:
            with open(local, "wb") as out, FileSystems.open(path) as remote:
                shutil.copyfileobj(remote, out, 1 << 20)
        except Exception as e:  # the file system's own error types
            raise InputError(f"Cannot read {path}: {e}") from None
        yield local
