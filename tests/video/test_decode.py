"""Video decoding with PyAV: resampling by timestamp, rotation, odd sizes, clear errors, the optional extra."""

import subprocess
import sys

import numpy as np
import pytest

from keras_i3d.errors import MissingExtraError, VideoError
from keras_i3d.video import decode as video
from tests.support import blocking, helpers
from tests.support.synthetic_videos import moving_square, numbered_frames, write_audio_only, write_video


def _indices(frames):
    """Which source frame each decoded frame is (see `numbered_frames`)."""
    return [int(round((int(np.median(f[..., 0])) - 4) / 8)) for f in frames]


@pytest.mark.backend_independent
def test_30_fps_is_resampled_to_25_by_timestamp(tmp_path):
    path = write_video(tmp_path / "v.mp4", numbered_frames(30), fps=30)
    frames = list(video.iter_frames(path))
    assert len(frames) == 25  # one second
    # output k shows the frame on screen at k/25 s: source frame floor(k * 30 / 25)
    assert _indices(frames) == [int(k * 30 / 25 + 1e-9) for k in range(25)]


@pytest.mark.backend_independent
def test_10_fps_frames_are_repeated(tmp_path):
    path = write_video(tmp_path / "v.mp4", numbered_frames(10), fps=10)
    assert _indices(video.iter_frames(path)) == [int(k * 10 / 25) for k in range(25)]


@pytest.mark.backend_independent
def test_25_fps_is_kept_frame_for_frame(tmp_path):
    path = write_video(tmp_path / "v.mp4", numbered_frames(12), fps=25)
    assert _indices(video.iter_frames(path)) == list(range(12))
    assert _indices(video.iter_frames(path, fps=None)) == list(range(12))


@pytest.mark.backend_independent
def test_variable_frame_rate_follows_timestamps(tmp_path):
    times = [0.0, 0.04, 0.2, 0.24, 0.5, 0.52, 0.9]
    path = write_video(tmp_path / "vfr.mp4", numbered_frames(7), times=times)
    got = _indices(video.iter_frames(path))
    expected = [max(i for i, t in enumerate(times) if t <= k / 25 + 1e-9) for k in range(len(got))]
    assert got == expected and len(got) >= 23
    assert 4 not in got  # on screen 0.50-0.52 s only: no 25 fps instant falls in it


@pytest.mark.backend_independent
@pytest.mark.parametrize("rotation,turns", [(90, 1), (-90, 3), (180, 2)])
def test_rotation_metadata_is_applied(tmp_path, rotation, turns):
    frames = np.zeros((3, 48, 64, 3), np.uint8)
    frames[:, :12, :12] = 255  # a marker in the top-left corner as stored
    path = write_video(tmp_path / "r.mp4", frames, rotation=rotation)
    info = video.probe_video(path)
    decoded = video.read_video(path)
    expected = np.rot90(frames[0], turns)
    assert decoded.shape[1:3] == expected.shape[:2] == (info.height, info.width)
    corner = np.unravel_index(np.argmax(expected[..., 0]), expected.shape[:2])
    assert decoded[0][corner][0] > 200


@pytest.mark.backend_independent
@pytest.mark.parametrize("size", [(240, 320), (137, 241)])
def test_odd_sizes_decode(tmp_path, size):
    path = write_video(tmp_path / "v.mp4", moving_square(5, *size))
    info = video.probe_video(path)
    assert (info.height, info.width) == size and info.codec == "h264"
    assert video.read_video(path).shape == (5, *size, 3)


@pytest.mark.backend_independent
def test_audio_track_is_ignored(tmp_path):
    path = write_video(tmp_path / "av.mp4", moving_square(25, 48, 64), audio=True)
    assert video.read_video(path).shape == (25, 48, 64, 3)


@pytest.mark.backend_independent
def test_decoding_streams(tmp_path):
    path = write_video(tmp_path / "v.mp4", moving_square(50, 48, 64))
    frames = video.iter_frames(path)
    assert next(frames).shape == (48, 64, 3)  # a generator: nothing beyond the first frame was kept
    assert len(video.read_video(path, max_frames=7)) == 7


def _write(path, data):
    path.write_bytes(data)
    return path


def _corrupt(path):
    data = bytearray(path.read_bytes())
    for i in range(2000, len(data), 97):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: tmp / "missing.mp4", "does not exist"),
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: _write(tmp / "empty.mp4", b""), "is empty"),
        (lambda tmp: _write(tmp / "text.mp4", b"hello " * 100), "not a readable video"),
        (lambda tmp: write_audio_only(tmp / "audio.m4a"), "has no video stream \\(it holds: audio\\)"),
        (lambda tmp: _corrupt(write_video(tmp / "bad.mp4", moving_square(30, 48, 64))), "bad.mp4"),
    ],
)
def test_bad_files_raise_one_line_video_errors_naming_the_file(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(VideoError, match=match) as info:
        video.read_video(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.backend_independent
def test_truncated_streamable_video_fails_after_its_good_frames(tmp_path):
    path = write_video(tmp_path / "v.mkv", moving_square(50, 48, 64))
    data = path.read_bytes()
    (tmp_path / "cut.mkv").write_bytes(data[: len(data) * 2 // 3])
    try:
        frames = video.read_video(tmp_path / "cut.mkv")
    except VideoError as e:
        assert "cut.mkv" in str(e)
    else:
        assert 0 < len(frames) < 50


@pytest.mark.backend_independent
def test_read_video_refuses_more_than_max_bytes(tmp_path):
    path = write_video(tmp_path / "v.mp4", moving_square(10, 48, 64))
    with pytest.raises(VideoError, match="refusing to read it whole"):
        video.read_video(path, max_bytes=3 * 48 * 64 * 3)


@pytest.mark.backend_independent
@pytest.mark.parametrize("fps", [0, -1, True, "25"])
def test_bad_fps(tmp_path, fps):
    path = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64))
    with pytest.raises(ValueError, match="`fps` must be a positive number"):
        next(video.iter_frames(path, fps=fps))


@pytest.mark.backend_independent
def test_without_pyav_the_error_names_the_extra(tmp_path, monkeypatch):
    path = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64))
    monkeypatch.setattr(video, "av", None)
    with pytest.raises(MissingExtraError, match=r'pip install "keras-i3d\[video\]"'):
        video.read_video(path)


@pytest.mark.requires_data
@pytest.mark.backend_independent
def test_gifs_need_no_pyav(monkeypatch):
    """read_video on a GIF asked for PyAV on a JAX-only install, though GIFs need only Pillow."""
    gif = helpers.data_dir() / "v_CricketShot_g04_c01_rgb.gif"
    with_pyav = [video.read_video(gif), video.read_video(gif, fps=30), video.probe_video(gif)]
    monkeypatch.setattr(video, "av", None)
    np.testing.assert_array_equal(video.read_video(gif), with_pyav[0])  # same frames, same resampling
    np.testing.assert_array_equal(video.read_video(gif, fps=30), with_pyav[1])
    info = video.probe_video(gif)
    assert (
        (info.width, info.height, info.frames, info.fps)
        == (224, 224, 79, 25.0)
        == (with_pyav[2].width, with_pyav[2].height, with_pyav[2].frames, with_pyav[2].fps)
    )


BLOCK_VIDEO_LIBRARIES = blocking.script_prefix("av", "cv2", "matplotlib")


def test_keras_i3d_works_without_the_video_extra():
    code = BLOCK_VIDEO_LIBRARIES + (
        "import numpy as np, keras_i3d\n"
        "from keras_i3d import cli\n"
        "m = keras_i3d.I3D(weights=None, input_shape=(4, 32, 32, 3), classes=3)\n"
        "assert m.predict(np.zeros((1, 4, 32, 32, 3), 'float32'), verbose=0).shape == (1, 3)\n"
        "assert cli.main(['presets']) == 0\n"
        "try:\n"
        "    keras_i3d.read_video(keras_i3d.__file__)\n"
        "except keras_i3d.MissingExtraError as e:\n"
        "    print('MISSING', e)\n"
        "try:\n"
        "    keras_i3d.plot_timeline(None, 'x.png')\n"
        "except ImportError as e:\n"
        "    print('MISSING', e)\n"
        "assert 'av' not in sys.modules or sys.modules['av'] is None\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.startswith("MISSING")]
    assert len(lines) == 2 and all('pip install "keras-i3d[video]"' in line for line in lines), result.stdout


@pytest.mark.backend_independent
def test_a_truncated_web_mp4_is_refused_not_classified_from_its_first_part(tmp_path):
    """A faststart MP4 cut in half decoded up to the cut, and passed for the whole video."""
    whole = write_video(tmp_path / "web.mp4", moving_square(100, 64, 64), faststart=True)
    assert len(video.read_video(whole)) == 100
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(VideoError, match=r"cut.mp4 stops at [0-9.]+ s of the 4.00 s it declares \(truncated"):
        video.read_video(cut)


@pytest.mark.backend_independent
def test_timestamps_that_jump_hours_are_refused_not_repeated(tmp_path):
    """A 3-frame file with a 10-hour gap planned ~17 h of work (900,000 repeated frames)."""
    path = write_video(tmp_path / "gap.mp4", moving_square(3, 48, 64), times=[0.0, 0.04, 36000.0])
    with pytest.raises(VideoError, match=r"gap.mp4: timestamps jump by 3[0-9]{4}\.[0-9] s between frames 1 and 2"):
        video.read_video(path)


@pytest.mark.backend_independent
def test_dataset_refuses_a_thin_video_and_a_too_long_record_per_video(tmp_path, monkeypatch):
    """A 2x2000 video asked for 12.6 GB to resize 16 frames, and one video could abort the whole dataset."""
    from keras_i3d.training import dataset_writer

    options = {"fps": 25.0, "short_side": 256, "quality": 90, "flow": False}
    thin = write_video(tmp_path / "thin.mp4", np.full((4, 2, 2000, 3), 128, np.uint8))
    result = dataset_writer.encode_video((dataset_writer.VideoEntry(str(thin), "a"), options))
    assert "resize to 256000x256, larger than a JPEG can hold (65500 px a side)" in result["error"]
    monkeypatch.setattr(dataset_writer, "MAX_RECORD_BYTES", 20_000)
    long = write_video(tmp_path / "long.mp4", moving_square(50, 64, 64))
    result = dataset_writer.encode_video((dataset_writer.VideoEntry(str(long), "a"), options))
    assert "is too long for one record" in result["error"] and "several time ranges" in result["error"]
