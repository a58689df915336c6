"""Optical flow as pictures: the colour-wheel coding, a legend, PNG and animated GIF files.

Direction is hue and speed is saturation: a pixel moving right is red, and
the further it moves the stronger its colour; still pixels are white. A small
colour wheel in the corner of every picture is the legend (the wheel's
rightmost point is the colour of motion to the right, its bottom the colour of
motion down).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from keras_i3d.utils.files import atomic_path

#: Pictures show at most this many frames: a PNG grid of evenly spaced frames ...
PNG_FRAMES = 8
#: ... or an animated GIF (longer flows are subsampled evenly).
GIF_FRAMES = 250


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colours flow ``(..., H, W, 2)``: hue from the direction, saturation from the speed.

    Args:
        flow: displacements ``(dx, dy)`` (pixels, or scaled to ``[-1, 1]``).
        max_magnitude: the speed shown at full saturation; default the 99th
            percentile of the speeds in ``flow`` (so one outlier does not wash out the rest).

    Returns:
        uint8 RGB ``(..., H, W, 3)``.
    """
    flow = np.asarray(flow, np.float32)
    if flow.ndim < 3 or flow.shape[-1] != 2:
        raise ValueError(f"flow must be (..., height, width, 2); got shape {flow.shape}.")
    dx, dy = flow[..., 0], flow[..., 1]
    magnitude = np.hypot(dx, dy)
    if max_magnitude is None:
        max_magnitude = float(np.percentile(magnitude, 99)) if magnitude.size else 1.0
    if not np.isfinite(max_magnitude) or max_magnitude <= 0:
        max_magnitude = 1.0
    hue = (np.arctan2(dy, dx) / (2 * np.pi)) % 1.0
    saturation = np.clip(magnitude / max_magnitude, 0.0, 1.0)
    return _hsv_to_rgb(hue, saturation)


def _hsv_to_rgb(hue: np.ndarray, saturation: np.ndarray) -> np.ndarray:
    """HSV (value 1) to uint8 RGB."""
    sector = np.floor(hue * 6.0)
    fraction = hue * 6.0 - sector
    p = 1.0 - saturation
    q = 1.0 - saturation * fraction
    t = 1.0 - saturation * (1.0 - fraction)
    one = np.ones_like(hue)
    sector = sector.astype(np.int64) % 6
    choices = [(one, t, p), (q, one, p), (p, one, t), (p, q, one), (t, p, one), (one, p, q)]
    rgb = np.zeros((*hue.shape, 3), np.float32)
    for index, (r, g, b) in enumerate(choices):
        mask = sector == index
        rgb[mask] = np.stack([r[mask], g[mask], b[mask]], axis=-1)
    return np.round(rgb * 255).astype(np.uint8)


def color_wheel(size: int = 48) -> np.ndarray:
    """The legend: a disc coloured like flow pointing from its centre (uint8 RGB, grey outside)."""
    centre = (size - 1) / 2
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) - centre
    image = flow_to_rgb(np.stack([x, y], -1), max_magnitude=centre)
    image[np.hypot(x, y) > centre] = 128
    return image


def _with_legend(image: np.ndarray) -> np.ndarray:
    size = max(16, min(image.shape[0], image.shape[1]) // 5)
    out = image.copy()
    out[2 : 2 + size, -2 - size : -2] = color_wheel(size)
    return out


def save_flow_picture(
    flow: np.ndarray,
    path: str | os.PathLike,
    max_magnitude: float | None = None,
    fps: float = 25.0,
) -> Path:
    """Writes flow as a picture a person can check by eye, with a colour-wheel legend.

    Args:
        flow: ``(H, W, 2)`` or ``(frames, H, W, 2)`` displacements.
        path: ``.png`` (one frame, or a grid of up to 8 evenly spaced frames)
            or ``.gif`` (animated, up to 250 evenly spaced frames).
        max_magnitude: speed at full colour; default the 99th percentile over all frames.
        fps: frame rate of the GIF.

    Returns:
        ``path``, written atomically.

    Raises:
        ValueError: for another suffix or a flow that is not ``(..., H, W, 2)``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".png", ".gif"):
        raise ValueError(f"A flow picture is a .png or a .gif; got {path.name}.")
    flow = np.asarray(flow, np.float32)
    if flow.ndim == 3:
        flow = flow[None]
    if flow.ndim != 4 or flow.shape[-1] != 2 or len(flow) == 0:
        raise ValueError(f"flow must be (height, width, 2) or (frames, height, width, 2); got {flow.shape}.")
    limit = GIF_FRAMES if suffix == ".gif" else PNG_FRAMES
    chosen = flow[np.unique(np.linspace(0, len(flow) - 1, min(limit, len(flow))).round().astype(int))]
    if max_magnitude is None:
        max_magnitude = float(np.percentile(np.hypot(chosen[..., 0], chosen[..., 1]), 99))
    images = [_with_legend(frame) for frame in flow_to_rgb(chosen, max_magnitude)]
    with atomic_path(path, suffix=suffix) as tmp:
        if suffix == ".gif":
            first, *rest = (Image.fromarray(image) for image in images)
            first.save(tmp, format="GIF", save_all=True, append_images=rest, duration=int(1000 / fps), loop=0)
        else:
            Image.fromarray(_grid(images)).save(tmp, format="PNG")
    return path


def _grid(images: list[np.ndarray], columns: int = 4, gap: int = 4) -> np.ndarray:
    rows = -(-len(images) // columns)
    columns = min(columns, len(images))
    height, width = images[0].shape[:2]
    out = np.full((rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3), 64, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        out[r * (height + gap) : r * (height + gap) + height, c * (width + gap) : c * (width + gap) + width] = image
    return out
