"""FVD's frame preprocessing: the reference's resize, and the other conventions papers use.

The reference (google-research ``frechet_video_distance.preprocess``) resizes
every frame straight to 224x224 with TF1's legacy bilinear
(``tf.compat.v1.image.resize_bilinear``, ``align_corners=False``,
``half_pixel_centers=False``: source pixel ``i * in / out``), then scales
``2 * x / 255 - 1``. This module computes that in NumPy float32, in the
kernel's own order of operations, and two other conventions as named modes:

- ``"reference"``: the above (the default everywhere).
- ``"half_pixel"``: the half-pixel grid of TF2 and PyTorch
  (``F.interpolate(mode="bilinear", align_corners=False)``, source pixel
  ``(i + 0.5) * in / out - 0.5`` clamped at 0), used by the PyTorch ports.
- ``"center_crop"``: the short side resized to 224 (half-pixel grid, the
  long side rounded up), then the centre 224x224 crop, so the aspect ratio is
  kept (VideoGPT, content-debiased FVD).
"""

from __future__ import annotations

import math

import numpy as np

from keras_i3d.fvd.defaults import RESIZE_MODES

#: The I3D input size FVD uses.
FVD_SIZE = 224


def _weights(in_size: int, out_size: int, half_pixel: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output index: the lower and upper source index and the float32 weight of the upper one."""
    scale = np.float32(in_size) / np.float32(out_size)
    index = np.arange(out_size, dtype=np.float32)
    if half_pixel:
        source = np.maximum((index + np.float32(0.5)) * scale - np.float32(0.5), np.float32(0))
    else:  # TF1's legacy scaler
        source = index * scale
    floor = np.floor(source)
    lower = np.maximum(floor.astype(np.int64), 0)
    upper = np.minimum(np.ceil(source).astype(np.int64) if not half_pixel else lower + 1, in_size - 1)
    return lower, upper, (source - floor).astype(np.float32)


def bilinear_resize(frames: np.ndarray, height: int, width: int, half_pixel: bool = False) -> np.ndarray:
    """Bilinear resize of frames ``(..., H, W, C)`` to ``(..., height, width, C)`` in float32.

    ``half_pixel=False`` is TF1's ``resize_bilinear`` (the FVD reference); ``True`` is
    the half-pixel grid of TF2 / PyTorch without antialiasing.
    """
    x = np.asarray(frames, np.float32)
    ylo, yhi, ylerp = _weights(x.shape[-3], height, half_pixel)
    xlo, xhi, xlerp = _weights(x.shape[-2], width, half_pixel)
    xlerp = xlerp[:, None]
    rows_lo, rows_hi = x[..., ylo, :, :], x[..., yhi, :, :]
    top_left, top_right = rows_lo[..., xlo, :], rows_lo[..., xhi, :]
    bottom_left, bottom_right = rows_hi[..., xlo, :], rows_hi[..., xhi, :]
    top = top_left + (top_right - top_left) * xlerp  # the kernel's compute_lerp, term by term
    bottom = bottom_left + (bottom_right - bottom_left) * xlerp
    return top + (bottom - top) * ylerp[:, None, None]


def preprocess_for_fvd(videos: np.ndarray, mode: str = "reference", size: int = FVD_SIZE) -> np.ndarray:
    """Videos ``(N, T, H, W, 3)`` with values in [0, 255] -> I3D clips ``(N, T, size, size, 3)`` in [-1, 1].

    Args:
        videos: uint8 or float RGB videos, values 0-255.
        mode: one of `RESIZE_MODES` (default: the reference's).
        size: the output side (224 for FVD).

    Raises:
        ValueError: for another mode, or videos that are not ``(N, T, H, W, 3)``.
    """
    if mode not in RESIZE_MODES:
        raise ValueError(f"`mode` must be one of {', '.join(RESIZE_MODES)}; got {mode!r}.")
    videos = np.asarray(videos)
    if videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"FVD takes RGB videos (N, T, H, W, 3); got shape {videos.shape}.")
    if mode == "center_crop":
        height, width = videos.shape[2:4]
        scale = size / min(height, width)
        new_h, new_w = max(size, math.ceil(height * scale)), max(size, math.ceil(width * scale))
        resized = bilinear_resize(videos, new_h, new_w, half_pixel=True)
        top, left = (new_h - size) // 2, (new_w - size) // 2
        resized = resized[:, :, top : top + size, left : left + size]
    else:
        resized = bilinear_resize(videos, size, size, half_pixel=mode == "half_pixel")
    return np.float32(2.0) * resized / np.float32(255.0) - np.float32(1.0)
