"""preprocess_input, decode_predictions and the shipped label files."""

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.presets import PRESETS
from tests.support import helpers


@pytest.mark.backend_independent
def test_rgb_scaling():
    frames = np.array([0, 127, 255], np.uint8).reshape(1, 1, 1, 3)
    np.testing.assert_allclose(keras_i3d.preprocess_input(frames).ravel(), [-1, 127 / 255 * 2 - 1, 1])
    assert keras_i3d.preprocess_input(frames).dtype == np.float32


@pytest.mark.backend_independent
def test_flow_clipping_and_scaling():
    flow = np.array([-40.0, -10.0, 5.0, 25.0], np.float32).reshape(1, 2, 1, 2)
    np.testing.assert_allclose(keras_i3d.preprocess_input(flow, stream="flow").ravel(), [-1, -0.5, 0.25, 1])


def test_tensor_input_goes_through_keras_ops():
    x = keras.ops.convert_to_tensor(np.full((1, 2, 2, 3), 255, np.uint8))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras_i3d.preprocess_input(x)), 1.0)


@pytest.mark.backend_independent
@pytest.mark.parametrize("shape,stream", [((2, 4, 4, 2), "rgb"), ((2, 4, 4, 3), "flow")])
def test_wrong_channels(shape, stream):
    with pytest.raises(ValueError, match="channels"):
        keras_i3d.preprocess_input(np.zeros(shape), stream=stream)


@pytest.mark.backend_independent
def test_unknown_stream():
    with pytest.raises(ValueError, match="'rgb' or 'flow'"):
        keras_i3d.preprocess_input(np.zeros((1, 3)), stream="depth")


@pytest.mark.backend_independent
def test_decode_predictions():
    preds = np.zeros((2, 400), np.float32)
    preds[0, 227], preds[0, 5] = 0.9, 0.1
    preds[1, 399] = 1.0
    decoded = keras_i3d.decode_predictions(preds, top=2)
    assert decoded[0] == [(227, "playing cricket", pytest.approx(0.9)), (5, "archery", pytest.approx(0.1))]
    assert decoded[1][0][1] == "zumba"
    assert keras_i3d.decode_predictions(np.ones((1, 600)), top=1, dataset="kinetics600")[0][0][0] == 0
    with pytest.raises(ValueError, match="has 400 classes"):
        keras_i3d.decode_predictions(np.ones((1, 600)), dataset="kinetics400")
    with pytest.raises(ValueError, match="pass `dataset`"):
        keras_i3d.decode_predictions(np.ones((1, 10)))
    with pytest.raises(ValueError, match=r"\(batch, classes\)"):
        keras_i3d.decode_predictions(np.ones(400))
    for top in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="`top` must be a positive int"):
            keras_i3d.decode_predictions(preds, top=top)
    assert len(keras_i3d.decode_predictions(preds, top=1000)[0]) == 400


@pytest.mark.backend_independent
@pytest.mark.requires_data
@pytest.mark.parametrize("dataset,upstream", [("kinetics400", "label_map.txt"), ("kinetics600", "label_map_600.txt")])
def test_shipped_labels_equal_upstream(dataset, upstream):
    lines = (helpers.data_dir() / upstream).read_text().splitlines()
    assert keras_i3d.load_labels(dataset) == tuple(line.strip() for line in lines)
    assert len(keras_i3d.load_labels(dataset)) == {p.dataset: p.classes for p in PRESETS.values()}[dataset]


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_read_gif_matches_reference_decoding():
    from keras_i3d.video.decode import read_gif

    frames = read_gif(helpers.data_dir() / "v_CricketShot_g04_c01_rgb.gif")
    assert frames.shape == (79, 224, 224, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(keras_i3d.preprocess_input(frames)[None], helpers.reference_input())


# -- DeepMind's recipe: resize the short side to 256, centre crop 224 --


def _bilinear_reference(image, new_height, new_width):
    """Half-pixel-centre bilinear resize without antialiasing (tf.image.resize's), in NumPy."""
    height, width = image.shape[:2]

    def axis(new, old):
        x = (np.arange(new) + 0.5) * old / new - 0.5
        x = np.clip(x, 0, old - 1)
        low = np.floor(x).astype(int)
        high = np.minimum(low + 1, old - 1)
        return low, high, (x - low)[:, None]

    y0, y1, fy = axis(new_height, height)
    x0, x1, fx = axis(new_width, width)
    image = image.astype(np.float64)
    rows = image[y0] * (1 - fy[:, :, None]) + image[y1] * fy[:, :, None]
    return rows[:, x0] * (1 - fx[None]) + rows[:, x1] * fx[None]


@pytest.mark.backend_independent
def test_resized_shape_keeps_the_aspect_ratio():
    from keras_i3d.preprocessing import resized_shape

    assert resized_shape(240, 320) == (256, 341)
    assert resized_shape(320, 240) == (341, 256)
    assert resized_shape(137, 241) == (256, 450)
    assert resized_shape(256, 256) == (256, 256)
    with pytest.raises(ValueError, match="positive int"):
        resized_shape(0, 10)


@pytest.mark.backend_independent
def test_preprocess_frames_of_a_320x240_video():
    from keras_i3d.preprocessing import preprocess_frames

    frames = np.random.default_rng(0).integers(0, 256, (3, 240, 320, 3)).astype(np.uint8)
    out = preprocess_frames(frames)
    assert isinstance(out, np.ndarray) and out.shape == (3, 224, 224, 3) and out.dtype == np.float32
    assert -1.0 <= out.min() and out.max() <= 1.0
    resized = _bilinear_reference(frames[1], 256, 341)
    top, left = (256 - 224) // 2, (341 - 224) // 2
    np.testing.assert_allclose(out[1], resized[top : top + 224, left : left + 224] / 255 * 2 - 1, atol=2e-5)


@pytest.mark.backend_independent
def test_preprocess_frames_crops_the_centre():
    from keras_i3d.preprocessing import preprocess_frames

    frames = np.zeros((1, 240, 320, 3), np.uint8)
    frames[:, 110:130, 150:170] = 255  # a square in the middle of the frame
    out = preprocess_frames(frames)[0, ..., 0]
    ys, xs = np.nonzero(out > 0)
    assert abs((ys.min() + ys.max()) / 2 - 111.5) <= 1.5 and abs((xs.min() + xs.max()) / 2 - 111.5) <= 1.5


@pytest.mark.backend_independent
def test_preprocess_frames_keeps_prepared_sizes_and_batches():
    from keras_i3d.preprocessing import preprocess_frames

    frames = np.random.default_rng(1).integers(0, 256, (2, 4, 256, 300, 3)).astype(np.uint8)
    out = preprocess_frames(frames, size=224)
    np.testing.assert_allclose(out, frames[:, :, 16:240, 38:262] / np.float32(127.5) - 1, atol=1e-6)


@pytest.mark.backend_independent
def test_preprocess_frames_scales_flow_vectors_with_the_image():
    from keras_i3d.preprocessing import preprocess_frames, resize_short_side

    flow = np.zeros((2, 120, 160, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3.0, -2.0
    resized = resize_short_side(flow, 240, stream="flow")  # twice as large: vectors double
    np.testing.assert_allclose(resized[0, 5, 5], (6.0, -4.0), atol=1e-5)
    out = preprocess_frames(flow, "flow", size=224, short_side=256)
    np.testing.assert_allclose(out[0, 0, 0], (3.0 * 341 / 160 / 20, -2.0 * 256 / 120 / 20), atol=1e-5)  # x: 160 -> 341


def test_preprocess_frames_on_backend_tensors_matches_numpy():
    import keras

    from keras_i3d.preprocessing import preprocess_frames

    frames = np.random.default_rng(2).integers(0, 256, (2, 100, 90, 3)).astype(np.float32)
    tensor = preprocess_frames(keras.ops.convert_to_tensor(frames), size=64, short_side=80)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tensor), preprocess_frames(frames, size=64, short_side=80))
    # downsampling too is plain bilinear (no antialiasing) on every backend: 100x90 -> 89x80
    resized = _bilinear_reference(frames[0], 89, 80)[12:76, 8:72]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tensor)[0], resized / 127.5 - 1, atol=2e-5)


@pytest.mark.parametrize(("height", "width"), [(240, 320), (360, 480), (480, 640), (137, 241)])
def test_saturated_frames_at_any_scale_are_taken(height, width):
    """A float32 bilinear blend of two 255 neighbours is 255.0000153: our own round-off never trips our check."""
    import keras

    from keras_i3d.preprocessing import preprocess_frames

    frames = np.full((2, height, width, 3), 255, np.uint8)
    frames[:, : height // 3] = 0  # an edge, so the resize blends 0 and 255 as well
    for x in (frames, keras.ops.convert_to_tensor(frames)):
        out = keras.ops.convert_to_numpy(preprocess_frames(x))
        assert out.shape == (2, 224, 224, 3) and out.min() >= -1.0 and out.max() == 1.0


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "frames,kwargs,match",
    [
        (np.zeros((240, 320, 3)), {}, "must be \\(frames, height, width, 3\\)"),
        (np.zeros((1, 240, 320, 2)), {}, "must be \\(frames, height, width, 3\\)"),
        (np.full((1, 240, 320, 3), 300.0), {}, "\\[0, 255\\]"),
        (np.zeros((1, 240, 320, 3)), {"short_side": 100}, "`short_side` must be an int of at least `size`"),
        (np.zeros((1, 240, 320, 3)), {"stream": "depth"}, "`stream` must be 'rgb' or 'flow'"),
    ],
)
def test_preprocess_frames_bad_input(frames, kwargs, match):
    from keras_i3d.preprocessing import preprocess_frames

    with pytest.raises(ValueError, match=match):
        preprocess_frames(frames, **kwargs)


@pytest.mark.tf_only  # sizes unknown until run time exist only in TF graphs
@pytest.mark.parametrize("stream,height,width", [("rgb", 240, 320), ("rgb", 320, 240), ("rgb", 137, 241),
                                                 ("rgb", 256, 300), ("flow", 100, 90), ("flow", 480, 853)])  # fmt: skip
def test_preprocess_frames_in_a_graph_with_unknown_sizes_matches_numpy(stream, height, width):
    import tensorflow as tf

    from keras_i3d.preprocessing import preprocess_frames

    channels = 3 if stream == "rgb" else 2
    spec = tf.TensorSpec([None, None, None, None, channels], tf.float32)
    graph = tf.function(lambda x: preprocess_frames(x, stream), input_signature=[spec])
    rng = np.random.default_rng(height + width)
    frames = rng.uniform(0, 255, (1, 2, height, width, channels)).astype(np.float32)
    if stream == "flow":
        frames -= 127.5
    np.testing.assert_allclose(graph(frames).numpy(), preprocess_frames(frames, stream), atol=1e-6)
