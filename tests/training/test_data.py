"""The TFRecord dataset writer and the clip_dataset pipeline (keras_i3d.dataset_writer, keras_i3d.data)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from keras_i3d.errors import DatasetError
from keras_i3d.preprocessing import resize_short_side
from keras_i3d.training import record_format as rf
from keras_i3d.training.data import clip_dataset, dataset_info, holdout_split, video_keys
from keras_i3d.training.dataset_writer import find_videos, write_dataset
from keras_i3d.utils.tf_loader import import_tensorflow
from keras_i3d.video.decode import iter_frames
from keras_i3d.video.flow import iter_flow
from tests.support.synthetic_videos import moving_square, numbered_frames, write_video

pytestmark = pytest.mark.backend_independent

tf = import_tensorflow("the tests")
SHORT = 48  # stored short side: small videos keep the tests fast


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """Class folders: squares moving right / down, numbered frames, and one corrupt file."""
    root = tmp_path_factory.mktemp("videos")
    for label, step in (("right", (0, 3)), ("down", (3, 0))):
        (root / label).mkdir()
        for i in range(2):
            frames = moving_square(14 + 4 * i, 64, 86, step=step, side=20, start=(10 + 2 * i, 8 + 3 * i))
            write_video(root / label / f"{label}{i}.mp4", frames)
    (root / "numbered").mkdir()
    write_video(root / "numbered" / "n.mp4", numbered_frames(10, 48, 64))
    (root / "down" / "broken.mp4").write_bytes(b"\x00\x00\x00 ftypisom but nothing else")
    return root


@pytest.fixture(scope="module")
def dataset(source, tmp_path_factory):
    out = tmp_path_factory.mktemp("dataset") / "ds"
    summary = write_dataset(
        source, out, flow=True, shards=2, short_side=SHORT, workers=1, progress=False, flow_implementation="opencv"
    )
    return out, summary


def _records(out):
    examples = []
    for path in sorted(out.glob("*.tfrecord")):
        for raw in tf.data.TFRecordDataset(str(path)):
            examples.append(tf.train.SequenceExample.FromString(raw.numpy()))
    return examples


def test_writer_round_trip_frames_labels_and_flow(dataset, source):
    out, summary = dataset
    assert summary.labels == ("down", "numbered", "right")
    assert summary.videos == 5
    examples = {ex.context.feature[rf.DATA_PATH].bytes_list.value[0].decode(): ex for ex in _records(out)}
    assert len(examples) == 5
    for path, ex in examples.items():
        label = ex.context.feature[rf.LABEL_STRING].bytes_list.value[0].decode()
        assert label == os.path.basename(os.path.dirname(path))
        assert summary.labels[ex.context.feature[rf.LABEL_INDEX].int64_list.value[0]] == label
        expected = resize_short_side(np.stack(list(iter_frames(path))), SHORT)
        expected = np.clip(np.rint(expected), 0, 255)
        jpegs = ex.feature_lists.feature_list[rf.IMAGE_ENCODED].feature
        frames = np.stack([tf.io.decode_jpeg(f.bytes_list.value[0]).numpy() for f in jpegs]).astype(np.float32)
        assert frames.shape == expected.shape
        assert np.abs(frames - expected).mean() < 2.5  # JPEG quality 90
        times = [f.int64_list.value[0] for f in ex.feature_lists.feature_list[rf.IMAGE_TIMESTAMP].feature]
        assert times == [k * 40_000 for k in range(len(frames))]  # 25 fps
        flows = ex.feature_lists.feature_list[rf.FLOW_ENCODED].feature
        assert len(flows) == len(frames) - 1
        stored = np.stack([rf.dequantize_flow(tf.io.decode_png(f.bytes_list.value[0]).numpy()) for f in flows])
        computed = np.stack(list(iter_flow(expected.astype(np.uint8), None, implementation="opencv")))
        # Flow of the resized frames (before JPEG) vs the stored one: within half a step (20/127 px).
        assert np.abs(stored - np.clip(computed, -20, 20) / 20).max() <= 0.5 / 127 + 1e-6


def test_quantised_flow_is_exact_at_zero_and_the_bounds():
    flow = np.array([[[0.0, 20.0], [-20.0, 35.0]]], np.float32)
    np.testing.assert_array_equal(rf.dequantize_flow(rf.quantize_flow(flow)), [[[0.0, 1.0], [-1.0, 1.0]]])


def test_corrupt_video_is_skipped_and_reported(dataset, source):
    out, summary = dataset
    broken = str((source / "down" / "broken.mp4").resolve())
    assert [path for path, _ in summary.skipped] == [broken]
    assert (out / rf.REPORT_FILE).read_text().startswith(broken + "\t")
    manifest = json.loads((out / rf.MANIFEST_FILE).read_text())
    assert manifest["skipped"][0]["path"] == broken
    assert manifest["class_counts"] == {"down": 2, "numbered": 1, "right": 2}
    assert (out / rf.LABELS_FILE).read_text() == "down\nnumbered\nright\n"


def test_rerun_resumes_keeping_finished_shards(dataset, source):
    out, _ = dataset
    shards = sorted(out.glob("*.tfrecord"))
    stamps = {p: p.stat().st_mtime_ns for p in shards}
    summary = write_dataset(
        source, out, flow=True, shards=2, short_side=SHORT, workers=1, progress=False, flow_implementation="opencv"
    )
    assert summary.resumed == 2
    assert {p: p.stat().st_mtime_ns for p in shards} == stamps
    content = shards[1].read_bytes()
    shards[1].unlink()  # as if interrupted before this shard was finished
    summary = write_dataset(
        source, out, flow=True, shards=2, short_side=SHORT, workers=1, progress=False, flow_implementation="opencv"
    )
    assert summary.resumed == 1 and summary.videos == 5
    assert shards[1].read_bytes() == content
    with pytest.raises(DatasetError, match="other videos or options"):
        write_dataset(source, out, flow=False, shards=2, short_side=SHORT, workers=1, progress=False)


def test_class_without_readable_video_is_an_error(tmp_path):
    for label in ("good", "bad"):
        (tmp_path / "src" / label).mkdir(parents=True)
    write_video(tmp_path / "src" / "good" / "a.mp4", numbered_frames(4, 32, 32))
    (tmp_path / "src" / "bad" / "b.mp4").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="No readable video for class\\(es\\) bad"):
        write_dataset(tmp_path / "src", tmp_path / "out", short_side=32, workers=1, progress=False)
    assert (tmp_path / "out" / rf.REPORT_FILE).exists()
    assert not (tmp_path / "out" / rf.MANIFEST_FILE).exists()


def test_bad_sources(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        find_videos(tmp_path / "nothing")
    (tmp_path / "flat").mkdir()
    with pytest.raises(DatasetError, match="no class folders"):
        find_videos(tmp_path / "flat")
    (tmp_path / "flat" / "empty").mkdir()
    with pytest.raises(DatasetError, match="no videos in .*: empty"):
        find_videos(tmp_path / "flat")
    bad = tmp_path / "list.csv"
    bad.write_text("path,label\nv.mp4,a,2,1\n")
    with pytest.raises(DatasetError, match="row 2: end \\(1.0\\) must come after start"):  # rows of the file
        find_videos(bad)
    bad.write_text("v.mp4\n")
    with pytest.raises(DatasetError, match="expected path,label"):
        find_videos(bad)


@pytest.mark.backend_independent
def test_csv_sources_as_people_write_them(tmp_path):
    """'#' paths vanished, Excel's BOM misread the header, duplicates and one video under two labels passed,
    a non-UTF-8 error did not name the file, and a label with a line break became two classes."""
    listing = tmp_path / "list.csv"
    listing.write_bytes("\ufeffpath,label\n# a comment\n#1.mp4,jump\nb.mp4,run\n".encode())
    entries, labels = find_videos(listing)
    assert labels == ("jump", "run") and [Path(e.path).name for e in entries] == ["#1.mp4", "b.mp4"]
    cases = [
        ("path,label\na.mp4,run\na.mp4,run\n", r"rows 2 and 3 list the same row twice: a.mp4"),
        ("a.mp4,run\na.mp4,jump\n", r"rows 1 and 2 list one video under two labels \('run' and 'jump'\): a.mp4"),
        ('a.mp4,"two\nlines"\n', r"row 1: the class name 'two\\nlines' holds '\\n'; a class name is one line"),
        ("a.mp4,odd\u2028name\n", r"holds '\\u2028'"),
    ]
    for text, match in cases:
        listing.write_text(text, encoding="utf-8")
        with pytest.raises(DatasetError, match=match):
            find_videos(listing)
    listing.write_bytes("a.mp4,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DatasetError, match=r"list.csv is not UTF-8 text"):
        find_videos(listing)
    entries, _ = find_videos(_write(tmp_path / "ranges.csv", "a.mp4,run,0,1\na.mp4,run,1,2\n"))
    assert len(entries) == 2  # one video, two time ranges: two entries
    (tmp_path / "classes" / "bad\u2028name").mkdir(parents=True)
    write_video(tmp_path / "classes" / "bad\u2028name" / "v.mp4", numbered_frames(2, 32, 32))
    with pytest.raises(DatasetError, match=re.escape("class name 'bad\\u2028name' holds")):
        find_videos(tmp_path / "classes")


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_source_with_time_ranges(tmp_path):
    write_video(tmp_path / "n.mp4", numbered_frames(20, 32, 48))
    (tmp_path / "list.csv").write_text("path,label\nn.mp4,early,0,0.2\nn.mp4,late,0.4,\n")
    out = tmp_path / "out"
    summary = write_dataset(tmp_path / "list.csv", out, short_side=32, workers=1, progress=False)
    assert summary.labels == ("early", "late") and summary.videos == 2
    clips = {int(y[0]): x.numpy() for x, y in clip_dataset(out, 1, 32, 1, training=False, whole_video=True)}
    assert clips[0].shape[1] == 5 and clips[1].shape[1] == 10  # 0-0.2 s and 0.4 s-end at 25 fps
    brightness = (clips[1][0, :, 16, 16, 0] + 1) * 127.5
    np.testing.assert_allclose(brightness, np.arange(10, 20) * 8 + 4, atol=3)
    with pytest.raises(DatasetError, match="holds no optical flow; write it with `keras-i3d dataset --flow`"):
        clip_dataset(out, stream="flow")


def test_temporal_crops_are_consecutive_and_loop(dataset):
    out, _ = dataset
    seen = 0
    for frames, training in ((6, True), (16, True), (6, False)):
        for x, y in clip_dataset(out, frames, 32, 1, training=training, seed=1):
            if int(y[0]) != 1:  # the numbered video: brightness 8 i + 4 in frame i
                continue
            seen += 1
            index = np.rint(((x.numpy()[0, :, 16, 16, 0] + 1) * 127.5 - 4) / 8).astype(int)
            assert np.all(np.diff(index) % 10 == 1), index  # consecutive, wrapping at 10 frames
            if not training:
                assert index[0] == (10 - frames) // 2  # the temporal centre
    assert seen == 3


def _horizontal_motion(clip: np.ndarray) -> float:
    """Median frame-to-frame shift of the bright square's centroid (frames where it is in view)."""
    bright = clip[..., 0] > 0.1  # the square is brighter than the background
    count = bright.sum(axis=(1, 2))
    centroid = (bright * np.arange(clip.shape[2])[None, None, :]).sum(axis=(1, 2)) / np.maximum(count, 1)
    steps = [b - a for a, b, n, m in zip(centroid, centroid[1:], count, count[1:], strict=False) if min(n, m) > 20]
    return float(np.median(steps)) if steps else 0.0


def test_random_crops_in_bounds_and_flip_negates_flow_x(dataset):
    out, _ = dataset
    full = []  # the stored (uncropped) frames of the "right" videos, scaled to [-1, 1]
    for ex in _records(out):
        if ex.context.feature[rf.LABEL_STRING].bytes_list.value[0] == b"right":
            jpegs = ex.feature_lists.feature_list[rf.IMAGE_ENCODED].feature
            full.append(np.stack([tf.io.decode_jpeg(f.bytes_list.value[0]).numpy() for f in jpegs]) / 127.5 - 1)
    size, flips = 44, set()
    for x, y in clip_dataset(out, 8, size, 1, training=True, stream="joint", seed=5).repeat(3):
        rgb, flow = x["rgb"].numpy()[0], x["flow"].numpy()[0]
        assert rgb.shape == (8, size, size, 3) and flow.shape == (8, size, size, 2)
        assert rgb.min() >= -1 and rgb.max() <= 1 and np.abs(flow).max() <= 1
        if int(y[0]) != 2:  # "right": the square moves right, so flow x > 0 unless flipped
            continue
        motion = _horizontal_motion(rgb)
        flow_x = flow[..., 0][np.abs(flow[..., 0]) > 0.02].mean()
        assert np.sign(motion) == np.sign(flow_x), (motion, flow_x)
        flips.add(bool(motion < 0))
        # The crop is a window of the stored frames (mirrored when flipped).
        frame = rgb[0][:, ::-1] if motion < 0 else rgb[0]
        found = any(
            np.abs(video[k, t : t + size, s : s + size] - frame).max() < 0.05
            for video in full
            for k in range(video.shape[0])
            for t in range(video.shape[1] - size + 1)
            for s in range(video.shape[2] - size + 1)
        )
        assert found
    assert flips == {True, False}  # both happened


def test_seeded_pipelines_are_deterministic(dataset):
    out, _ = dataset

    def draw(seed, epochs=1):
        data = clip_dataset(out, 8, 32, 2, training=True, stream="joint", seed=seed, drop_remainder=False)
        return [x["flow"].numpy() for _ in range(epochs) for x, _ in data]

    first, again = draw(7, epochs=2), draw(7, epochs=2)
    assert len(first) == 6
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first[:3], first[3:], strict=True))  # epochs differ
    assert not all(np.array_equal(a, b) for a, b in zip(first[:3], draw(8), strict=True))


def test_dataset_shapes_cardinality_and_glob(dataset):
    out, _ = dataset
    data = clip_dataset(str(out / "clips-*.tfrecord"), 8, 32, 2, training=True, seed=0)
    assert int(data.cardinality()) == 2  # 5 videos, batches of 2, remainder dropped
    x, y = next(iter(data))
    assert x.shape == (2, 8, 32, 32, 3) and x.dtype == tf.float32 and y.dtype == tf.int32
    info = dataset_info(out)
    assert info.labels == ("down", "numbered", "right") and info.has_flow and info.short_side == SHORT


def test_a_held_out_split_is_by_video_per_class_and_reproducible(dataset, source):
    out, _ = dataset
    keys = video_keys(out)
    labels = dict(keys)
    assert len(keys) == 5 and sorted(labels.values()) == [0, 0, 1, 2, 2]  # down x2, numbered, right x2
    assert all(key.rsplit("@", 1)[0].startswith(str(source)) and key.endswith("@0") for key in labels)
    train, held_out = holdout_split(out, fraction=0.5, seed=3)
    assert sorted(train + held_out) == sorted(labels) and not set(train) & set(held_out)
    assert sorted(labels[k] for k in held_out) == [0, 2]  # one of each pair; the single "numbered" video trains
    assert holdout_split(out, fraction=0.5, seed=3) == (train, held_out)
    # clip_dataset reads exactly those videos, in video_keys' order: their centre clips are the full dataset's.
    full = list(clip_dataset(out, 8, 32, 1, training=False).unbatch().as_numpy_iterator())
    chosen = list(clip_dataset(out, 8, 32, 4, training=False, videos=held_out).unbatch().as_numpy_iterator())
    expected = [full[i] for i, (key, _) in enumerate(keys) if key in held_out]
    assert len(chosen) == len(expected) == 2
    for (x, y), (x_full, y_full) in zip(chosen, expected, strict=True):
        np.testing.assert_array_equal(x, x_full)
        assert y == y_full
    trained = [int(y) for _, y in clip_dataset(out, 8, 32, 1, training=True, videos=train, seed=0).unbatch()]
    assert sorted(trained) == sorted(labels[k] for k in train)
    with pytest.raises(ValueError, match=r"`fraction` must be a number in \(0, 1\)"):
        holdout_split(out, fraction=1.0)
    with pytest.raises(ValueError, match="`videos` is empty"):
        clip_dataset(out, 8, 32, 1, videos=[])


def test_reader_errors(dataset, tmp_path):
    out, _ = dataset
    with pytest.raises(DatasetError, match="No TFRecord files match"):
        clip_dataset(tmp_path / "*.tfrecord")
    with pytest.raises(DatasetError, match="Cannot crop 64x64 from frames whose short side is 48"):
        clip_dataset(out, size=64)
    with pytest.raises(ValueError, match="needs `batch_size=1`"):
        clip_dataset(out, whole_video=True, batch_size=2)
    with pytest.raises(ValueError, match="`stream` must be one of"):
        clip_dataset(out, stream="depth")


@pytest.mark.backend_independent
def test_dataset_workers_end_with_a_killed_parent(tmp_path):
    """`keras-i3d dataset --workers N` left its workers (~1 GB each) running after SIGKILL of the parent."""
    import signal
    import subprocess
    import sys
    import time

    source = tmp_path / "src"
    for label in ("a", "b"):
        (source / label).mkdir(parents=True)
        for i in range(3):
            write_video(source / label / f"{i}.mp4", moving_square(150, 96, 128))
    parent = subprocess.Popen(
        [sys.executable, "-m", "keras_i3d", "dataset", str(source), str(tmp_path / "out"), "--workers", "2",
         "--flow", "--flow-implementation", "opencv", "--quiet"],
    )  # fmt: skip
    children_file = Path(f"/proc/{parent.pid}/task/{parent.pid}/children")
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
        time.sleep(0.5)
        if children_file.exists():
            workers = {int(p) for p in children_file.read_text().split()}
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(3)  # they are decoding now
    parent.send_signal(signal.SIGKILL)
    parent.wait()

    # A worker still starting (importing, slow on a loaded machine) ends once its initializer runs and finds
    # the parent gone; the defect was workers left decoding for minutes.
    def running() -> list[int]:  # a zombie has ended (a container's init may never reap it)
        stats = [Path(f"/proc/{pid}/stat") for pid in workers]
        return [int(stat.parent.name) for stat in stats if stat.exists() and ") Z" not in _read_or_empty(stat)]

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and running():
        time.sleep(0.5)
    assert running() == [], f"workers still running after their parent was killed: {running()}"


def _read_or_empty(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:  # the process ended between the two looks
        return ") Z"


def _file_size_limit(limit: int):
    import resource
    import signal

    def apply() -> None:  # in the child: writes past `limit` bytes fail with EFBIG instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.backend_independent
def test_dataset_on_a_full_disk_is_one_line_and_keeps_nothing_half_written(tmp_path):
    """Disk-full and file-size errors were raw TensorFlow tracebacks."""
    import subprocess
    import sys

    source = tmp_path / "src"
    for label in ("a", "b"):
        (source / label).mkdir(parents=True)
        write_video(source / label / "0.mp4", moving_square(40, 96, 128))
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "keras_i3d", "dataset", str(source), str(out), "--workers", "1", "--quiet"],
        capture_output=True, text=True, preexec_fn=_file_size_limit(20_000), check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert "Writing" in done.stderr and "disk full or a file size limit" in done.stderr
    assert not [p for p in out.iterdir() if p.suffix == ".tfrecord"]  # no shard, not even a partial one
