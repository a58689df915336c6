"""Which videos a job takes and what names they get; per-video files, their checks and the index."""

import json
import os

import numpy as np
import pytest

pytest.importorskip("apache_beam")

from keras_i3d.beam import outputs, storage  # noqa: E402
from keras_i3d.beam.extraction import VideoResult  # noqa: E402
from keras_i3d.beam.sources import VideoTask, find_tasks  # noqa: E402
from keras_i3d.errors import DatasetError, FileAccessError  # noqa: E402

pytestmark = pytest.mark.backend_independent  # files and names


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_folder_csv_glob_and_file_sources(tmp_path):
    for name in ("a/one.mp4", "a/deep/two.webm", "three.MKV", "notes.txt", "out/own.mp4"):
        _touch(tmp_path / "videos" / name)
    videos = tmp_path / "videos"
    tasks = find_tasks(videos, exclude=videos / "out")
    assert [t.name for t in tasks] == ["a/deep/two.webm", "a/one.mp4", "three.MKV"]
    assert tasks[1].path == str((videos / "a" / "one.mp4").resolve()) and tasks[1].label == ""
    assert [t.name for t in find_tasks(f"{videos}/a/**/*.webm")] == ["deep/two.webm"]
    assert [t.name for t in find_tasks(videos / "three.MKV")] == ["three.MKV"]
    listing = _touch(videos / "list.csv", b"path,label\na/one.mp4,run,1.5,4\na/one.mp4,,0,1.5\nthree.MKV\n")
    tasks = find_tasks(listing)
    assert [(t.name, t.label, t.start, t.end) for t in tasks] == [
        ("a/one.mp4@0-1.5", "", 0.0, 1.5), ("a/one.mp4@1.5-4", "run", 1.5, 4.0), ("three.MKV", "", None, None),
    ]  # fmt: skip
    with pytest.raises(DatasetError, match="does not exist"):
        find_tasks(tmp_path / "missing")
    with pytest.raises(DatasetError, match="matches no video"):
        find_tasks(f"{videos}/*.avi")
    with pytest.raises(DatasetError, match="row 1: end"):
        find_tasks(_touch(tmp_path / "bad.csv", b"x.mp4,run,3,2\n"))


def _result(task, windows=3, error=None):
    if error:
        return VideoResult(task, error=error)
    values = np.arange(windows * 4, dtype=np.float32).reshape(windows, 4)
    return VideoResult(task, values, [0.0, 0.5, 1.0][:windows], [0.64, 1.14, 1.64][:windows], 41, 25.0)


def test_outputs_are_checked_redone_when_truncated_and_indexed_from_the_files(tmp_path):
    layout = outputs.OutputLayout(str(tmp_path / "out"))
    good, bad = VideoTask("/v/a b.mp4", "sub/a b.mp4"), VideoTask("/v/c.mp4", "c.mp4")
    assert outputs.finished(layout, good) is None
    outputs.write_result(layout, _result(bad, error="not a video"))
    outcome = outputs.write_result(layout, _result(good))
    assert outcome["status"] == "done" and outputs.finished(layout, good)["shape"] == [3, 4]
    assert np.array_equal(np.load(layout.array_path(good.name)), _result(good).values)
    assert outputs.finished(layout, VideoTask("/elsewhere/a b.mp4", good.name)) is None  # another source
    counts = outputs.write_index(layout, {"job": "features"})
    assert counts == {"videos": 1, "failed": 1}
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["videos"]["sub/a b.mp4"]["ends"] == [0.64, 1.14, 1.64] and index["settings"] == {"job": "features"}
    assert (tmp_path / "out" / "failed.txt").read_text() == "/v/c.mp4\tnot a video\n"
    path = layout.array_path(good.name)  # a truncated array is not finished
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-3])
    assert storage.npy_shape(path) is None and outputs.finished(layout, good) is None
    outputs.write_result(layout, _result(bad))  # a failed video that works later: its failure is gone
    assert not os.path.exists(layout.failure_path(bad.name))
    assert outputs.write_index(layout, {"job": "features"}) == {"videos": 1, "failed": 0}  # good is truncated


def test_record_refuses_other_settings(tmp_path):
    layout = outputs.OutputLayout(str(tmp_path))
    outputs.check_record(layout, {"stride": 4, "stream": "joint"})
    outputs.check_record(layout, {"stride": 4, "stream": "joint"})
    with pytest.raises(FileAccessError, match="stride"):
        outputs.check_record(layout, {"stride": 8, "stream": "joint"})


def test_tfrecord_only_keeps_per_video_files_apart(tmp_path):
    layout = outputs.OutputLayout(str(tmp_path), ("tfrecord",))
    assert layout.array_path("a.mp4") == str(tmp_path / ".videos" / "a.mp4.npy")
