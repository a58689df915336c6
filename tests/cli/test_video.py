"""`keras-i3d classify / features / flow` on real video files and folders."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from keras_i3d import I3D
from tests.support import helpers
from tests.support.cli import run_cli
from tests.support.synthetic_videos import moving_square, write_audio_only, write_video

FAST = ["--clip-frames", "8", "--stride", "8", "--quiet"]


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A randomly initialized 400-class RGB I3D as a .weights.h5 (the CLI's --weights takes files)."""
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("weights") / "random.weights.h5"
    I3D(weights=None).save_weights(path)
    return str(path)


@pytest.fixture
def folder(tmp_path):
    videos = tmp_path / "videos"
    (videos / "a").mkdir(parents=True)
    write_video(videos / "a" / "one.mp4", moving_square(10, 120, 160))
    write_video(videos / "two.mkv", moving_square(12, 137, 241, step=(2, 0)))
    (videos / "broken.mp4").write_bytes(b"not a video at all" * 50)
    write_audio_only(videos / "audio.m4a")  # not a video suffix: not picked up
    write_audio_only(videos / "sound.mp4")  # a video suffix, but audio only
    (videos / "notes.txt").write_text("ignored")
    return videos


@pytest.mark.backend_independent  # decoding and windows; each backend classifies in test_app
@pytest.mark.requires_data
@pytest.mark.large
def test_classify_a_video_made_from_the_sample_clip(tmp_path, capsys, converted_rgb):
    with Image.open(helpers.data_dir() / "v_CricketShot_g04_c01_rgb.gif") as image:
        frames = np.stack([np.asarray(frame.convert("RGB")) for frame in _frames(image)])
    video = write_video(tmp_path / "cricket.mp4", frames, fps=25)
    status, out, err = run_cli(capsys, "classify", video, "--top", "3", "--plot", tmp_path / "t.png", "--quiet")
    assert status == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 3 and lines[0].endswith("playing cricket") and float(lines[0].split()[0]) > 0.9
    with Image.open(tmp_path / "t.png") as picture:
        assert picture.format == "PNG"


def _frames(image):
    from PIL import ImageSequence

    return ImageSequence.Iterator(image)


@pytest.mark.backend_independent
def test_classify_a_folder_reports_failures_and_exits_1(folder, random_weights, capsys):
    status, out, err = run_cli(capsys, "classify", folder, "--weights", random_weights, "--top", "2", *FAST)
    assert status == 1
    assert f"{folder / 'a' / 'one.mp4'}  (0.40 s, 2 windows)" in out and str(folder / "two.mkv") in out
    assert len(out.strip().splitlines()) == 2 * 3
    failures = err.strip().splitlines()
    assert len(failures) == 2 and all(line.startswith("keras-i3d: could not process ") for line in failures)
    assert "broken.mp4" in failures[0] and "sound.mp4: " in failures[1] and "no video stream" in failures[1]
    assert "Traceback" not in err


@pytest.mark.backend_independent
def test_classify_json(folder, random_weights, capsys):
    status, out, _ = run_cli(capsys, "classify", folder, "--weights", random_weights, "--json", "--top", "1", *FAST)
    document = json.loads(out)
    assert status == 1 and len(document["videos"]) == 2 and len(document["failed"]) == 2
    video = document["videos"][0]
    assert video["video"].endswith("one.mp4") and video["frames"] == 10 and video["loop_padded"] is False
    assert video["windows"][0]["start"] == 0.0 and video["windows"][0]["end"] == pytest.approx(0.32)
    assert {"video", "error"} == set(document["failed"][0])


@pytest.mark.backend_independent
def test_classify_plots_a_folder_into_a_folder(tmp_path, random_weights, capsys):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "x.mp4", moving_square(20, 64, 64))
    write_video(videos / "x.avi", moving_square(12, 64, 64))  # one picture each, not one x.png for both
    status, _, err = run_cli(
        capsys, "classify", videos, "--weights", random_weights, "--plot", tmp_path / "plots", *FAST
    )
    assert status == 0, err
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["x.avi.png", "x.mp4.png"]


@pytest.mark.backend_independent
def test_bad_video_is_one_line_exit_1_and_debug_shows_the_traceback(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 1000)
    status, out, err = run_cli(capsys, "classify", bad)
    assert status == 1 and out == "" and err.count("\n") == 1 and "bad.mp4" in err and "Traceback" not in err
    status, _, err = run_cli(capsys, "classify", bad, "--debug")
    assert status == 1 and "Traceback" in err and err.strip().endswith(err.strip().splitlines()[-1])


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "argv,match",
    [
        (["--clip-frames", "0"], "--clip-frames must be at least 1"),
        (["--stride", "-2"], "--stride must be at least 1"),
        (["--stream", "joint", "--weights", "kinetics400_rgb"], "--stream joint takes --rgb-weights"),
        (["--rgb-weights", "kinetics400_rgb"], "go with --stream joint"),
        (["--weights", "kinetics400_flow"], "is a flow preset; pass --stream flow"),
        (["--weights", "kinetics999"], "neither a preset"),
        (["--plot", "t.txt"], "--plot names a .png"),
    ],
)
def test_bad_arguments_exit_2(tmp_path, capsys, argv, match):
    video = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64))
    status, _, err = run_cli(capsys, "classify", video, *argv)
    assert status == 2 and match in err and err.count("\n") == 1, err


def test_features_of_one_video(tmp_path, random_weights, capsys):
    video = write_video(tmp_path / "v.mp4", moving_square(20, 64, 64))
    out_file = tmp_path / "v_features.npy"
    status, out, err = run_cli(capsys, "features", video, "--out", out_file, "--weights", random_weights, *FAST)
    assert status == 0, err
    assert np.load(out_file).shape == (3, 1024) and out.strip() == f"{out_file}  (3, 1024)"


@pytest.mark.backend_independent
def test_features_of_a_folder_are_resumable(folder, tmp_path, random_weights, capsys):
    out_dir = tmp_path / "features"
    argv = ["features", folder, "--out", out_dir, "--endpoint", "Mixed_4f", "--weights", random_weights, *FAST]
    status, out, err = run_cli(capsys, *argv)
    assert status == 1 and "2 videos, 2 failed" in out and err.count("could not process") == 2
    index = json.loads((out_dir / "index.json").read_text())
    assert index["options"]["endpoint"] == "Mixed_4f" and index["options"]["clip_frames"] == 8
    assert index["options"]["weights"].startswith("random.weights.h5 sha256:")
    assert set(index["videos"]) == {"a/one.mp4", "two.mkv"}
    assert set(index["failed"]) == {"broken.mp4", "sound.mp4"}  # failed videos are in the index too
    assert np.load(out_dir / "a" / "one.mp4.npy").shape == (2, 832)
    stamp = (out_dir / "two.mkv.npy").stat().st_mtime_ns
    (out_dir / "a" / "one.mp4.npy").unlink()  # pretend the first run stopped before this one
    np.save(out_dir / "two.mkv.npy", np.zeros((1, 5)))  # ... or left a file that is not this output
    stamp = (out_dir / "two.mkv.npy").stat().st_mtime_ns
    status, out, _ = run_cli(capsys, *argv)
    assert status == 1 and (out_dir / "a" / "one.mp4.npy").is_file()
    assert (out_dir / "two.mkv.npy").stat().st_mtime_ns != stamp and np.load(out_dir / "two.mkv.npy").shape == (2, 832)
    stamp = (out_dir / "two.mkv.npy").stat().st_mtime_ns
    status, out, _ = run_cli(capsys, *argv)
    assert status == 1 and (out_dir / "two.mkv.npy").stat().st_mtime_ns == stamp  # skipped: already done


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("change", "named"),
    [
        (["--endpoint", "Mixed_5c"], "endpoint: 'Mixed_4f' -> 'Mixed_5c'"),
        (["--endpoint", "Mixed_4f", "--clip-frames", "16"], "clip_frames: 8 -> 16"),
        (["--endpoint", "Mixed_4f", "--no-pool"], "pool: 'avg' -> None"),
        (["--endpoint", "Mixed_4f", "--weights", "kinetics400_rgb"], "weights: 'random.weights.h5 sha256:"),
    ],
)
def test_features_refuse_other_options_into_the_same_folder(tmp_path, random_weights, capsys, change, named):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "one.mp4", moving_square(8, 64, 64))
    out_dir = tmp_path / "features"
    first = ["features", videos, "--out", out_dir, "--endpoint", "Mixed_4f", "--weights", random_weights, *FAST]
    assert run_cli(capsys, *first)[0] == 0
    before = (out_dir / "one.mp4.npy").read_bytes(), (out_dir / "index.json").read_text()
    argv = [*first[:4], *FAST, *change]
    if "--weights" not in change:
        argv += ["--weights", random_weights]
    status, out, err = run_cli(capsys, *argv)
    assert status == 2 and "holds features written with other options" in err and named in err, err
    assert len(err.strip().splitlines()) == 1 and out == ""
    assert ((out_dir / "one.mp4.npy").read_bytes(), (out_dir / "index.json").read_text()) == before


@pytest.mark.backend_independent
def test_features_skip_their_own_outputs_and_one_run_at_a_time(tmp_path, random_weights, capsys):
    from keras_i3d.utils import jobs

    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "one.mp4", moving_square(8, 64, 64))
    (videos / "one.mp4.flow-0123456789abcdef.npy").write_bytes(b"cached flow, not an input")
    out_dir = videos / "features"  # the output folder inside the input folder
    argv = ["features", videos, "--out", out_dir, "--weights", random_weights, *FAST]
    status, out, err = run_cli(capsys, *argv)
    assert status == 0, err
    assert "(1 videos, 0 failed)" in out
    assert run_cli(capsys, *argv)[0] == 0  # its own .npy outputs are not inputs the second time either
    with jobs.exclusive_folder(out_dir, "features"):
        status, _, err = run_cli(capsys, *argv)
    assert status == 2 and "is being written by another keras-i3d features run (pid " in err


@pytest.mark.backend_independent
def test_features_arguments(tmp_path, folder, capsys):
    video = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64))
    assert run_cli(capsys, "features", video, "--out", tmp_path / "x.txt")[0] == 2
    assert run_cli(capsys, "features", folder, "--out", tmp_path / "x.npy")[0] == 2
    status, _, err = run_cli(capsys, "features", video, "--out", tmp_path / "x.npy", "--endpoint", "Mixed_9z")
    assert status == 2 and "is not one of" in err


@pytest.mark.backend_independent
def test_flow_command_writes_flow_and_a_picture(tmp_path, capsys):
    video = write_video(tmp_path / "v.mp4", moving_square(6, 120, 160, step=(0, 3)))
    status, out, err = run_cli(
        capsys, "flow", video, "--out", tmp_path / "f.npy", "--picture", tmp_path / "f.gif", "--quiet",
        "--cache-dir", tmp_path / "cache",
    )  # fmt: skip
    assert status == 0, err
    flow = np.load(tmp_path / "f.npy")
    assert flow.shape == (5, 256, 341, 2) and flow.dtype == np.float32
    assert out.split() == [str(tmp_path / "f.npy"), str(tmp_path / "f.gif")]
    with Image.open(tmp_path / "f.gif") as picture:
        assert picture.n_frames == 5
    assert len(list((tmp_path / "cache").iterdir())) == 1


@pytest.mark.torch_only  # the command's option; the port's numbers per backend are tests/video/test_tvl1.py's
def test_flow_command_takes_the_keras_implementation_and_caches_it_apart(tmp_path, capsys):
    video = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64, step=(0, 2), side=16))
    printed = {}
    for implementation in ("opencv", "keras"):
        status, out, err = run_cli(
            capsys, "flow", video, "--flow-implementation", implementation, "--cache-dir", tmp_path / "cache",
            "--quiet",
        )  # fmt: skip
        assert status == 0 and err == "", err
        printed[implementation] = out.strip()
    assert printed["opencv"] != printed["keras"]  # two cache files: the implementations never mix
    opencv, keras = (np.load(printed[name]).astype(np.float32) for name in ("opencv", "keras"))
    assert opencv.shape == keras.shape == (2, 256, 341, 2)
    assert np.hypot(*(opencv - keras).transpose(3, 0, 1, 2)).mean() < 0.1
    status, _, err = run_cli(capsys, "flow", video, "--flow-implementation", "cuda")
    assert status == 2 and "invalid choice: 'cuda'" in err


@pytest.mark.requires_data
@pytest.mark.backend_independent
def test_deepmind_flow_gif_is_flow_not_an_rgb_video(tmp_path, capsys):
    """DeepMind's flow GIF went through TV-L1 as if it were an RGB video, without a word."""
    flow_gif = helpers.data_dir() / "v_CricketShot_g04_c01_flow.gif"
    for stream in ("rgb", "joint"):
        status, out, err = run_cli(capsys, "classify", flow_gif, "--stream", stream, "--quiet")
        assert status == 1 and out == "" and "is a picture of optical flow" in err and "--stream flow" in err
        assert len(err.strip().splitlines()) == 1
    keras.utils.set_random_seed(0)
    weights = tmp_path / "flow.weights.h5"
    I3D(weights=None, input_shape=(None, None, None, 2)).save_weights(weights)
    status, out, err = run_cli(
        capsys, "classify", flow_gif, "--stream", "flow", "--weights", weights, "--json", "--quiet"
    )  # fmt: skip
    assert status == 0, err
    (video,) = json.loads(out)["videos"]
    assert len(video["windows"]) == 1  # the 79 flow frames as one clip, no TV-L1


@pytest.mark.backend_independent
def test_a_file_system_error_fails_one_video_and_the_run_goes_on(tmp_path, random_weights, capsys):
    """A name too long for its output ended the whole folder run with rc 2."""
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "ok.mp4", moving_square(8, 64, 64))
    write_video(videos / ("x" * 250 + ".mp4"), moving_square(8, 64, 64))  # its .npy would be 258 bytes long
    status, out, err = run_cli(capsys, "features", videos, "--out", tmp_path / "f", "--weights", random_weights, *FAST)
    assert status == 1 and "(1 videos, 1 failed)" in out and "File name too long" in err
    index = json.loads((tmp_path / "f" / "index.json").read_text())
    assert list(index["videos"]) == ["ok.mp4"] and list(index["failed"]) == ["x" * 250 + ".mp4"]
