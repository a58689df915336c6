"""Hostile files shared by the bad-input tests (tests/video, tests/cli)."""

from __future__ import annotations

import struct

import numpy as np
from PIL import Image

RNG = np.random.default_rng(6)


def clip(frames=2, size=64, channels=3, batch=1):
    return RNG.uniform(-1, 1, (batch, frames, size, size, channels)).astype("float32")


def write_file(path, data):
    path.write_bytes(data)
    return path


# -- 12. video files --


def write_gif(path, frames=3, size=224):
    images = [Image.fromarray(RNG.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(frames)]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:])
    return path


def write_huge_gif_header(path):
    # A valid GIF header and image descriptor claiming 65535x65535 pixels.
    header = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x08\x02\x4c\x01\x00;"
    path.write_bytes(header + descriptor)
    return path
