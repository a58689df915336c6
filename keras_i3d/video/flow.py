"""TV-L1 optical flow, DeepMind's recipe, with a cache so each video is computed once.

The recipe (kinetics-i3d README): frames at 25 fps, converted to grayscale,
TV-L1 optical flow between consecutive frames (OpenCV's
``DualTVL1OpticalFlow``), the two displacement channels ``(x, y)`` clipped to
``[-20, 20]`` and divided by 20, then the same crop as RGB. Here each frame is
first resized like the RGB frames (short side 256, bilinear), so flow is
measured in pixels of the image the network sees; `preprocess_frames` then
crops it and scales it into ``[-1, 1]``.

Sign convention (OpenCV's): ``flow[y, x] = (dx, dy)`` says the pixel at
``(x, y)`` in frame ``t`` is at ``(x + dx, y + dy)`` in frame ``t + 1``. So
motion to the right gives positive x, motion down (rows grow downwards) gives
positive y.

Two implementations compute the same TV-L1 (`tvl1`): ``"opencv"``, OpenCV's CPU
``DualTVL1OpticalFlow`` one pair at a time (DeepMind's), and ``"keras"``, the
batched port of that algorithm in ``keras.ops`` (`keras_i3d.video.tvl1`), which
runs on any backend and device; ``"auto"`` picks the faster for the device
(`AUTO_FLOW_IMPLEMENTATION`). OpenCV with its contrib modules is an optional
dependency (``pip install "keras-i3d[video]"``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import keras
import numpy as np

from keras_i3d.errors import FileAccessError, VideoError
from keras_i3d.preprocessing import SHORT_SIDE, resize_short_side
from keras_i3d.utils.files import ensure_writable_dir, sha256_file
from keras_i3d.utils.npy_stream import npy_stream
from keras_i3d.utils.paths import keras_home
from keras_i3d.utils.progress import bar as progress_bar
from keras_i3d.video.decode import DEFAULT_FPS, iter_frames, probe_video, require_extra
from keras_i3d.video.defaults import AUTO_FLOW_IMPLEMENTATION, FLOW_BATCH_SIZE, FLOW_IMPLEMENTATIONS
from keras_i3d.video.tvl1 import CUDA_TVL1_FIELDS, tvl1_keras

try:  # the [video] extra (opencv-contrib-python-headless)
    import cv2
except ImportError:  # pragma: no cover - exercised in a process without OpenCV
    cv2 = None

#: Bumped whenever the flow computed for the same parameters would change (invalidates caches).
RECIPE_VERSION = 1
#: Grayscale weights (ITU-R BT.601, as OpenCV's RGB2GRAY).
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], np.float32)
#: Flow is cached as float16: 0.016 px resolution at the +-20 px clip, half the disk of float32.
CACHE_DTYPE = np.float16


@dataclasses.dataclass(frozen=True)
class TVL1:
    """Parameters of OpenCV's Dual TV-L1 optical flow (its defaults, which DeepMind's recipe cites).

    See ``cv2.optflow.DualTVL1OpticalFlow_create`` for their meaning.
    """

    tau: float = 0.25
    lambda_: float = 0.15
    theta: float = 0.3
    scales: int = 5
    warps: int = 5
    epsilon: float = 0.01
    inner_iterations: int = 30
    outer_iterations: int = 10
    scale_step: float = 0.8
    gamma: float = 0.0
    median_filtering: int = 5

    @classmethod
    def cuda(cls) -> TVL1:
        """The parameters of OpenCV's CUDA class, which DeepMind's README links: no median filter, one loop of 300.

        `keras_i3d.video.tvl1.CUDA_TVL1_FIELDS` says what the CUDA kernels do differently
        besides (its stopping checks and its bicubic), which these fields cannot express.
        """
        return cls(**CUDA_TVL1_FIELDS)

    def create(self):
        """A new OpenCV ``DualTVL1OpticalFlow`` with these parameters."""
        require_extra(cv2, "OpenCV (opencv-contrib-python-headless)", "TV-L1 optical flow")
        if not hasattr(cv2, "optflow"):
            raise VideoError(
                "This OpenCV has no contrib modules (cv2.optflow); install opencv-contrib-python-headless "
                'instead of opencv-python: pip install "keras-i3d[video]"'
            )
        return cv2.optflow.DualTVL1OpticalFlow_create(
            self.tau,
            self.lambda_,
            self.theta,
            self.scales,
            self.warps,
            self.epsilon,
            self.inner_iterations,
            self.outer_iterations,
            self.scale_step,
            self.gamma,
            self.median_filtering,
        )


def grayscale(frames: np.ndarray) -> np.ndarray:
    """float32 luma in ``[0, 1]``, ``(..., H, W)``, of RGB ``(..., H, W, 3)`` in ``[0, 255]``.

    ``[0, 1]`` is the range OpenCV's TV-L1 expects of float images (it scales
    uint8 frames by 1/255 itself); its parameters assume it.
    """
    return np.asarray(frames, np.float32) @ (GRAY_WEIGHTS / np.float32(255.0))


def tvl1_flow(previous: np.ndarray, following: np.ndarray, params: TVL1 | None = None, algorithm=None) -> np.ndarray:
    """TV-L1 flow from one grayscale frame to the next.

    Args:
        previous: grayscale ``(H, W)``: float in ``[0, 1]`` (see `grayscale`) or uint8.
        following: the next frame, same shape.
        params: TV-L1 parameters (default `TVL1()`, OpenCV's defaults).
        algorithm: a ``params.create()`` instance to reuse (saves set-up per pair).

    Returns:
        float32 ``(H, W, 2)``: per-pixel displacement ``(dx, dy)`` in pixels.
    """
    algorithm = algorithm if algorithm is not None else (params or TVL1()).create()
    previous, following = (
        np.ascontiguousarray(f, np.uint8 if f.dtype == np.uint8 else np.float32) for f in (previous, following)
    )
    if previous.dtype != following.dtype or previous.ndim != 2 or previous.shape != following.shape:
        raise ValueError(f"tvl1_flow takes two grayscale frames of one shape; got {previous.shape}, {following.shape}.")
    return algorithm.calc(previous, following, None)


def resolve_flow_implementation(implementation: str = "auto") -> str:
    """``implementation``, ``"auto"`` replaced by the faster for the device and backend (`AUTO_FLOW_IMPLEMENTATION`).

    Raises:
        ValueError: for a name not in `FLOW_IMPLEMENTATIONS`.
    """
    if implementation not in FLOW_IMPLEMENTATIONS:
        raise ValueError(
            f"The flow implementation must be one of {', '.join(FLOW_IMPLEMENTATIONS)}; got {implementation!r}."
        )
    if implementation != "auto":
        return implementation
    return AUTO_FLOW_IMPLEMENTATION["gpu" if accelerated() else "cpu"][keras.backend.backend()]


def accelerated() -> bool:
    """Whether the running backend puts new tensors on an accelerator (GPU or TPU), not the CPU.

    Asks a new tensor where it lives (TensorFlow ``/job:.../device:CPU:0``, JAX ``cpu:0``,
    PyTorch ``cpu``): one question for every backend.
    """
    return "cpu" not in str(getattr(keras.ops.zeros(()), "device", "cpu")).lower()


def tvl1(
    first: np.ndarray,
    second: np.ndarray,
    params: TVL1 | None = None,
    implementation: str = "auto",
    batch_size: int = FLOW_BATCH_SIZE,
) -> np.ndarray:
    """TV-L1 flow from ``first`` to ``second``: one pair or a batch, OpenCV's or the keras.ops port.

    Args:
        first: grayscale frames ``(B, H, W)`` or one frame ``(H, W)``: float in ``[0, 1]``
            (see `grayscale`) or uint8, as OpenCV takes them.
        second: the following frames, same shape and dtype.
        params: TV-L1 parameters (default `TVL1()`, OpenCV's defaults; `TVL1.cuda` for the CUDA class's).
        implementation: ``"opencv"`` (CPU, one pair at a time), ``"keras"`` (`keras_i3d.video.tvl1`:
            batched, compiled, on the backend's device) or ``"auto"`` (`resolve_flow_implementation`).
        batch_size: pairs per call of the keras implementation.

    Returns:
        float32 ``(B, H, W, 2)`` (or ``(H, W, 2)``): per-pixel displacement ``(dx, dy)`` in pixels.
    """
    params = params or TVL1()
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.dtype != second.dtype or first.ndim not in (2, 3):
        raise ValueError(
            "TV-L1 takes two grayscale frames (H, W) or batches (B, H, W) of one shape and dtype; "
            f"got {first.shape} {first.dtype} and {second.shape} {second.dtype}."
        )
    if resolve_flow_implementation(implementation) == "keras":
        return tvl1_keras(first, second, params, batch_size=batch_size)
    if first.ndim == 2:
        return tvl1_flow(first, second, params)
    algorithm = params.create()
    flows = [tvl1_flow(a, b, params, algorithm) for a, b in zip(first, second, strict=True)]
    return np.stack(flows) if flows else np.zeros((*first.shape, 2), np.float32)


def iter_flow(
    frames: Iterable[np.ndarray],
    short_side: int | None = SHORT_SIDE,
    params: TVL1 | None = None,
    implementation: str = "auto",
    batch_size: int = FLOW_BATCH_SIZE,
):
    """Flow between consecutive frames: ``n`` frames give ``n - 1`` flow fields.

    Args:
        frames: uint8 (or 0-255 float) RGB frames ``(H, W, 3)``, e.g. `iter_frames`.
        short_side: resize each frame so its short side is this first
            (`resize_short_side`, the RGB recipe); ``None`` keeps the size.
        params: TV-L1 parameters.
        implementation: see `tvl1`.
        batch_size: pairs per call of the keras implementation (the frames of one
            batch are held in memory; OpenCV's takes one pair at a time).

    Yields:
        float32 ``(H', W', 2)`` flow in pixels, unclipped.
    """
    params = params or TVL1()
    implementation = resolve_flow_implementation(implementation)
    if implementation == "opencv":
        algorithm = params.create()
        previous = None
        for frame in frames:
            gray = _gray(frame, short_side)
            if previous is not None:
                yield tvl1_flow(previous, gray, params, algorithm)
            previous = gray
        return
    grays: list[np.ndarray] = []
    for frame in frames:
        grays.append(_gray(frame, short_side))
        if len(grays) == batch_size + 1:
            yield from tvl1_keras(np.stack(grays[:-1]), np.stack(grays[1:]), params, batch_size=batch_size)
            grays = grays[-1:]
    if len(grays) > 1:  # the last, shorter batch: padded to batch_size, so one compiled graph serves every video
        pairs = len(grays) - 1
        first, second = np.stack(grays[:-1]), np.stack(grays[1:])
        fill = batch_size - pairs
        first = np.concatenate([first, np.repeat(first[-1:], fill, axis=0)])
        second = np.concatenate([second, np.repeat(second[-1:], fill, axis=0)])
        yield from tvl1_keras(first, second, params, batch_size=batch_size)[:pairs]


def _gray(frame: np.ndarray, short_side: int | None) -> np.ndarray:
    image = frame if short_side is None else resize_short_side(np.asarray(frame)[None], short_side)[0]
    return grayscale(image)


def flow_cache_key(
    path: str | os.PathLike,
    fps: float,
    short_side: int | None,
    params: TVL1 | None = None,
    implementation: str = "opencv",
) -> str:
    """The cache key: the video's content (sha256) and everything that shapes its flow.

    ``implementation`` (resolved: ``"opencv"`` or ``"keras"``) is part of the key, so the
    two implementations' flows never mix; OpenCV's keys are those of earlier releases
    (caches made before the keras implementation stay valid).
    """
    if implementation not in FLOW_IMPLEMENTATIONS[1:]:
        raise ValueError(f"flow_cache_key takes a resolved implementation (opencv or keras); got {implementation!r}.")
    params = params or TVL1()
    recipe = {
        "recipe": RECIPE_VERSION,
        "video_sha256": sha256_file(path),
        "fps": fps,
        "short_side": short_side,
        "tvl1": dataclasses.asdict(params),
    }
    if implementation != "opencv":
        recipe["implementation"] = implementation
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


#: ``cache_dir=BESIDE_THE_VIDEO`` caches a video's flow in the video's own folder.
BESIDE_THE_VIDEO = "beside"


def default_cache_dir(video: Path | None = None) -> Path:
    """Where cached flow goes by default: ``$KERAS_HOME/keras_i3d/flow`` (never the user's video folders).

    Flow takes ~9 MB per second of video; ``cache_dir=BESIDE_THE_VIDEO`` (``--flow-cache-dir beside``)
    keeps it beside each video instead.
    """
    return keras_home() / "keras_i3d" / "flow"


def cached_flow_path(video: str | os.PathLike, key: str, cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache file of a video's flow: ``<cache_dir>/<video name>.flow-<key>.npy``."""
    video = Path(video)
    if cache_dir is None:
        folder = default_cache_dir(video)
    elif str(cache_dir) == BESIDE_THE_VIDEO:
        folder = video.parent
    else:
        folder = Path(cache_dir)
    return folder / f"{video.name}.flow-{key}.npy"


def video_flow(
    path: str | os.PathLike,
    fps: float = DEFAULT_FPS,
    short_side: int | None = SHORT_SIDE,
    params: TVL1 | None = None,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = True,
    implementation: str = "auto",
) -> np.ndarray:
    """TV-L1 flow of a whole video (DeepMind's recipe), computed once and cached.

    Streams: frames are decoded, resized and compared one pair at a time and
    written to the cache file as they come, so memory does not grow with the
    video. The result is memory-mapped from the cache file.

    Args:
        path: the video.
        fps: frame rate the video is resampled to first (DeepMind: 25).
        short_side: frames are resized to this short side first (DeepMind: 256).
        params: TV-L1 parameters.
        cache: reuse and write the cache. ``False`` computes in memory.
        cache_dir: folder of the cache; default the Keras cache,
            ``$KERAS_HOME/keras_i3d/flow``; ``"beside"`` (`BESIDE_THE_VIDEO`) for the
            video's own folder.
            The file name holds a key of the video's content and every
            parameter above, so a changed video or setting never reuses a stale file.
        progress: show a progress bar.
        implementation: TV-L1's implementation (see `tvl1`); part of the cache key.

    Returns:
        ``(frames - 1, H, W, 2)`` flow in pixels (float16 from the cache,
        float32 without), where ``H, W`` is the resized frame size.

    Raises:
        VideoError: for unreadable videos (see `iter_frames`), or fewer than 2 frames.
        MissingExtraError: without PyAV or OpenCV-contrib.
        FileAccessError: if ``cache_dir`` cannot be written.
    """
    path = Path(path)
    info = probe_video(path)
    params = params or TVL1()
    implementation = resolve_flow_implementation(implementation)
    if implementation == "opencv":
        params.create()  # fail early without OpenCV-contrib
    if not cache:
        pairs = iter_flow(iter_frames(path, fps), short_side, params, implementation)
        flows = list(_progress(pairs, info, fps, progress, path))
        if not flows:
            raise VideoError(f"{path} has a single frame; optical flow needs at least 2.")
        return np.stack(flows)
    target = cached_flow_path(path, flow_cache_key(path, fps, short_side, params, implementation), cache_dir)
    if target.is_file():
        try:
            return np.load(target, mmap_mode="r")
        except (OSError, ValueError):  # damaged cache entry: compute it again
            target.unlink()
    try:
        ensure_writable_dir(target.parent)
    except FileAccessError as e:
        raise FileAccessError(f"Cannot cache optical flow in {target.parent}: {e}") from e
    pairs = iter_flow(iter_frames(path, fps), short_side, params, implementation)
    flows = _progress(pairs, info, fps, progress, path)
    first = next(flows, None)
    if first is None:
        raise VideoError(f"{path} has a single frame; optical flow needs at least 2.")
    with npy_stream(target, first.shape, CACHE_DTYPE) as writer:
        writer.write(first)
        for flow in flows:
            writer.write(flow)
    return np.load(target, mmap_mode="r")


def _progress(flows: Iterator[np.ndarray], info, fps: float, progress: bool, path: Path) -> Iterator[np.ndarray]:
    total = max(int(round(info.duration * fps)) - 1, 0) if info.duration else None
    with progress_bar(total=total, progress=progress, unit="pair", desc=f"TV-L1 {path.name}", leave=False) as bar:
        for flow in flows:
            bar.update(1)
            yield flow
