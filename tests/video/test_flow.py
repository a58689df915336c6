"""TV-L1 optical flow: DeepMind's recipe, the sign convention, the cache, the pictures."""

import numpy as np
import pytest
from PIL import Image

from keras_i3d.errors import VideoError
from keras_i3d.utils.npy_stream import npy_stream
from keras_i3d.video import flow, flow_pictures
from tests.support.synthetic_videos import moving_square, write_video

pytestmark = pytest.mark.backend_independent

# These tests are about the recipe, the cache and the pictures, with OpenCV's TV-L1 (the reference);
# the keras.ops implementation and "auto" are tests/video/test_tvl1.py's.


def _square_flow(step, frames=4):
    clip = moving_square(frames, 120, 160, step=step, side=32)
    flows = np.stack(list(flow.iter_flow(clip, short_side=None, implementation="opencv")))
    y0, x0 = (120 - 32) // 2, (160 - 32) // 2
    inside = flows[:, y0 + 8 : y0 + 24, x0 + 8 : x0 + 24].reshape(-1, 2).mean(axis=0)
    return flows, inside


@pytest.mark.parametrize(
    "step,expected",
    [((0, 4), (4, 0)), ((0, -4), (-4, 0)), ((4, 0), (0, 4)), ((-3, 0), (0, -3))],
    ids=["right", "left", "down", "up"],
)
def test_sign_convention(step, expected):
    flows, inside = _square_flow(step)
    assert flows.shape == (3, 120, 160, 2) and flows.dtype == np.float32
    np.testing.assert_allclose(inside, expected, atol=0.3)
    assert np.abs(flows[:, :16, :16]).max() < 0.5  # the still background


def test_grayscale_is_in_the_range_opencv_expects():
    gray = flow.grayscale(np.full((2, 3, 3), 255, np.uint8))
    np.testing.assert_allclose(gray, 1.0, rtol=1e-6)


def test_float_and_uint8_frames_give_the_same_flow():
    clip = moving_square(2, 64, 80, step=(0, 2), side=24)
    gray = flow.grayscale(clip)
    as_uint8 = np.round(gray * 255).astype(np.uint8)
    np.testing.assert_allclose(flow.tvl1_flow(*gray), flow.tvl1_flow(*as_uint8), atol=0.05)  # rounding only


def test_video_flow_follows_the_recipe_and_caches(tmp_path, monkeypatch):
    path = write_video(tmp_path / "v.mp4", moving_square(12, 240, 320, step=(0, 3)), fps=25)
    computed = flow.video_flow(path, cache_dir=tmp_path / "cache", progress=False, implementation="opencv")
    assert computed.shape == (11, 256, 341, 2) and computed.dtype == np.float16  # short side 256, 320x240 -> 341x256
    dx = np.asarray(computed[..., 0], np.float32)
    assert 3.0 < float(np.median(dx[np.abs(dx) > 1])) < 3.5  # 3 px per frame, in the 256/240 larger image
    (cached,) = (tmp_path / "cache").iterdir()
    assert cached.name.startswith("v.mp4.flow-") and cached.suffix == ".npy"
    monkeypatch.setattr(flow, "iter_flow", lambda *a, **k: pytest.fail("computed again"))
    again = flow.video_flow(path, cache_dir=tmp_path / "cache", progress=False, implementation="opencv")
    np.testing.assert_array_equal(again, computed)


def test_cache_key_follows_content_and_parameters(tmp_path):
    path = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64))
    key = flow.flow_cache_key(path, 25.0, 256)
    assert flow.flow_cache_key(path, 25.0, 256, flow.TVL1()) == key
    assert flow.flow_cache_key(path, 30.0, 256) != key
    assert flow.flow_cache_key(path, 25.0, 224) != key
    assert flow.flow_cache_key(path, 25.0, 256, flow.TVL1(warps=3)) != key
    write_video(path, moving_square(3, 48, 64, step=(1, 1)))
    assert flow.flow_cache_key(path, 25.0, 256) != key


def test_default_cache_is_the_keras_cache_and_beside_the_video_only_when_asked(tmp_path, monkeypatch):
    """It was written beside the user's videos by default (~9 MB per second of video)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    videos = tmp_path / "videos"
    videos.mkdir()
    path = write_video(videos / "v.mp4", moving_square(3, 48, 64))
    flow.video_flow(path, short_side=None, progress=False, implementation="opencv")
    assert sorted(p.name for p in videos.iterdir()) == ["v.mp4"]
    assert [p.name for p in (tmp_path / "kh" / "keras_i3d" / "flow").glob("v.mp4.flow-*.npy")]
    flow.video_flow(path, short_side=None, progress=False, implementation="opencv", cache_dir=flow.BESIDE_THE_VIDEO)
    assert [p.name for p in videos.glob("v.mp4.flow-*.npy")]


def test_damaged_cache_entry_is_recomputed(tmp_path):
    path = write_video(tmp_path / "v.mp4", moving_square(4, 48, 64, step=(0, 2)))
    first = np.array(
        flow.video_flow(path, short_side=None, cache_dir=tmp_path / "c", progress=False, implementation="opencv")
    )
    (entry,) = (tmp_path / "c").iterdir()
    entry.write_bytes(b"garbage")
    np.testing.assert_array_equal(
        flow.video_flow(path, short_side=None, cache_dir=tmp_path / "c", progress=False, implementation="opencv"), first
    )


def test_without_cache_nothing_is_written(tmp_path):
    path = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64))
    result = flow.video_flow(path, short_side=None, cache=False, progress=False, implementation="opencv")
    assert result.shape == (2, 48, 64, 2) and result.dtype == np.float32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


def test_single_frame_video_is_refused(tmp_path):
    path = write_video(tmp_path / "one.mp4", moving_square(1, 48, 64))
    with pytest.raises(VideoError, match="single frame; optical flow needs at least 2"):
        flow.video_flow(path, cache_dir=tmp_path / "c", progress=False, implementation="opencv")
    assert not list((tmp_path / "c").glob("*.npy")) if (tmp_path / "c").exists() else True


def test_npy_stream_writes_a_loadable_file_only_when_complete(tmp_path):
    with npy_stream(tmp_path / "x.npy", (2, 3), np.float16) as writer:
        writer.write(np.zeros((2, 3)))
        writer.write(np.ones((4, 2, 3)))
    loaded = np.load(tmp_path / "x.npy", mmap_mode="r")
    assert loaded.shape == (5, 2, 3) and loaded.dtype == np.float16 and loaded[1:].min() == 1
    with pytest.raises(RuntimeError), npy_stream(tmp_path / "y.npy", (2,), np.float32) as writer:
        writer.write(np.zeros(2))
        raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"]


def test_flow_colours_show_direction_and_speed():
    field = np.zeros((1, 3, 2), np.float32)
    field[0, 0] = (5, 0)  # right: red
    field[0, 1] = (0, 5)  # down
    image = flow_pictures.flow_to_rgb(field, max_magnitude=5)
    assert tuple(image[0, 0]) == (255, 0, 0)
    assert tuple(image[0, 2]) == (255, 255, 255)  # still: white
    assert tuple(image[0, 1]) != tuple(image[0, 0])


@pytest.mark.parametrize("suffix,frames", [(".png", 1), (".gif", 5)])
def test_flow_picture_files(tmp_path, suffix, frames):
    flows, _ = _square_flow((0, 4), frames=6)
    path = flow_pictures.save_flow_picture(flows[:5] if frames > 1 else flows[0], tmp_path / f"flow{suffix}")
    with Image.open(path) as image:
        assert getattr(image, "n_frames", 1) == frames
        rgb = np.asarray(image.convert("RGB"))
    y0, x0 = (120 - 32) // 2, (160 - 32) // 2
    r, g, b = rgb[y0 + 16, x0 + 16].astype(int)
    assert r > 200 and g < 120 and b < 120  # the square moves right: red
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"flow{suffix}"]


def test_flow_picture_refuses_other_formats(tmp_path):
    with pytest.raises(ValueError, match="a .png or a .gif"):
        flow_pictures.save_flow_picture(np.zeros((4, 4, 2)), tmp_path / "flow.jpg")
    with pytest.raises(ValueError, match="\\(height, width, 2\\)"):
        flow_pictures.save_flow_picture(np.zeros((4, 4, 3)), tmp_path / "flow.png")
