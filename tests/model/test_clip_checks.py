"""keras_i3d.check_clip: non-finite, unscaled and misshapen clips are refused with one sentence.

Hardening items 2, 3.
"""

from __future__ import annotations

import numpy as np
import pytest

from keras_i3d.errors import InputError
from keras_i3d.model import clip_checks
from tests.support.bad_files import RNG, clip

pytestmark = pytest.mark.backend_independent

# -- 2, 3. non-finite and unscaled arrays at the package's entry points --


@pytest.mark.parametrize(
    "values,match",
    [
        (np.nan, r"1 NaN value\(s\) \(first at index \(0, 0, 0, 0, 0\)\)"),
        (np.inf, "infinite"),
        (-np.inf, "infinite"),
    ],
)
def test_check_clip_rejects_non_finite_values(values, match):
    x = clip()
    x[0, 0, 0, 0, 0] = values
    with pytest.raises(InputError, match=match):
        clip_checks.check_clip(x)


@pytest.mark.parametrize(
    "x,match",
    [
        (RNG.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8), r"raw RGB in \[0, 255\]: scale it with"),
        (np.full((2, 64, 64, 3), 3.0, "float32"), r"values in \[3, 3\]"),
        (np.full((2, 64, 64, 2), -5.0, "float32"), "preprocess_input\\(flow, stream='flow'\\)"),
        (np.zeros((2, 64, 64, 3), bool), "real numbers; got dtype bool"),
        (np.array([["a"]]), "real numbers"),
        (None, "is None"),
        (np.zeros((0, 2, 64, 64, 3), "float32"), "empty batch"),
        (np.zeros((2, 64, 64, 3), "complex64"), "real numbers"),
    ],
)
def test_check_clip_rejects_what_the_network_cannot_take(x, match):
    channels = 2 if x is not None and x.ndim == 4 and x.shape[-1] == 2 else 3
    with pytest.raises(InputError, match=match):
        clip_checks.check_clip(x, channels=channels)


def test_check_clip_hints_raw_rgb_only_for_values_that_look_like_it():
    with pytest.raises(InputError) as info:
        clip_checks.check_clip(np.full((1, 32, 32, 3), 1.0000001))
    assert "1.0000001" in str(info.value) and "raw RGB" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(value_range=(1, -1)), "value_range"), (dict(input_shape=(None, 3)), "input_shape")],
)
def test_check_clip_checks_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clip_checks.check_clip(np.zeros((1, 32, 32, 3)), **kwargs)


def test_check_clip_accepts_a_clip_and_adds_the_batch_axis():
    out = clip_checks.check_clip(clip()[0])
    assert out.shape == (1, 2, 64, 64, 3) and out.dtype == np.float32
