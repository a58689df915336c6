"""preprocess_input, decode_predictions and the shipped label files."""

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.presets import PRESETS
from tests import helpers


def test_rgb_scaling():
    frames = np.array([0, 127, 255], np.uint8).reshape(1, 1, 1, 3)
    np.testing.assert_allclose(keras_i3d.preprocess_input(frames).ravel(), [-1, 127 / 255 * 2 - 1, 1])
    assert keras_i3d.preprocess_input(frames).dtype == np.float32


def test_flow_clipping_and_scaling():
    flow = np.array([-40.0, -10.0, 5.0, 25.0], np.float32).reshape(1, 2, 1, 2)
    np.testing.assert_allclose(keras_i3d.preprocess_input(flow, stream="flow").ravel(), [-1, -0.5, 0.25, 1])


def test_tensor_input_goes_through_keras_ops():
    x = keras.ops.convert_to_tensor(np.full((1, 2, 2, 3), 255, np.uint8))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras_i3d.preprocess_input(x)), 1.0)


@pytest.mark.parametrize("shape,stream", [((2, 4, 4, 2), "rgb"), ((2, 4, 4, 3), "flow")])
def test_wrong_channels(shape, stream):
    with pytest.raises(ValueError, match="channels"):
        keras_i3d.preprocess_input(np.zeros(shape), stream=stream)


def test_unknown_stream():
    with pytest.raises(ValueError, match="'rgb' or 'flow'"):
        keras_i3d.preprocess_input(np.zeros((1, 3)), stream="depth")


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


@pytest.mark.requires_data
@pytest.mark.parametrize("dataset,upstream", [("kinetics400", "label_map.txt"), ("kinetics600", "label_map_600.txt")])
def test_shipped_labels_equal_upstream(dataset, upstream):
    lines = (helpers.data_dir() / upstream).read_text().splitlines()
    assert keras_i3d.load_labels(dataset) == tuple(line.strip() for line in lines)
    assert len(keras_i3d.load_labels(dataset)) == {p.dataset: p.classes for p in PRESETS.values()}[dataset]


@pytest.mark.requires_data
def test_read_gif_matches_reference_decoding():
    from keras_i3d.video import read_gif

    frames = read_gif(helpers.data_dir() / "v_CricketShot_g04_c01_rgb.gif")
    assert frames.shape == (79, 224, 224, 3) and frames.dtype == np.uint8
    np.testing.assert_array_equal(keras_i3d.preprocess_input(frames)[None], helpers.reference_input())
