"""Frame pairs with known kinds of motion, for TV-L1 tests and benchmarks (grayscale float32 in [0, 1]).

Each case is ``(first, second)``: a smooth random texture moved by a sub-pixel shift, a zoom or a small
rotation (warped with OpenCV's bilinear ``warpAffine``: only the frames come from it; the flow's oracle
is OpenCV's TV-L1), a textured square moving over a textured background (occlusion at its edges), and
two consecutive frames of DeepMind's sample clip (real motion).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from keras_i3d.video.decode import read_gif
from keras_i3d.video.flow import grayscale
from tests.support.synthetic_videos import moving_square


def smooth_texture(height: int, width: int, seed: int = 0) -> np.ndarray:
    """float32 ``(height, width)`` in [0.1, 0.9]: noise blurred to a few pixels' correlation."""
    noise = np.random.default_rng(seed).uniform(0, 1, (height, width)).astype(np.float32)
    blurred = cv2.GaussianBlur(noise, (0, 0), 2.0)
    blurred = (blurred - blurred.min()) / (blurred.max() - blurred.min())
    return (0.1 + 0.8 * blurred).astype(np.float32)


def _warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    height, width = image.shape
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def shift(height: int, width: int, dx: float, dy: float) -> tuple[np.ndarray, np.ndarray]:
    """A texture and the same texture moved by ``(dx, dy)`` pixels."""
    first = smooth_texture(height, width)
    return first, _warp(first, np.float32([[1, 0, dx], [0, 1, dy]]))


def zoom(height: int, width: int, factor: float) -> tuple[np.ndarray, np.ndarray]:
    """A texture and the same texture scaled by ``factor`` about the centre."""
    first = smooth_texture(height, width, seed=1)
    return first, _warp(first, cv2.getRotationMatrix2D((width / 2, height / 2), 0, factor).astype(np.float32))


def rotation(height: int, width: int, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    """A texture and the same texture rotated by ``degrees`` about the centre."""
    first = smooth_texture(height, width, seed=2)
    return first, _warp(first, cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1).astype(np.float32))


def square(height: int, width: int, step: tuple[int, int] = (1, 2)) -> tuple[np.ndarray, np.ndarray]:
    """A textured square moving ``step = (dy, dx)`` over a textured background (occlusion)."""
    clip = grayscale(moving_square(2, height, width, step=step, side=max(8, min(height, width) // 3)))
    return clip[0], clip[1]


def sample_clip_pair(index: int = 10, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``index`` and ``index + 1`` of DeepMind's sample clip (224x224), optionally resized to ``size``."""
    data = Path(os.environ.get("KINETICS_I3D_DATA", "../shared/kinetics-i3d"))
    frames = read_gif(data / "v_CricketShot_g04_c01_rgb.gif")[index : index + 2]
    gray = grayscale(frames)
    if size is not None:
        gray = np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) for g in gray])
    return gray[0], gray[1]


def cases(height: int = 48, width: int = 64) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The synthetic cases at one size, by name."""
    return {
        "shift 0.4 px": shift(height, width, 0.4, 0.0),
        "shift 0.7 px diagonal": shift(height, width, 0.7, 0.7),
        "zoom 1.05": zoom(height, width, 1.05),
        "rotation 2 deg": rotation(height, width, 2.0),
        "moving square": square(height, width),
    }


def end_point_error(flow: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Per-pixel end-point error ``|flow - reference|`` (pixels)."""
    difference = np.asarray(flow, np.float64) - np.asarray(reference, np.float64)
    return np.hypot(difference[..., 0], difference[..., 1])
