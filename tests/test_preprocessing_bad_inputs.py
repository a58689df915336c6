"""preprocess_input and decode_predictions refuse what they cannot take (hardening items 2, 3, 5)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_i3d.errors import InputError
from keras_i3d.preprocessing import decode_predictions, preprocess_input
from tests.support.bad_files import RNG


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "frames,stream,match",
    [
        (np.full((1, 4, 4, 3), 300.0), "rgb", r"RGB values in \[0, 255\]; got values in \[300, 300\]"),
        (np.full((1, 4, 4, 3), -1.0), "rgb", r"already scaled to \[-1, 1\]: do not apply preprocess_input twice"),
        (np.full((1, 4, 4, 3), np.nan), "rgb", "NaN"),
        (np.full((1, 4, 4, 2), np.inf), "flow", "infinite"),
        (np.zeros((1, 4, 4, 3), bool), "rgb", "real numbers"),
        (np.zeros((1, 4, 4, 4)), "rgb", "needs 3 channels"),
        ([["x", "y", "z"]], "rgb", "real numbers"),
        (np.array([[255.01, 0, 0]]), "rgb", r"\[0, 255.01\]"),  # past float round-off (1e-3)
        (np.ma.masked_invalid(np.array([[np.nan, 1.0, 2.0]])), "rgb", "NaN"),
    ],
)
def test_preprocess_input_rejects_values_outside_its_range(frames, stream, match):
    with pytest.raises(InputError, match=match):
        preprocess_input(frames, stream=stream)


@pytest.mark.backend_independent
def test_preprocess_input_applied_twice_is_caught():
    frames = RNG.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    once = preprocess_input(frames)
    with pytest.raises(InputError, match="twice"):
        preprocess_input(once)


@pytest.mark.parametrize("dtype", ["bool", "complex64"])
def test_preprocess_input_rejects_non_real_backend_tensors(dtype):
    if dtype == "complex64" and keras.backend.backend() == "tensorflow":
        tensor = __import__("tensorflow").zeros((1, 4, 4, 3), "complex64")
    else:
        tensor = keras.ops.convert_to_tensor(np.zeros((1, 4, 4, 3), dtype))
    with pytest.raises(InputError, match="real numbers"):
        preprocess_input(tensor)


@pytest.mark.backend_independent
@pytest.mark.parametrize("stream", [["rgb"], None, "RGB"])
def test_preprocess_input_rejects_bad_streams(stream):
    with pytest.raises(ValueError, match="`stream` must be 'rgb' or 'flow'"):
        preprocess_input(np.zeros((1, 3)), stream=stream)


def test_preprocess_input_checks_eager_backend_tensors():
    with pytest.raises(InputError, match="255"):
        preprocess_input(keras.ops.convert_to_tensor(np.full((1, 4, 4, 3), 256.0, "float32")))
    out = preprocess_input(keras.ops.convert_to_tensor(np.full((1, 4, 4, 3), 255.0, "float32")))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), 1.0)


@pytest.mark.backend_independent
def test_preprocess_input_still_takes_large_flow():
    np.testing.assert_allclose(preprocess_input(np.full((1, 4, 4, 2), 1e6), stream="flow"), 1.0)


# -- 5. decode_predictions --


@pytest.mark.backend_independent
@pytest.mark.parametrize("top", [0, -1, None, True, "5", 2.5])
def test_decode_predictions_rejects_bad_top(top):
    with pytest.raises(ValueError, match="`top` must be a positive int"):
        decode_predictions(np.zeros((1, 400)), top=top)


@pytest.mark.backend_independent
def test_decode_predictions_rejects_bad_datasets():
    for dataset in (["kinetics400"], "kinetics-400"):
        with pytest.raises(ValueError, match="`dataset` must be one of"):
            decode_predictions(np.zeros((1, 400)), dataset=dataset)


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "preds,match",
    [
        (np.zeros((1, 400), bool), "real numbers; got dtype bool"),
        (np.full((1, 400), "a"), "real numbers"),
        (np.zeros(400), r"\(batch, classes\)"),
        (np.full((1, 400), np.nan), "NaN"),
        (np.zeros((1, 17)), "Cannot tell the label set of 17 classes"),
        (np.zeros((1, 600)), None),
    ],
)
def test_decode_predictions_rejects_bad_predictions(preds, match):
    if match is None:  # a valid Kinetics-600 row
        assert len(decode_predictions(preds, top=3)[0]) == 3
        return
    with pytest.raises(InputError, match=match):
        decode_predictions(preds)
