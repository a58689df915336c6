"""Writing a ``.npy`` file frame by frame, when the number of frames is known only at the end."""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from keras_i3d.utils.files import atomic_path

#: Bytes reserved for the ``.npy`` header: enough for any shape, a multiple of 64 as the format asks.
_HEADER_BYTES = 256


class NpyStreamWriter:
    """Appends ``(frame_shape)`` arrays to an open ``.npy`` file; `finish` writes the final shape.

    Attributes:
        frames: how many frames were written so far.
    """

    def __init__(self, file, frame_shape: tuple[int, ...], dtype):
        self._file = file
        self._frame_shape = tuple(int(d) for d in frame_shape)
        self._dtype = np.dtype(dtype)
        self.frames = 0
        self._write_header()

    def _write_header(self) -> None:
        header = repr(
            {
                "descr": np.lib.format.dtype_to_descr(self._dtype),
                "fortran_order": False,
                "shape": (self.frames, *self._frame_shape),
            }
        )
        prefix = b"\x93NUMPY\x01\x00"
        body = header.encode("latin1")
        length = _HEADER_BYTES - len(prefix) - 2
        self._file.seek(0)
        self._file.write(prefix + struct.pack("<H", length) + body.ljust(length - 1, b" ") + b"\n")
        self._file.seek(0, os.SEEK_END)

    def write(self, frames: np.ndarray) -> None:
        """Appends one frame ``frame_shape`` or several ``(n, *frame_shape)``."""
        frames = np.asarray(frames, self._dtype)
        if frames.shape == self._frame_shape:
            frames = frames[None]
        if frames.shape[1:] != self._frame_shape:
            raise ValueError(f"Expected frames of shape {self._frame_shape}; got {frames.shape}.")
        self._file.write(np.ascontiguousarray(frames).tobytes())
        self.frames += len(frames)

    def finish(self) -> None:
        """Writes the final shape into the header."""
        self._write_header()
        self._file.flush()


@contextlib.contextmanager
def npy_stream(path: str | os.PathLike, frame_shape: tuple[int, ...], dtype) -> Iterator[NpyStreamWriter]:
    """Writes ``path`` (a ``.npy`` of shape ``(frames, *frame_shape)``) atomically, frame by frame.

    Nothing appears at ``path`` unless the block completes; readers may
    ``np.load(path, mmap_mode="r")`` the result without reading it whole.
    """
    with atomic_path(Path(path), suffix=".npy") as tmp, open(tmp, "wb") as f:
        writer = NpyStreamWriter(f, frame_shape, dtype)
        yield writer
        writer.finish()
