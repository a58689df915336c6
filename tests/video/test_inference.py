"""Whole-video inference: windows, times, loop padding, features, two streams, flat memory, the timeline."""

import functools
import json
import tracemalloc

import keras
import numpy as np
import pytest
from PIL import Image

from keras_i3d import I3D, TwoStreamI3D
from keras_i3d.errors import InputError
from keras_i3d.preprocessing import preprocess_frames
from keras_i3d.video import inference, plots
from keras_i3d.video.decode import read_video
from tests.support.synthetic_videos import moving_square, write_video

SMALL = dict(size=64, short_side=73, progress=False)


@pytest.fixture(scope="module")
def small_rgb():
    keras.utils.set_random_seed(0)
    return I3D(weights=None, input_shape=(None, 64, 64, 3), classes=400, classifier_activation=None)


def _windows(n, clip, stride):
    frames = iter([np.full((1,), i) for i in range(n)])
    out = list(inference._windows(frames, clip, stride))
    return [(a, b, [int(v) for v in c[:, 0]]) for a, b, c in out[:-1]], out[-1]


@pytest.mark.parametrize(
    "n,clip,stride,expected",
    [
        (10, 4, 2, [(0, 4), (2, 6), (4, 8), (6, 10)]),
        (11, 4, 3, [(0, 4), (3, 7), (6, 10), (7, 11)]),  # a last window covers the end
        (20, 4, 8, [(0, 4), (8, 12), (16, 20)]),  # stride > clip: frames between are skipped
        (4, 4, 2, [(0, 4)]),
    ],
)
def test_window_positions(n, clip, stride, expected):
    windows, total = _windows(n, clip, stride)
    assert [(a, b) for a, b, _ in windows] == expected
    assert all(frames == list(range(a, b)) for a, b, frames in windows)
    assert total == ("total", n, False)


def test_short_video_is_loop_padded():
    windows, total = _windows(3, 8, 4)
    assert windows == [(0, 3, [0, 1, 2, 0, 1, 2, 0, 1])]
    assert total == ("total", 3, True)


def test_window_buffer_stays_bounded():
    sizes = []

    def frames():
        for i in range(500):
            yield np.full((1,), i)

    generator = inference._windows(frames(), 16, 8)
    for item in generator:
        sizes.append(generator.gi_frame.f_locals["buffer"].__len__() if generator.gi_frame else 0)
        if item[0] == "total":
            break
    assert max(sizes) <= 16 + 8


def test_predict_video_times_logits_and_features(tmp_path, small_rgb):
    path = write_video(tmp_path / "v.mp4", moving_square(40, 120, 160, step=(0, 3)), fps=30)
    result = inference.predict_video(
        small_rgb, path, clip_frames=16, stride=8, batch_size=3, endpoints=["Mixed_4f", "Mixed_5c"], **SMALL
    )
    assert result.frames == 34  # 1.333 s at 25 fps
    np.testing.assert_allclose(result.starts, [0, 0.32, 0.64, 0.72])
    np.testing.assert_allclose(result.ends, [0.64, 0.96, 1.28, 1.36])
    assert result.logits.shape == (4, 400) and not result.loop_padded
    assert result.features["Mixed_4f"].shape == (4, 832) and result.features["Mixed_5c"].shape == (4, 1024)
    np.testing.assert_allclose(result.video_logits, result.logits.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1, rtol=1e-5)
    assert result.top(1)[0][0] in result.labels
    # each window equals the model on that window's preprocessed frames
    frames = read_video(path)
    clip = preprocess_frames(frames[8:24], size=64, short_side=73)
    np.testing.assert_allclose(result.logits[1], np.asarray(small_rgb.predict(clip[None], verbose=0))[0], atol=1e-4)
    document = json.loads(json.dumps(result.to_json(top=2)))
    assert len(document["windows"]) == 4 and len(document["top"]) == 2 and document["duration"] == 1.36


def test_unpooled_features_keep_the_maps(tmp_path, small_rgb):
    path = write_video(tmp_path / "v.mp4", moving_square(16, 64, 64))
    result = inference.predict_video(small_rgb, path, clip_frames=16, endpoints="Mixed_5c", pool=None, **SMALL)
    assert result.features["Mixed_5c"].shape == (1, 2, 2, 2, 1024)


def test_short_video_gives_one_loop_padded_window(tmp_path, small_rgb):
    path = write_video(tmp_path / "v.mp4", moving_square(5, 64, 64))
    result = inference.predict_video(small_rgb, path, clip_frames=16, **SMALL)
    assert result.loop_padded and len(result.starts) == 1 and result.ends[0] == pytest.approx(0.2)


# Windows and preprocessing are NumPy (each backend runs predict_video in the tests above); CI budget.
@pytest.mark.torch_only
def test_frames_array_and_prepared_clips(small_rgb):
    frames = moving_square(20, 64, 64)
    result = inference.predict_video(small_rgb, frames, clip_frames=8, stride=8, resize=False, progress=False)
    expected = small_rgb.predict((frames[None, 8:16] / np.float32(127.5) - 1), verbose=0)
    np.testing.assert_allclose(result.logits[1], np.asarray(expected)[0], atol=1e-4)
    clip = inference.predict_clip(small_rgb, frames[:8] / np.float32(127.5) - 1, endpoints=["Mixed_5c"])
    np.testing.assert_allclose(clip.logits[0], result.logits[0], atol=1e-4)


# On PyTorch only (the quickest; CI budget): windows, flow cache and sums are NumPy and OpenCV, the same on
# every backend; each backend runs a two-stream model in tests/applications/test_two_stream.py.
@pytest.mark.torch_only
def test_two_stream_video_logits_are_the_sum(tmp_path):
    keras.utils.set_random_seed(3)
    model = TwoStreamI3D(rgb_weights=None, flow_weights=None, classifier_activation=None, size=64)
    path = write_video(tmp_path / "v.mp4", moving_square(20, 64, 80, step=(0, 2)))
    opencv = {"flow_cache_dir": tmp_path / "f", "flow_implementation": "opencv"}  # the port: test_tvl1.py
    joint = inference.predict_video(model, path, clip_frames=8, stride=8, **opencv, **SMALL)
    rgb = inference.predict_video(model.get_layer("RGB"), path, clip_frames=8, stride=8, **SMALL)
    flow = inference.predict_video(model.get_layer("Flow"), path, clip_frames=8, stride=8, **opencv, **SMALL)
    assert joint.frames == rgb.frames == flow.frames == 20
    np.testing.assert_allclose(joint.logits, rgb.logits + flow.logits, rtol=1e-4, atol=1e-4)
    assert len(list((tmp_path / "f").iterdir())) == 1  # one flow computation, cached
    # One call gives both inputs of a clip, exactly what predict_video feeds a window.
    inputs = inference.video_inputs(path, size=64, short_side=73, progress=False, **opencv)
    assert inputs["rgb"].shape == (1, 20, 64, 64, 3) and inputs["flow"].shape == (1, 20, 64, 64, 2)
    window = {stream: x[:, 8:16] for stream, x in inputs.items()}
    np.testing.assert_allclose(np.asarray(model.predict(window, verbose=0))[0], joint.logits[1], rtol=1e-4, atol=1e-4)
    with pytest.raises(InputError, match="more than 10 frames at 25 fps; video_inputs holds them all"):
        inference.video_inputs(path, streams=("rgb",), max_frames=10, progress=False)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(clip_frames=0), "`clip_frames` must be a positive int"),
        (dict(stride=-1), "`stride` must be a positive int"),
        (dict(endpoints=["Mixed_9z"]), "Unknown endpoint"),
        (dict(pool="max"), "`pool` must be 'avg' or None"),
    ],
)
def test_bad_arguments(small_rgb, kwargs, match):
    with pytest.raises(ValueError, match=match):
        inference.predict_video(small_rgb, moving_square(4, 64, 64), progress=False, **kwargs)


@pytest.mark.backend_independent  # the windows kept in memory are NumPy, whatever the backend
def test_memory_stays_flat_over_long_videos(tmp_path, small_rgb):
    """Peak Python/NumPy memory of a 30 s video is that of a 3 s one: only the windows in flight are kept."""
    paths = {seconds: write_video(tmp_path / f"{seconds}.mp4", moving_square(seconds * 25, 48, 64, step=(0, 0)))
             for seconds in (3, 30)}  # fmt: skip
    run = functools.partial(inference.predict_video, small_rgb, clip_frames=16, stride=16, batch_size=2, **SMALL)
    run(paths[3])  # compiled outside the traced runs (tracing allocations makes compiling slow, not bigger)
    peaks = {}
    for seconds, path in paths.items():
        tracemalloc.start()
        run(path)
        peaks[seconds] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks[30] < 1.3 * peaks[3] + 2e6, peaks


def test_timeline_picture(tmp_path, small_rgb):
    path = write_video(tmp_path / "v.mp4", moving_square(30, 64, 64))
    result = inference.predict_video(small_rgb, path, clip_frames=8, stride=4, **SMALL)
    picture = plots.plot_timeline(result, tmp_path / "timeline.png", top=3)
    with Image.open(picture) as image:
        assert image.format == "PNG" and image.size[0] > 400
    with pytest.raises(ValueError, match="picture"):
        plots.plot_timeline(result, tmp_path / "timeline.txt")


@pytest.mark.backend_independent
def test_video_prediction_repr_is_one_line():
    """It printed all 400 labels."""
    labels = tuple(f"class {i}" for i in range(400))
    logits = np.zeros((3, 400), "float32")
    logits[:, 7] = 9.0
    prediction = inference.VideoPrediction(
        "v.mp4", 25.0, 160, np.array([0.0, 1.28, 2.56]), np.array([2.56, 3.84, 6.4]), logits,
        {"Mixed_5c": np.zeros((3, 1024))}, labels, False,
    )  # fmt: skip
    text = repr(prediction)
    assert "\n" not in text and len(text) < 200 and "class 7" in text and "class 8" not in text, text
    assert text.startswith("VideoPrediction(source='v.mp4', 160 frames at 25 fps, 3 windows, top='class 7'")
    assert "Mixed_5c (3, 1024)" in text


@pytest.mark.backend_independent
def test_joined_features_put_rgb_first_and_keep_one_stream_as_it_is():
    rgb, flow = np.ones((3, 4), np.float32), np.zeros((3, 4), np.float32)
    joined = inference.joined_features({"rgb/Mixed_5c": rgb, "flow/Mixed_5c": flow}, "Mixed_5c")
    assert joined.shape == (3, 8) and np.array_equal(joined[:, :4], rgb) and np.array_equal(joined[:, 4:], flow)
    assert inference.joined_features({"Mixed_5c": rgb}, "Mixed_5c") is rgb
