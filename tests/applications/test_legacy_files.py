"""Files written by the previous release (tests/data/legacy, before the package moved into folders) load.

The ``.keras`` files and the inflated weights were written on TensorFlow by
``tests/data/legacy/make_legacy_files.py``; every backend loads them, rebuilds today's
classes and reproduces the stored outputs (other backends differ by float rounding only).
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import keras_i3d

LEGACY = Path(__file__).resolve().parents[1] / "data" / "legacy"
RTOL = 1e-4  # of the output's scale


@pytest.fixture(scope="module")
def expected():
    with np.load(LEGACY / "expected.npz") as data:
        return dict(data)


def _assert_close(got, want):
    got = keras.ops.convert_to_numpy(got)
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    assert scale > 0
    np.testing.assert_allclose(got, want, rtol=0, atol=RTOL * scale)


def test_i3d_file(expected):
    model = keras_i3d.load_model(LEGACY / "i3d_small.keras")
    assert type(model).__module__ == "keras_i3d.model.i3d_model" and type(model) is keras_i3d.I3DModel
    _assert_close(model(expected["i3d_input"]), expected["i3d_output"])


def test_fused_i3d_file(expected):
    model = keras_i3d.load_model(LEGACY / "i3d_fused.keras")
    assert type(model).__module__ == "keras_i3d.model.i3d_model"
    assert any(type(layer).__module__ == "keras_i3d.model.fused_layers" for layer in model.layers)
    _assert_close(model(expected["i3d_input"]), expected["fused_output"])


def test_two_stream_file(expected):
    model = keras_i3d.load_model(LEGACY / "two_stream.keras")
    assert type(model).__module__ == "keras_i3d.model.i3d_model"
    for stream in ("RGB", "Flow"):
        assert type(model.get_layer(stream)).__module__ == "keras_i3d.model.i3d_model"
    inputs = {"rgb": expected["two_stream_rgb"], "flow": expected["two_stream_flow"]}
    _assert_close(model(inputs), expected["two_stream_output"])


def test_keras_load_model_after_importing_keras_i3d(expected):
    model = keras.saving.load_model(LEGACY / "i3d_small.keras")
    assert type(model) is keras_i3d.I3DModel
    _assert_close(model(expected["i3d_input"]), expected["i3d_output"])


def test_inflated_weights_file(expected):
    model = keras_i3d.load_inflated(LEGACY / "inflated_cnn.weights.h5")
    modules = {type(layer).__module__ for layer in model.layers}
    assert "keras_i3d.inflation.layers" in modules
    assert not {m for m in modules if m.startswith("keras_i3d.") and m.count(".") == 1}  # no old flat module
    _assert_close(model(expected["inflated_input"]), expected["inflated_output"])
