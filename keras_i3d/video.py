"""Reading video frames."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from keras_i3d.errors import VideoError

#: Largest decoded clip `read_gif` returns, in bytes (``frames * height * width * 3``).
MAX_DECODED_BYTES = 4 << 30


def check_video_file(path: str | os.PathLike) -> Path:
    """Returns ``path`` as a `Path` if it is a non-empty regular file.

    Raises:
        VideoError: saying it does not exist, is a folder, is not a regular
            file (a device such as ``/dev/null``, a pipe) or is empty.
    """
    path = Path(path)
    if path.is_dir():
        raise VideoError(f"{path} is a directory, not a video file.")
    if not path.exists():
        raise VideoError(f"Video file {path} does not exist.")
    if not path.is_file():
        raise VideoError(f"{path} is not a regular file (a device or a pipe?).")
    if path.stat().st_size == 0:
        raise VideoError(f"Video file {path} is empty.")
    return path


def read_gif(path: str | os.PathLike, max_bytes: int = MAX_DECODED_BYTES) -> np.ndarray:
    """Reads every frame of an (animated) GIF as RGB.

    This is the exact decoding of DeepMind's sample clip used for the parity
    reference: each frame through ``PIL.Image.convert("RGB")``.

    Args:
        path: the GIF file.
        max_bytes: refuse clips that decode to more bytes than this.

    Returns:
        uint8 array ``(frames, height, width, 3)``.

    Raises:
        VideoError: if the file is missing, a folder, empty, not a GIF,
            truncated or corrupt, claims more pixels than PIL's safety limit,
            or decodes to more than ``max_bytes``.
    """
    path = check_video_file(path)
    frames = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format != "GIF":
                    raise VideoError(f"{path} is a {image.format} image, not a GIF.")
                width, height = image.size
                for frame in ImageSequence.Iterator(image):
                    if (len(frames) + 1) * width * height * 3 > max_bytes:
                        raise VideoError(
                            f"{path} decodes to more than {max_bytes / 2**30:g} GiB "
                            f"({width}x{height} pixels per frame); refusing to read it."
                        )
                    frames.append(np.asarray(frame.convert("RGB")))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise VideoError(f"{path} claims frames too large to decode safely: {e}") from e
    except (OSError, EOFError, SyntaxError, ValueError, IndexError) as e:  # PIL's ways of saying "corrupt"
        if isinstance(e, VideoError):
            raise
        raise VideoError(f"{path} is not a readable GIF (truncated or corrupt?): {e}") from e
    if not frames:
        raise VideoError(f"{path} has no frames.")
    return np.stack(frames)
