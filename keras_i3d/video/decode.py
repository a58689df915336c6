"""Reading video frames: any video FFmpeg reads (PyAV, streaming) and DeepMind's sample GIFs.

Videos are decoded one frame at a time, so memory never holds more than the
frames a caller keeps. Frames are resampled to a fixed rate by their
presentation timestamps (DeepMind used 25 fps): each output instant ``k / fps``
gets the frame on screen at that instant, so frames are dropped or repeated by
time, never by index, and variable-frame-rate videos come out evenly spaced.
Rotation metadata (phone videos) is applied, so frames come out upright.

PyAV is an optional dependency (``pip install "keras-i3d[video]"``); the GIF
reader needs only Pillow.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageSequence

from keras_i3d.errors import MissingExtraError, VideoError

try:  # the [video] extra
    import av
except ImportError:  # pragma: no cover - exercised in a process without PyAV
    av = None

#: Largest decoded clip `read_gif` / `read_video` return, in bytes (``frames * height * width * 3``).
MAX_DECODED_BYTES = 4 << 30
#: DeepMind's frame rate.
DEFAULT_FPS = 25.0
#: The longest a frame may stay on screen when resampling (seconds): a file whose timestamps jump
#: further (a 3-frame file "lasting" 10 hours) is refused, never expanded into hours of repeats.
MAX_FRAME_HOLD = 10.0
#: File suffixes folders are searched for (anything else FFmpeg reads works when named directly).
VIDEO_SUFFIXES = (
    ".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ogv", ".3gp", ".ts", ".gif",
)  # fmt: skip
#: The command that installs the video dependencies.
VIDEO_EXTRA = 'pip install "keras-i3d[video]"'


def require_extra(module, name: str, feature: str):
    """Returns ``module``, or raises `MissingExtraError` naming the extra when it is ``None``."""
    if module is None:
        raise MissingExtraError(f"{feature} needs {name}, which is not installed: {VIDEO_EXTRA}")
    return module


def check_video_file(path: str | os.PathLike) -> Path:
    """Returns ``path`` as a `Path` if it is a non-empty regular file.

    Raises:
        VideoError: saying it does not exist, is a folder, is not a regular
            file (a device such as ``/dev/null``, a pipe) or is empty.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise VideoError(f"A video must be given as a path; got {type(path).__name__}.")
    path = Path(path)
    if path.is_dir():
        raise VideoError(f"{path} is a directory, not a video file.")
    if not path.exists():
        raise VideoError(f"Video file {path} does not exist.")
    if not path.is_file():
        raise VideoError(f"{path} is not a regular file (a device or a pipe?).")
    if path.stat().st_size == 0:
        raise VideoError(f"Video file {path} is empty (0 bytes).")
    return path


#: DeepMind's flow GIFs draw flow (model units) as the colour ``(u, v, 0) + 0.5``: blue is this constant.
FLOW_GIF_BLUE = (127, 128)


def is_flow_gif(frames: np.ndarray) -> bool:
    """Whether GIF frames are a picture of optical flow in DeepMind's style, not an RGB video.

    DeepMind's ``*_flow.gif`` clips draw the network's flow input ``(u, v)`` in
    red and green around mid-grey, with a constant blue channel.
    """
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.size == 0:
        return False
    blue = frames[..., 2]
    return int(blue.min()) == int(blue.max()) and int(blue.min()) in FLOW_GIF_BLUE


def flow_from_gif(frames: np.ndarray) -> np.ndarray:
    """The flow input (model units, ``[-0.5, 0.5]``) drawn in a DeepMind-style flow GIF (lossy: 8 bits).

    Returns:
        float32 ``(frames, height, width, 2)``.
    """
    return np.clip(frames[..., :2].astype(np.float32) / 255.0 - 0.5, -1.0, 1.0)


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
                    _check_budget(path, len(frames) + 1, height, width, max_bytes)
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


def _check_budget(path: Path, frames: int, height: int, width: int, max_bytes: int) -> None:
    if frames * height * width * 3 > max_bytes:
        raise VideoError(
            f"{path} decodes to more than {max_bytes / 2**30:g} GiB ({width}x{height} pixels per frame); "
            "refusing to read it whole (stream it with iter_frames instead)."
        )


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """What a video file's container says about its video stream.

    Attributes:
        path: the file.
        width: frame width in pixels, as displayed (after rotation).
        height: frame height in pixels, as displayed.
        fps: average frame rate, ``None`` if the container does not say.
        duration: seconds, ``None`` if the container does not say.
        frames: the number of frames the container declares (0 if unknown).
        rotation: counterclockwise degrees the frames are rotated for display.
        codec: the codec's name, e.g. ``"h264"``.
    """

    path: Path
    width: int
    height: int
    fps: float | None
    duration: float | None
    frames: int
    rotation: int
    codec: str


def _open(path: Path):
    require_extra(av, "PyAV", "Decoding videos")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as e:
        raise VideoError(f"{path} is not a readable video (unknown format, truncated or corrupt): {_reason(e)}") from e
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams}) or ["no streams"]
        container.close()
        raise VideoError(f"{path} has no video stream (it holds: {', '.join(kinds)}).")
    return container


def _reason(error: Exception) -> str:
    return getattr(error, "strerror", None) or str(error)


def _rotation(frame) -> int:
    """Counterclockwise display rotation of a frame, in quarter turns expressed as degrees (0-270)."""
    return int(round((getattr(frame, "rotation", 0) or 0) / 90.0)) % 4 * 90


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Reads a video's stream properties (decodes one frame, for the rotation).

    Raises:
        VideoError: if the file is missing, not a video, has no video stream
            or no decodable frame.
        MissingExtraError: without PyAV.
    """
    path = check_video_file(path)
    if av is None and _is_gif(path):  # a GIF needs only Pillow
        times = list(_gif_frame_times(path))
        height, width = times[0][2].shape[:2]
        duration = float(times[-1][0] + times[-1][1])
        return VideoInfo(path, width, height, len(times) / duration, duration, len(times), 0, "gif")
    with _open(path) as container:
        stream = container.streams.video[0]
        first = next(_decode(container, stream, path), None)
        if first is None:
            raise VideoError(f"{path} has a video stream but no decodable frame.")
        rotation = _rotation(first)
        width, height = first.width, first.height
        if rotation in (90, 270):
            width, height = height, width
        fps = float(stream.average_rate) if stream.average_rate else None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1e6
        else:
            duration = None
        frames = int(stream.frames or 0)
        return VideoInfo(path, width, height, fps, duration, frames, rotation, stream.codec_context.name)


def _decode(container, stream, path: Path):
    """Yields decoded frames; corrupt data becomes `VideoError`."""
    stream.thread_type = "AUTO"
    try:
        yield from container.decode(stream)
    except av.FFmpegError as e:
        raise VideoError(f"{path} could not be decoded (truncated or corrupt): {_reason(e)}") from e


def _frame_times(frames, stream) -> Iterator[tuple[Fraction, Fraction, object]]:
    """``(time, duration, frame)`` in seconds, from presentation timestamps where the file has them."""
    rate = Fraction(stream.average_rate) if stream.average_rate else Fraction(DEFAULT_FPS)
    time_base = Fraction(stream.time_base) if stream.time_base else None
    previous = None
    step = 1 / rate
    for index, frame in enumerate(frames):
        if frame.pts is not None and time_base is not None:
            time = frame.pts * time_base
        else:
            time = index * step if previous is None else previous + step
        if previous is not None and time <= previous:  # broken or repeated timestamps: keep going forward
            time = previous + step
        elif previous is not None:
            step = time - previous
        duration = frame.duration * time_base if frame.duration and time_base is not None else step
        previous = time
        yield time, duration, frame


def iter_frames(path: str | os.PathLike, fps: float | None = DEFAULT_FPS) -> Iterator[np.ndarray]:
    """Decodes a video one frame at a time, resampled to ``fps`` by timestamp.

    Output frame ``k`` is the frame on screen at ``k / fps`` seconds after the
    first frame, so a 30 fps video gives 25 frames per second of video (some
    dropped), a 10 fps one gives 25 (some repeated), and variable frame rates
    come out evenly spaced. The number of frames is ``ceil(duration * fps)``.

    Args:
        path: any video file FFmpeg reads (mp4, webm, avi, mkv, gif, ...).
        fps: output frame rate, or ``None`` for every decoded frame as is.

    Yields:
        uint8 RGB frames ``(height, width, 3)``, upright (rotation metadata applied).

    Raises:
        VideoError: for a missing, empty, unreadable or corrupt file, a file
            without a video stream, or one with no decodable frame. A file
            that breaks off mid-stream raises after the frames before the break.
        MissingExtraError: without PyAV (``pip install "keras-i3d[video]"``).
        ValueError: for ``fps`` that is not a positive number.
    """
    if fps is not None and (isinstance(fps, bool) or not isinstance(fps, (int, float)) or not 0 < fps < 1e4):
        raise ValueError(f"`fps` must be a positive number or None; got {fps!r}.")
    path = check_video_file(path)
    if av is None and _is_gif(path):  # a GIF needs only Pillow
        produced = 0
        for frame in _resample(_gif_frame_times(path), fps, path):
            produced += 1
            yield frame
        if not produced:
            raise VideoError(f"{path} has no frames.")
        return
    with _open(path) as container:
        stream = container.streams.video[0]
        last: list = []
        decoded = _remember_last(_frame_times(_decode(container, stream, path), stream), last)
        produced = 0
        for frame in _resample(decoded, fps, path):
            produced += 1
            yield _to_rgb(frame)
        if not produced:
            raise VideoError(f"{path} has a video stream but no decodable frame.")
        _check_complete(path, container, stream, last)


def _remember_last(decoded, last: list):
    for item in decoded:
        last[:] = [item[0], item[1]]
        yield item


#: A video whose frames end before this share of the duration its container declares is truncated.
COMPLETE_SHARE = 0.9


def _check_complete(path: Path, container, stream, last: list) -> None:
    """Raises `VideoError` when the decoded frames end well before the duration the container declares.

    A web-style MP4 (its index first, "faststart") cut off mid-file still opens and decodes up to the
    cut: without this, its first part would pass for the whole video.
    """
    declared = None
    if stream.duration and stream.time_base:
        declared = float(stream.duration * Fraction(stream.time_base))
    elif container.duration:
        declared = container.duration / 1_000_000  # FFmpeg's AV_TIME_BASE
    if not declared or not last:
        return
    start = float(stream.start_time * Fraction(stream.time_base)) if stream.start_time and stream.time_base else 0.0
    decoded = float(last[0] + last[1]) - start
    if decoded < COMPLETE_SHARE * declared - 0.5:
        raise VideoError(
            f"{path} stops at {decoded:.2f} s of the {declared:.2f} s it declares (truncated or damaged file)."
        )


def _is_gif(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(6) in (b"GIF87a", b"GIF89a")


def _gif_frame_times(path: Path):
    """(seconds, duration, RGB frame) of each GIF frame, from the frames' own durations (Pillow only)."""
    frames = read_gif(path)
    time = Fraction(0)
    with Image.open(path) as image:
        for index, frame in enumerate(frames):
            image.seek(index)
            milliseconds = max(int(image.info.get("duration") or 40), 10)  # 0 or none: browsers' 10 ms floor
            duration = Fraction(milliseconds, 1000)
            yield time, duration, frame
            time += duration


def _resample(decoded, fps: float | None, path: Path | None = None):
    """Picks, for each output instant, the frame on screen then (see `iter_frames`)."""
    if fps is None:
        for _, _, frame in decoded:
            yield frame
        return
    period = 1 / Fraction(fps).limit_denominator(1_000_000)
    start = None
    shown = None  # (time, duration, frame) on screen
    k = 0
    for index, (time, duration, frame) in enumerate(decoded):
        if start is None:
            start = time
        if shown is not None:
            _check_hold(shown[0], time, index, path)
        while shown is not None and start + k * period < time:
            yield shown[2]
            k += 1
        shown = (time, duration, frame)
    if shown is not None:
        end = shown[0] + min(shown[1], Fraction(MAX_FRAME_HOLD))  # a last frame "lasting" hours is shown 10 s
        while start + k * period < end or k == 0:
            yield shown[2]
            k += 1


def _check_hold(time, following, index: int, path: Path | None) -> None:
    if following - time > MAX_FRAME_HOLD:
        raise VideoError(
            f"{path or 'The video'}: timestamps jump by {float(following - time):.1f} s between frames "
            f"{index - 1} and {index} (at {float(time):.1f} s); a frame is held at most {MAX_FRAME_HOLD:g} s "
            "(damaged or edited timestamps?)"
        )


def _to_rgb(frame) -> np.ndarray:
    rgb = frame.to_ndarray(format="rgb24")
    turns = _rotation(frame) // 90
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def read_video(
    path: str | os.PathLike,
    fps: float | None = DEFAULT_FPS,
    max_frames: int | None = None,
    max_bytes: int = MAX_DECODED_BYTES,
) -> np.ndarray:
    """Decodes a (short) video whole; see `iter_frames` for long ones.

    Args:
        path: the video file.
        fps: output frame rate (``None``: the decoded frames as they are).
        max_frames: stop after this many frames.
        max_bytes: refuse videos that decode to more bytes than this.

    Returns:
        uint8 array ``(frames, height, width, 3)``.

    Raises:
        VideoError: see `iter_frames`; also when the video exceeds ``max_bytes``.
    """
    path = check_video_file(path)
    frames = []
    for frame in iter_frames(path, fps):
        _check_budget(path, len(frames) + 1, frame.shape[0], frame.shape[1], max_bytes)
        frames.append(frame)
        if max_frames is not None and len(frames) >= max_frames:
            break
    return np.stack(frames)
