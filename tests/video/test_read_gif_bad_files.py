"""read_gif refuses files that are not readable GIFs, and clips above the memory limit (hardening item 12)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keras_i3d.errors import VideoError
from keras_i3d.video.decode import read_gif
from tests.support.bad_files import RNG, write_file, write_gif, write_huge_gif_header

pytestmark = pytest.mark.backend_independent


def _truncated(path):
    data = write_gif(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt(path):
    data = bytearray(write_gif(path).read_bytes())
    data[1000:] = RNG.integers(0, 256, len(data) - 1000, dtype=np.uint8).tobytes()  # after header and palette
    path.write_bytes(bytes(data))
    return path


def _png(path):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path, format="PNG")
    return path


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: write_file(tmp / "text.gif", b"hello, not a gif"), "not a readable GIF"),
        (lambda tmp: write_file(tmp / "empty.gif", b""), "is empty"),
        (_truncated, "not a readable GIF|has no frames"),
        (_corrupt, "not a readable GIF"),
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: tmp / "missing.gif", "does not exist"),
        (lambda tmp: "/dev/null", "not a regular file"),
        (write_huge_gif_header, "too large to decode safely"),
        (_png, "is a PNG image, not a GIF"),
    ],
)
def test_read_gif_rejects_what_is_not_a_readable_gif(tmp_path, make, match):
    path = (
        make(tmp_path / "clip.gif") if make in (_truncated, _corrupt, write_huge_gif_header, _png) else make(tmp_path)
    )
    with pytest.raises(VideoError, match=match):
        read_gif(path)


def test_read_gif_refuses_clips_above_the_memory_limit(tmp_path):
    with pytest.raises(VideoError, match="refusing to read it"):
        read_gif(write_gif(tmp_path / "clip.gif", frames=3, size=64), max_bytes=2 * 64 * 64 * 3)
