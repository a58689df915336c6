"""keras-i3d extract on Apache Beam: the same features as `features`, failures listed, killed runs resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

pytest.importorskip("apache_beam")

from keras_i3d import I3D  # noqa: E402
from keras_i3d.fvd.statistics import FVDStatistics  # noqa: E402
from tests.support.cli import run_cli  # noqa: E402
from tests.support.helpers import temp_files  # noqa: E402
from tests.support.synthetic_videos import moving_square, write_audio_only, write_video  # noqa: E402

# The pipeline's plumbing and the equality with `features` (same network code) run once; the network's
# numbers per backend are tests/beam/test_handlers.py's and the model tests'.
pytestmark = pytest.mark.backend_independent

WINDOWS = ["--clip-frames", "8", "--stride", "8", "--quiet"]
GOOD = ("a/one.mp4", "b/two.mkv", "three.mp4", "four.mp4")
BAD = ("broken.mp4", "sound.mp4")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A folder of 4 short videos and 2 unreadable files, and random RGB and flow weights."""
    root = tmp_path_factory.mktemp("extract")
    videos = root / "videos"
    for i, name in enumerate(GOOD):
        (videos / name).parent.mkdir(parents=True, exist_ok=True)
        write_video(videos / name, moving_square(10 + 3 * i, 64 + 8 * i, 80, step=(i % 3, 2)))
    (videos / "broken.mp4").write_bytes(b"not a video at all" * 50)
    write_audio_only(videos / "sound.mp4")
    keras.utils.set_random_seed(0)
    rgb, flow = root / "rgb.weights.h5", root / "flow.weights.h5"
    I3D(weights=None).save_weights(rgb)
    I3D(weights=None, input_shape=(None, None, None, 2)).save_weights(flow)
    return {"root": root, "videos": videos, "rgb": str(rgb), "flow": str(flow)}


@pytest.fixture(scope="module")
def features(data):
    """`keras-i3d features` (the oracle): RGB of the folder, flow of its folder ``a/``, as {stream: {name: array}}."""
    capsys = _NoCapture()
    found = {}
    for stream, folder, expected in (("rgb", data["videos"], 1), ("flow", data["videos"] / "a", 0)):
        out = data["root"] / f"features-{stream}"
        status, _, err = run_cli(
            capsys, "features", folder, "--out", out, "--stream", stream, "--weights", data[stream],
            "--no-flow-cache", "--flow-implementation", "opencv", *WINDOWS,
        )  # fmt: skip
        assert status == expected, err  # 1: the two unreadable files
        found[stream] = {
            name: np.load(out / f"{name}.npy") for name in json.loads((out / "index.json").read_text())["videos"]
        }
        found[f"{stream}-index"] = json.loads((out / "index.json").read_text())["videos"]
    return found


class _NoCapture:
    def readouterr(self):
        return "", ""


def _relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


def test_joint_extraction_equals_the_two_streams_features_rgb_first(data, features, capsys):
    out = data["root"] / "joint"
    argv = ["extract", data["videos"] / "a", out, "--stream", "joint", "--rgb-weights", data["rgb"], "--flow-weights",
            data["flow"], "--format", "both", "--flow-implementation", "opencv", *WINDOWS]  # fmt: skip
    status, stdout, err = run_cli(capsys, *argv)
    assert status == 0 and err == "", err
    assert stdout.strip().startswith(f"{out}  (1 videos, 0 failed") and len(stdout.strip().splitlines()) == 1
    index = json.loads((out / "index.json").read_text())
    assert list(index["videos"]) == ["one.mp4"] and index["failed"] == {}
    joint = np.load(out / "one.mp4.npy")
    assert joint.shape == (2, 2048) and joint.dtype == np.float32
    assert _relative(joint[:, :1024], features["rgb"]["a/one.mp4"]) < 1e-4  # RGB first
    assert _relative(joint[:, 1024:], features["flow"]["one.mp4"]) < 1e-4
    assert index["videos"]["one.mp4"]["starts"] == pytest.approx(features["flow-index"]["one.mp4"]["starts"])
    assert index["videos"]["one.mp4"]["ends"] == pytest.approx(features["flow-index"]["one.mp4"]["ends"])
    tf = pytest.importorskip("tensorflow")
    (shard,) = sorted((out / "tfrecord").iterdir())
    assert shard.name == "features-00000-of-00001.tfrecord"
    (record,) = [tf.train.SequenceExample.FromString(r.numpy()) for r in tf.data.TFRecordDataset(str(shard))]
    assert record.context.feature["clip/media_id"].bytes_list.value == [b"one.mp4"]
    floats = record.feature_lists.feature_list["I3D/feature/floats"].feature
    assert np.array_equal(np.array([f.float_list.value for f in floats], np.float32), joint)
    assert temp_files(out) == []
    # A rerun finds everything done: nothing is computed or written again, no network is built.
    stamp = os.stat(out / "one.mp4.npy").st_mtime_ns
    status, stdout, _ = run_cli(capsys, *argv)
    assert status == 0 and "(1 videos, 0 failed" in stdout
    assert os.stat(out / "one.mp4.npy").st_mtime_ns == stamp


def _sidecars(out: Path) -> list[Path]:
    return [p for p in out.rglob("*.json") if p.name not in ("extract.json", "index.json")]


def test_a_killed_two_worker_run_is_resumed_to_the_same_outputs(data, features, capsys):
    out = data["root"] / "killed"
    argv = [sys.executable, "-m", "keras_i3d", "extract", str(data["videos"]), str(out), "--weights", data["rgb"],
            "--num-workers", "2", *WINDOWS]  # fmt: skip
    run = subprocess.Popen(argv, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while not [p for p in _sidecars(out) if not p.name.endswith(".failed.json")] and time.monotonic() < deadline:
        assert run.poll() is None, run.stderr.read().decode()[-3000:]
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)  # the launcher and its Beam workers, mid-run
    run.wait()
    finished_before = len([p for p in _sidecars(out) if not p.name.endswith(".failed.json")])
    assert 1 <= finished_before < len(GOOD)
    status, stdout, err = run_cli(capsys, "extract", data["videos"], out, "--weights", data["rgb"], *WINDOWS)
    assert status == 1 and "(4 videos, 2 failed" in stdout, err
    index = json.loads((out / "index.json").read_text())
    assert sorted(index["videos"]) == sorted(GOOD) and sorted(index["failed"]) == sorted(BAD)
    for name in GOOD:
        assert _relative(np.load(out / f"{name}.npy"), features["rgb"][name]) < 1e-4
    assert temp_files(out) == []
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*.npy")) == sorted(f"{n}.npy" for n in GOOD)


def test_fvd_statistics_equal_the_fvd_command(data, tmp_path, capsys):
    videos = tmp_path / "fvd"
    videos.mkdir()
    for i in range(3):
        write_video(videos / f"{i}.mp4", moving_square(12, 64, 80, step=(1, i)))
    status, stdout, err = run_cli(capsys, "extract", videos, tmp_path / "out", "--fvd-stats", "--weights", data["rgb"],
                                  "--frames", "9", "--clip", "random", "--seed", "3", "--quiet")  # fmt: skip
    assert status == 0, err
    assert stdout.strip().endswith(str(tmp_path / "out" / "fvd_stats.npz"))
    status, _, err = run_cli(capsys, "fvd", videos, tmp_path / "out" / "fvd_stats.npz", "--weights", data["rgb"],
                             "--frames", "9", "--clip", "random", "--seed", "3", "--save-stats", tmp_path / "fvd.npz",
                             "--quiet")  # fmt: skip
    assert status == 0, err
    ours, theirs = FVDStatistics.load(tmp_path / "out" / "fvd_stats.npz"), FVDStatistics.load(tmp_path / "fvd.npz")
    assert ours.count == theirs.count == 3 and ours.settings == theirs.settings
    assert _relative(ours.sum, theirs.sum) < 1e-4 and _relative(ours.outer, theirs.outer) < 1e-4
    assert np.load(tmp_path / "out" / "0.mp4.npy").shape == (400,)


@pytest.mark.parametrize(
    "argv,match",
    [
        (["--stream", "joint", "--fvd-stats"], "--fvd-stats embeds RGB clips"),
        (["--fvd-stats", "--format", "both"], "takes no --format"),
        (["--weights", "kinetics400_flow"], "is a flow preset"),
        (["--fps", "fast"], "expected a positive frame rate or 'native'"),
        (["--endpoint", "Mixed_9z"], "--endpoint: invalid choice"),
    ],
)
def test_bad_arguments_are_one_line_exit_2(data, tmp_path, capsys, argv, match):
    status, stdout, err = run_cli(capsys, "extract", data["videos"], tmp_path / "out", *argv)
    assert status == 2 and match in err and err.count("\n") == 1 and stdout == "", err


def test_a_missing_source_other_options_into_one_folder_and_stray_options_elsewhere(data, tmp_path, capsys):
    status, _, err = run_cli(capsys, "extract", tmp_path / "nothing", tmp_path / "out")
    assert status == 2 and "does not exist" in err and err.count("\n") == 1
    one = tmp_path / "one"
    one.mkdir()
    write_video(one / "v.mp4", moving_square(9, 64, 64))
    status, _, err = run_cli(capsys, "extract", one, tmp_path / "out", "--weights", data["rgb"], *WINDOWS)
    assert status == 0, err
    status, _, err = run_cli(capsys, "extract", one, tmp_path / "out", "--weights", data["rgb"], "--stride", "2",
                             "--clip-frames", "8", "--quiet")  # fmt: skip
    assert status == 2 and "holds outputs of another extraction" in err and "stride" in err
    status, _, err = run_cli(capsys, "classify", one / "v.mp4", "--project=p")  # only extract passes options on
    assert status == 2 and "unrecognized arguments: --project=p" in err
    status, _, err = run_cli(capsys, "extract", one, tmp_path / "typo", "--projct=p")  # ... that Beam knows
    assert status == 2 and "Beam does not know the option(s) --projct=p" in err and not (tmp_path / "typo").exists()


def test_native_frame_rate_and_csv_ranges(data, tmp_path, capsys):
    write_video(tmp_path / "ten.mp4", moving_square(20, 64, 64), fps=10)
    (tmp_path / "list.csv").write_text("ten.mp4,,0.5,1.5\nten.mp4\n")
    status, _, err = run_cli(capsys, "extract", tmp_path / "list.csv", tmp_path / "out", "--weights", data["rgb"],
                             "--fps", "native", *WINDOWS)  # fmt: skip
    assert status == 0, err
    videos = json.loads((tmp_path / "out" / "index.json").read_text())["videos"]
    whole, part = videos["ten.mp4"], videos["ten.mp4@0.5-1.5"]
    assert whole["fps"] == 10 and whole["frames"] == 20 and whole["ends"] == [0.8, 1.6, 2.0]
    assert part["frames"] == 10 and part["starts"] == [0.5, 0.7] and part["ends"] == [1.3, 1.5]  # seconds in the video
    assert np.load(tmp_path / "out" / "ten.mp4@0.5-1.5.npy").shape == (2, 1024)
