"""Synthetic videos for the tests, written with PyAV: moving shapes, odd sizes, odd frame rates."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

av = __import__("pytest").importorskip("av")


def moving_square(
    frames: int,
    height: int = 240,
    width: int = 320,
    step: tuple[int, int] = (0, 4),
    side: int = 40,
    start: tuple[int, int] | None = None,
) -> np.ndarray:
    """A textured square moving ``step = (dy, dx)`` pixels per frame over a textured background.

    Texture (not flat colour) gives optical flow something to lock on to.
    """
    rng = np.random.default_rng(0)
    background = (rng.uniform(0, 1, (height // 8 + 1, width // 8 + 1)) * 80 + 40).astype(np.uint8)
    background = np.kron(background, np.ones((8, 8), np.uint8))[:height, :width]
    pattern = (rng.uniform(0, 1, (side // 4 + 1, side // 4 + 1)) * 100 + 155).astype(np.uint8)
    pattern = np.kron(pattern, np.ones((4, 4), np.uint8))[:side, :side]
    y0, x0 = start if start is not None else ((height - side) // 2, (width - side) // 2)
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        canvas = np.pad(background, side)  # the square may leave the frame
        y, x = y0 + t * step[0] + side, x0 + t * step[1] + side
        if -side < y - side < height and -side < x - side < width:
            canvas[y : y + side, x : x + side] = pattern
        out[t] = canvas[side : side + height, side : side + width, None]
    return out


def numbered_frames(frames: int, height: int = 48, width: int = 64) -> np.ndarray:
    """Frames whose brightness encodes their index (``8 * i + 4``), to check which frame was picked."""
    values = (np.arange(frames) * 8 + 4) % 256
    return np.broadcast_to(values[:, None, None, None], (frames, height, width, 3)).astype(np.uint8)


def write_video(
    path: Path,
    frames: np.ndarray,
    fps: float = 25,
    times: list[float] | None = None,
    codec: str = "libx264",
    rotation: int = 0,
    audio: bool = False,
    faststart: bool = False,
) -> Path:
    """Writes uint8 RGB ``frames`` as a video; ``times`` (seconds) makes a variable frame rate.

    ``faststart``: an MP4 with its index first, as web servers serve them.
    """
    path = Path(path)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w", options={"movflags": "faststart"} if faststart else None) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        odd = frames.shape[1] % 2 or frames.shape[2] % 2
        stream.pix_fmt = "yuv444p" if odd else "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "12", "preset": "ultrafast"}
        if times is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        audio_stream = container.add_stream("aac", rate=16000) if audio else None
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if times is not None:
                frame.pts = round(times[i] * 1000)
                frame.time_base = Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if audio_stream is not None:
            _write_audio(container, audio_stream, seconds=len(frames) / fps)
    return path


def write_audio_only(path: Path, seconds: float = 1.0) -> Path:
    """An audio-only file (AAC in MP4 / M4A)."""
    with av.open(str(path), "w") as container:
        _write_audio(container, container.add_stream("aac", rate=16000), seconds)
    return path


def _write_audio(container, stream, seconds: float) -> None:
    samples = int(16000 * seconds)
    tone = (np.sin(np.arange(samples) * 2 * np.pi * 440 / 16000) * 0.2).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = tone[None, start : start + 1024]
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate = 16000
        frame.pts = start
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def left_right_dataset(root: Path, short_side: int) -> Path:
    """A `keras-i3d dataset` at ``root/ds`` of two classes, 3 videos each, of a square moving left (light on
    dark) or right (dark on light: a random frozen backbone's pooled features see that); returns its folder."""
    from keras_i3d.training.dataset_writer import write_dataset

    for label, dx in (("left", -3), ("right", 3)):
        (root / "src" / label).mkdir(parents=True)
        for i in range(3):
            start = (6 + 3 * i, 40 - 6 * i if dx > 0 else 24 + 6 * i)
            frames = moving_square(12, 40, 64, (0, dx), 12, start)
            write_video(root / "src" / label / f"{i}.mp4", frames if dx < 0 else 255 - frames)
    write_dataset(root / "src", root / "ds", short_side=short_side, workers=1, progress=False)
    return root / "ds"


#: The classes of `texture_motion`: a full-frame texture moving up or down, or zooming in or out.
TEXTURE_MOTIONS = ("down", "up", "zoom_in", "zoom_out")


def texture_motion(kind: str, rng: np.random.Generator, frames: int = 32, height: int = 128, width: int = 170):
    """uint8 frames of a random blocky texture filling the frame, moving ``kind`` (one of `TEXTURE_MOTIONS`).

    Texture, speed (1.5-3 px per frame), zoom rate (2-4 % per frame) and zoom centre are random, so any
    single frame could belong to any class: only the motion tells them apart.
    """
    side = 640
    block = int(rng.integers(4, 11))
    coarse = rng.uniform(20, 235, (side // block + 1, side // block + 1, 3))
    texture = np.kron(coarse, np.ones((block, block, 1)))[:side, :side].astype(np.uint8)
    speed, rate = rng.uniform(1.5, 3.0), rng.uniform(1.02, 1.04)
    centre = np.array([side / 2, side / 2]) + rng.uniform(-40, 40, 2)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    rows, cols = rows - height / 2, cols - width / 2
    out = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        dt = t - frames / 2
        shift = {"down": -speed * dt, "up": speed * dt}.get(kind, 0.0)  # content moves down: sample from above
        scale = {"zoom_in": rate**dt, "zoom_out": rate**-dt}.get(kind, 1.0)
        y = np.clip(np.round(centre[0] + rows / scale + shift), 0, side - 1).astype(int)
        x = np.clip(np.round(centre[1] + cols / scale), 0, side - 1).astype(int)
        out[t] = texture[y, x]
    return out


def texture_motion_dataset(root: Path, per_class: int, seed: int, short_side: int = 128) -> Path:
    """A `keras-i3d dataset` at ``root/ds`` of `texture_motion` videos, ``per_class`` of each; returns its folder."""
    from keras_i3d.training.dataset_writer import write_dataset

    rng = np.random.default_rng(seed)
    for kind in TEXTURE_MOTIONS:
        (root / "src" / kind).mkdir(parents=True)
        for i in range(per_class):
            write_video(root / "src" / kind / f"{i:03d}.mp4", texture_motion(kind, rng))
    write_dataset(root / "src", root / "ds", short_side=short_side, workers=1, progress=False)
    return root / "ds"
