"""A job's output folder: per-video files written atomically, the job's record, the index, the failures.

Layout of ``OUT`` (``--format npy`` or ``both``; with ``tfrecord`` alone the per-video
files live in ``OUT/.videos/``, the job's resumable record)::

    extract.json              what the job computes (a rerun under other settings is refused)
    <name>.npy                a video's features (windows, C), or its FVD embedding (400,)
    <name>.json               its sidecar: source, label, range, shape, window times, frames, fps
    <name>.failed.json        why it could not be processed (removed once it is)
    index.json, failed.txt    every video's sidecar and every failure, rebuilt from the files at the end
    tfrecord/features-SSSSS-of-NNNNN.tfrecord   with --format tfrecord|both
    fvd_stats.npz             with --fvd-stats

A video is finished when its sidecar reads and its ``.npy`` is complete with the
sidecar's shape; the ``.npy`` is written before the sidecar, so a killed run leaves
either both or an unfinished video that the next run redoes. Every file is replaced
whole (`keras_i3d.beam.storage`), and the index is rebuilt from the files themselves,
so runs into one folder, retried workers and killed runs never corrupt or duplicate it.
"""

from __future__ import annotations

import dataclasses
import json

from keras_i3d.beam import storage
from keras_i3d.beam.extraction import VideoResult
from keras_i3d.beam.sources import VideoTask
from keras_i3d.errors import FileAccessError
from keras_i3d.utils.jobs import option_differences
from keras_i3d.version import __version__

RECORD_FILE = "extract.json"
INDEX_FILE = "index.json"
FAILED_FILE = "failed.txt"
FVD_FILE = "fvd_stats.npz"
TFRECORD_FOLDER = "tfrecord"
HIDDEN_VIDEOS = ".videos"
SIDECAR = ".json"
FAILURE = ".failed.json"
#: Sidecars, failure markers and the job's own files are told apart by these names at the top of OUT.
_TOP_FILES = (RECORD_FILE, INDEX_FILE)


@dataclasses.dataclass(frozen=True)
class OutputLayout:
    """Where a job's files go.

    Attributes:
        out: the output folder (a local path or a URL of Beam's file systems).
        formats: the job's formats (``"npy"``, ``"tfrecord"``).
    """

    out: str
    formats: tuple[str, ...] = ("npy",)

    @property
    def video_root(self) -> str:
        """The folder of the per-video files."""
        return self.out if "npy" in self.formats else storage.join(self.out, HIDDEN_VIDEOS)

    def array_path(self, name: str) -> str:
        """A video's ``.npy``."""
        return storage.join(self.video_root, f"{name}.npy")

    def sidecar_path(self, name: str) -> str:
        """A video's sidecar."""
        return storage.join(self.video_root, f"{name}{SIDECAR}")

    def failure_path(self, name: str) -> str:
        """A video's failure marker."""
        return storage.join(self.video_root, f"{name}{FAILURE}")

    def path(self, file: str) -> str:
        """A job-level file in ``out``."""
        return storage.join(self.out, file)


def check_record(layout: OutputLayout, record: dict) -> None:
    """Writes the job's record into a new folder, or checks that an existing one matches.

    Raises:
        FileAccessError: when the folder holds another job's outputs (saying which settings differ), or an
            unreadable record.
    """
    path = layout.path(RECORD_FILE)
    existing = storage.read_bytes(path)
    if existing is None:
        storage.write_bytes(path, _json({"settings": record, "keras_i3d": __version__}))
        return
    try:
        recorded = json.loads(existing)["settings"]
    except (ValueError, KeyError, TypeError) as e:
        raise FileAccessError(f"{path} is not a keras-i3d extract record ({e}); remove it or write elsewhere.") from e
    differences = option_differences(recorded, record)
    if differences:
        raise FileAccessError(
            f"{layout.out} holds outputs of another extraction ({'; '.join(differences)}): rerun with the same "
            "options, or write to another folder."
        )


def _json(document: dict) -> bytes:
    return (json.dumps(document, indent=1, sort_keys=True) + "\n").encode()


def finished(layout: OutputLayout, task: VideoTask) -> dict | None:
    """The sidecar of a video whose outputs are complete, else ``None`` (missing, truncated, another source)."""
    raw = storage.read_bytes(layout.sidecar_path(task.name))
    if raw is None:
        return None
    try:
        sidecar = json.loads(raw)
        shape = tuple(sidecar["shape"])
    except (ValueError, KeyError, TypeError):
        return None
    if sidecar.get("source") != task.path or storage.npy_shape(layout.array_path(task.name)) != shape:
        return None
    return sidecar


def write_result(layout: OutputLayout, result: VideoResult) -> dict:
    """Writes one video's outputs (or its failure) atomically; returns its outcome for the job's summary.

    Returns:
        ``{"name", "status": "done" | "failed", "sidecar" | "error"}``.
    """
    task = result.task
    if result.error is not None:
        failure = {"name": task.name, "source": task.path, "error": result.error}
        storage.write_bytes(layout.failure_path(task.name), _json(failure))
        return {"name": task.name, "status": "failed", "error": result.error, "source": task.path}
    sidecar = {
        "name": task.name,
        "file": f"{task.name}.npy",
        "source": task.path,
        "label": task.label,
        "start": task.start,
        "end": task.end,
        "shape": list(result.values.shape),
        "starts": [round(t, 6) for t in result.starts],
        "ends": [round(t, 6) for t in result.ends],
        "frames": result.frames,
        "fps": result.fps,
    }
    storage.write_bytes(layout.array_path(task.name), storage.npy_bytes(result.values))
    storage.write_bytes(layout.sidecar_path(task.name), _json(sidecar))
    storage.delete(layout.failure_path(task.name))
    return {"name": task.name, "status": "done", "sidecar": sidecar}


def _is_sidecar(name: str) -> bool:
    return not name.endswith(FAILURE) and name not in _TOP_FILES


def write_index(layout: OutputLayout, record: dict) -> dict:
    """Rebuilds ``index.json`` and ``failed.txt`` from the per-video files; returns the counts.

    Returns:
        ``{"videos": finished videos, "failed": failed ones}``.
    """
    root = layout.video_root
    videos, failed = {}, {}
    for name in storage.list_names(root, SIDECAR):
        if not _is_sidecar(name):
            continue
        raw = storage.read_bytes(storage.join(root, name))
        try:
            sidecar = json.loads(raw)
            complete = storage.npy_shape(layout.array_path(sidecar["name"])) == tuple(sidecar["shape"])
        except (TypeError, ValueError, KeyError):
            continue  # a file that is no sidecar of ours
        if complete:  # a truncated or missing array: the video is redone by the next run
            videos[sidecar["name"]] = sidecar
    for name in storage.list_names(root, FAILURE):
        raw = storage.read_bytes(storage.join(root, name))
        try:
            failure = json.loads(raw)
        except (TypeError, ValueError):
            continue
        if failure.get("name") not in videos:
            failed[failure["name"]] = {"source": failure["source"], "error": failure["error"]}
    index = {"format": 1, "settings": record, "keras_i3d": __version__, "videos": videos, "failed": failed}
    storage.write_bytes(layout.path(INDEX_FILE), _json(index))
    lines = "".join(f"{v['source']}\t{v['error']}\n" for _, v in sorted(failed.items()))
    storage.write_bytes(layout.path(FAILED_FILE), lines.encode())
    storage.remove_stale_temps(layout.out)
    return {"videos": len(videos), "failed": len(failed)}
