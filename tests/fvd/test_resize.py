"""FVD's frame preprocessing against TensorFlow's and PyTorch's own resize kernels."""

from __future__ import annotations

import numpy as np
import pytest

from keras_i3d.fvd.resize import bilinear_resize, preprocess_for_fvd

pytestmark = pytest.mark.backend_independent  # NumPy, checked against TF1's and PyTorch's kernels


@pytest.mark.parametrize("shape", [(64, 64, 224, 224), (240, 320, 224, 224), (100, 37, 224, 224), (300, 500, 224, 150)])
def test_the_reference_resize_is_tf1_resize_bilinear_exactly(shape):
    tf = pytest.importorskip("tensorflow")
    h, w, out_h, out_w = shape
    frames = np.random.default_rng(h).integers(0, 256, (2, h, w, 3)).astype(np.uint8)
    expected = tf.compat.v1.image.resize_bilinear(frames, (out_h, out_w)).numpy()
    np.testing.assert_array_equal(bilinear_resize(frames, out_h, out_w), expected)


def test_the_half_pixel_mode_is_pytorch_interpolate():
    torch = pytest.importorskip("torch")
    frames = np.random.default_rng(0).integers(0, 256, (2, 240, 320, 3)).astype(np.uint8)
    expected = torch.nn.functional.interpolate(
        torch.from_numpy(frames).permute(0, 3, 1, 2).float(), size=(224, 224), mode="bilinear", align_corners=False
    )
    # float32 rounding only: PyTorch sums the four terms in another order
    np.testing.assert_allclose(bilinear_resize(frames, 224, 224, True), expected.permute(0, 2, 3, 1).numpy(), atol=5e-3)


def test_preprocessing_scales_to_minus_one_one_and_crops_the_centre():
    videos = np.zeros((1, 2, 48, 96, 3), np.uint8)
    videos[..., 24:72, :] = 255  # a white centre square on black
    reference = preprocess_for_fvd(videos)
    assert reference.shape == (1, 2, 224, 224, 3) and reference.dtype == np.float32
    assert reference.min() == -1.0 and reference.max() == 1.0
    cropped = preprocess_for_fvd(videos, "center_crop")
    assert cropped.shape == (1, 2, 224, 224, 3)  # only the square is left (its edges blend with the black)
    assert np.all(cropped[:, :, :, 3:-3] == 1.0) and cropped[:, :, :, 0].max() < 1.0
    assert preprocess_for_fvd(np.full((1, 1, 5, 7, 3), 255.0), "half_pixel").min() == 1.0


def test_bad_preprocessing_arguments():
    with pytest.raises(ValueError, match="must be one of reference, half_pixel, center_crop"):
        preprocess_for_fvd(np.zeros((1, 9, 8, 8, 3)), "bicubic")
    with pytest.raises(ValueError, match=r"RGB videos \(N, T, H, W, 3\); got shape \(9, 8, 8, 3\)"):
        preprocess_for_fvd(np.zeros((9, 8, 8, 3)))
