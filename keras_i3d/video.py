"""Reading video frames."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image, ImageSequence


def read_gif(path: str | os.PathLike) -> np.ndarray:
    """Reads every frame of an (animated) GIF as RGB.

    This is the exact decoding of DeepMind's sample clip used for the parity
    reference: each frame through ``PIL.Image.convert("RGB")``.

    Args:
        path: the GIF file.

    Returns:
        uint8 array ``(frames, height, width, 3)``.
    """
    with Image.open(path) as image:
        frames = [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]
    if not frames:
        raise ValueError(f"{path} has no frames.")
    return np.stack(frames)
