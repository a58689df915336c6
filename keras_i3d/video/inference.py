"""Whole-video inference: sliding windows over a video, batched, streaming.

A video is decoded, resampled to 25 fps and preprocessed (`preprocess_frames`)
as it is read; windows of ``clip_frames`` frames every ``stride`` frames are
batched through the network. Only the frames of the windows in flight are in
memory, so a ten-minute video needs no more memory than a ten-second one.

Windows start at frames ``0, stride, 2 * stride, ...``; if the last one ends
before the video does, one more window covers the last ``clip_frames`` frames.
A video shorter than ``clip_frames`` is loop-padded (frames ``0, 1, ..., n - 1,
0, 1, ...``), as DeepMind's evaluation did, and gives a single window.

The video-level prediction is the mean of the windows' logits (then softmax).
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import keras
import numpy as np

from keras_i3d.errors import InputError
from keras_i3d.model.architecture import LOGITS_LAYER, STREAM_SCOPES, VALID_ENDPOINTS
from keras_i3d.preprocessing import SHORT_SIDE, load_labels, preprocess_frames, preprocess_input
from keras_i3d.presets import DATASET_CLASSES, STREAM_CHANNELS
from keras_i3d.utils.progress import bar as progress_bar
from keras_i3d.video.decode import DEFAULT_FPS, iter_frames, probe_video
from keras_i3d.video.flow import TVL1, iter_flow, video_flow

#: Frames preprocessed together (one resize call per chunk).
_CHUNK = 16


@dataclasses.dataclass
class VideoPrediction:
    """What a network says about each window of a video, and about the whole video.

    Attributes:
        source: the video (a path, or ``None`` for frames given as an array).
        fps: the frame rate the video was resampled to.
        frames: the number of frames (at ``fps``).
        starts: ``(windows,)`` start of each window, in seconds.
        ends: ``(windows,)`` end of each window, in seconds (at most the video's end).
        logits: ``(windows, classes)``, or ``None`` for a model without classifier.
        features: endpoint name -> ``(windows, ...)`` features (averaged over
            time and space when ``pool="avg"``). Two-stream models name them
            ``"rgb/Mixed_5c"``, ``"flow/Mixed_5c"``.
        labels: the class names, or ``None``.
        loop_padded: whether the video was shorter than a window and looped.
    """

    source: str | None
    fps: float
    frames: int
    starts: np.ndarray
    ends: np.ndarray
    logits: np.ndarray | None
    features: dict[str, np.ndarray]
    labels: tuple[str, ...] | None
    loop_padded: bool

    def __repr__(self) -> str:
        """One line: the video, its windows, and the top class (never all the labels or arrays)."""
        parts = [f"source={self.source!r}", f"{self.frames} frames at {self.fps:g} fps", f"{len(self.starts)} windows"]
        if self.logits is not None:
            label, probability = self.top(1)[0]
            parts.append(f"top={label!r} ({probability:.3f})")
        if self.features:
            parts.append("features=" + ", ".join(f"{k} {tuple(v.shape)}" for k, v in self.features.items()))
        return f"VideoPrediction({', '.join(parts)})"

    @property
    def probabilities(self) -> np.ndarray:
        """``(windows, classes)`` softmax of each window's logits."""
        return _softmax(self._require_logits())

    @property
    def video_logits(self) -> np.ndarray:
        """``(classes,)`` the mean of the windows' logits."""
        return self._require_logits().mean(axis=0)

    @property
    def video_probabilities(self) -> np.ndarray:
        """``(classes,)`` softmax of `video_logits`."""
        return _softmax(self.video_logits[None])[0]

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The video's ``k`` most probable classes, ``(label, probability)``, best first."""
        return self._ranked(self.video_probabilities, k)

    def _ranked(self, probabilities: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` largest of ``probabilities`` with their labels (class indices without labels)."""
        names = self.labels if self.labels is not None else tuple(str(i) for i in range(len(probabilities)))
        order = np.argsort(-probabilities, kind="stable")[:k]
        return [(names[i], float(probabilities[i])) for i in order]

    def to_json(self, top: int = 5) -> dict:
        """A JSON-ready summary: the video's top classes and each window's."""
        out = {
            "video": self.source,
            "fps": self.fps,
            "frames": self.frames,
            "duration": self.frames / self.fps,
            "loop_padded": self.loop_padded,
            "windows": [],
        }
        if self.logits is not None:
            out["top"] = [{"label": label, "probability": p} for label, p in self.top(top)]
        for i in range(len(self.starts)):
            window = {"start": float(self.starts[i]), "end": float(self.ends[i])}
            if self.logits is not None:
                ranked = self._ranked(self.probabilities[i], top)
                window["top"] = [{"label": label, "probability": p} for label, p in ranked]
            out["windows"].append(window)
        return out

    def _require_logits(self) -> np.ndarray:
        if self.logits is None:
            raise ValueError("This model has no classifier (include_top=False): there are only features.")
        return self.logits


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def model_streams(model: keras.Model) -> dict[str, keras.Model]:
    """The single-stream networks of ``model``: ``{"rgb": ...}``, ``{"flow": ...}`` or both (two-stream)."""
    if isinstance(model.input, dict):
        missing = [name for name in STREAM_SCOPES.values() if name not in {layer.name for layer in model.layers}]
        if set(model.input) != set(STREAM_SCOPES) or missing:
            raise ValueError("A model with several inputs must be a TwoStreamI3D (inputs 'rgb' and 'flow').")
        return {stream: model.get_layer(name) for stream, name in STREAM_SCOPES.items()}
    channels = model.inputs[0].shape[-1]
    stream = {c: s for s, c in STREAM_CHANNELS.items()}.get(channels)
    if stream is None:
        raise ValueError(f"Cannot tell the stream of a model taking {channels} channels (RGB: 3, flow: 2).")
    return {stream: model}


def window_extractor(network: keras.Model, endpoints: tuple[str, ...]) -> tuple[keras.Model, bool]:
    """A model from ``network``'s input to its logits (if it has them) and ``endpoints``."""
    names = {layer.name for layer in network.layers}
    outputs = {}
    has_logits = LOGITS_LAYER in names
    if has_logits:
        outputs[LOGITS_LAYER] = network.get_layer(LOGITS_LAYER).output
    for endpoint in endpoints:
        if endpoint not in VALID_ENDPOINTS:
            raise ValueError(f"Unknown endpoint {endpoint!r}; valid: {', '.join(VALID_ENDPOINTS)}.")
        if endpoint not in names:
            raise ValueError(f"This model has no {endpoint!r} layer (include_top=False models stop at Mixed_5c).")
        outputs[endpoint] = network.get_layer(endpoint).output
    if not outputs:
        raise ValueError("This model has no classifier; ask for features with `endpoints`.")
    # `network.input` (not `.inputs`): a single tensor, so calling it with one array matches its structure.
    return keras.Model(network.input, outputs, name=f"{network.name}_windows"), has_logits


def _crop_size(network: keras.Model, size: int | None) -> int:
    height, width = network.inputs[0].shape[2:4]
    if size is not None:
        return size
    if height is not None and width is not None:
        if height != width:
            raise ValueError(f"The model takes {height}x{width} clips; pass `size` explicitly.")
        return int(height)
    return 224


def _chunks(iterable: Iterable, n: int) -> Iterator[list]:
    iterator = iter(iterable)
    while chunk := list(itertools.islice(iterator, n)):
        yield chunk


def _rgb_frames(video, fps: float, size: int, short_side: int, resize: bool) -> Iterator[np.ndarray]:
    frames = iter_frames(video, fps) if not isinstance(video, np.ndarray) else iter(video)
    for chunk in _chunks(frames, _CHUNK):
        stacked = np.stack(chunk)
        if resize:
            yield from preprocess_frames(stacked, "rgb", size=size, short_side=short_side)
        else:
            yield from preprocess_input(stacked, "rgb")


def _flow_frames(
    video, fps, size, short_side, resize, cache, cache_dir, params, progress, implementation
) -> Iterator[np.ndarray]:
    """Flow frames aligned with the RGB frames: ``n`` frames, the last repeating the last flow.

    Flow ``i`` is the motion from frame ``i`` to frame ``i + 1``; the last
    frame has no successor and repeats the last flow, so both streams have one
    frame per video frame and their windows cover the same time.
    """
    if isinstance(video, np.ndarray):
        pairs = iter_flow(video, short_side if resize else None, params, implementation)
        flows = np.stack(list(pairs) or [np.zeros((0, 1, 1, 2))])
    else:
        flows = video_flow(
            video, fps, short_side, params, cache=cache, cache_dir=cache_dir, progress=progress,
            implementation=implementation,
        )  # fmt: skip
    if len(flows) == 0:
        raise InputError("Optical flow needs at least 2 frames; the video has 1.")
    chunk = None
    for start in range(0, len(flows), _CHUNK):
        chunk = np.asarray(flows[start : start + _CHUNK], np.float32)
        if resize:
            chunk = preprocess_frames(chunk, "flow", size=size, short_side=short_side)
        else:
            chunk = preprocess_input(chunk, "flow")
        yield from chunk
    yield chunk[-1]


def _windows(frames: Iterator[np.ndarray], clip_frames: int, stride: int):
    """Yields ``(start, end, clip)`` for each window, then ``("total", frames, loop_padded)``.

    Keeps only the frames a coming window (or the final tail window) needs.
    """
    buffer: collections.deque[np.ndarray] = collections.deque()
    count = 0  # frames seen; the buffer holds frames [count - len(buffer), count)
    next_start = 0
    last_end = 0
    for frame in frames:
        buffer.append(frame)
        count += 1
        if count == next_start + clip_frames:
            yield next_start, count, np.stack(list(buffer)[-clip_frames:])
            last_end = count
            next_start += stride
        keep_from = max(0, min(next_start, count - clip_frames))
        while count - len(buffer) < keep_from:
            buffer.popleft()
    if count == 0:
        raise InputError("The video has no frames.")
    if count < clip_frames:
        frames_list = list(buffer)
        yield 0, count, np.stack([frames_list[i % count] for i in range(clip_frames)])
        yield "total", count, True
        return
    if last_end < count:
        yield count - clip_frames, count, np.stack(list(buffer)[-clip_frames:])
    yield "total", count, False


def video_inputs(
    video: str | os.PathLike | np.ndarray,
    streams: tuple[str, ...] | list[str] = ("rgb", "flow"),
    fps: float = DEFAULT_FPS,
    size: int = 224,
    short_side: int = SHORT_SIDE,
    max_frames: int | None = 250,
    flow_cache: bool = True,
    flow_cache_dir: str | os.PathLike | None = None,
    flow_params: TVL1 | None = None,
    progress: bool = True,
    flow_implementation: str = "auto",
) -> dict[str, np.ndarray]:
    """A video (or short clip) as the network's inputs, one call: what `predict_video` feeds its windows.

    RGB frames go through `keras_i3d.preprocess_frames` (short side 256, centre crop, ``[-1, 1]``);
    flow is TV-L1 between consecutive frames (cached, see `keras_i3d.video_flow`), resized,
    cropped and scaled the same way, the last frame repeating the last field so both streams
    have one frame per video frame. For `keras_i3d.TwoStreamI3D`::

        inputs = keras_i3d.video_inputs("clip.mp4")   # {"rgb": (1, n, 224, 224, 3), "flow": (1, n, 224, 224, 2)}
        logits = model.predict(inputs)

    Args:
        video: a video file, or uint8 RGB frames ``(n, H, W, 3)``.
        streams: ``"rgb"``, ``"flow"`` or both.
        fps: the frame rate the video is resampled to (DeepMind: 25).
        size: the crop (the model's input size).
        short_side: the short side frames are resized to before the crop.
        max_frames: refuse videos longer than this many frames (the whole video is held in
            memory: use `predict_video` for long ones); ``None`` for no limit.
        flow_cache: reuse and write the flow cache.
        flow_cache_dir: where (default ``$KERAS_HOME/keras_i3d/flow``).
        flow_params: TV-L1 parameters.
        progress: show a progress bar while flow is computed.
        flow_implementation: TV-L1's implementation (``"auto"``, ``"opencv"``, ``"keras"``; see
            `keras_i3d.video.flow.tvl1`).

    Returns:
        ``{stream: float32 (1, n, size, size, C)}``.

    Raises:
        VideoError: for unreadable videos; InputError: for a video longer than ``max_frames``
            or flow of a single frame; ValueError: for an unknown stream.
    """
    unknown = [s for s in streams if s not in ("rgb", "flow")]
    if unknown or not streams:
        raise ValueError(f"`streams` must name 'rgb' and/or 'flow'; got {list(streams)!r}.")
    inputs = {}
    for stream in streams:
        if stream == "rgb":
            frames = _rgb_frames(video, fps, size, short_side, True)
        else:
            frames = _flow_frames(
                video, fps, size, short_side, True, flow_cache, flow_cache_dir, flow_params, progress,
                flow_implementation,
            )  # fmt: skip
        kept = []
        for frame in frames:
            kept.append(frame)
            if max_frames is not None and len(kept) > max_frames:
                raise InputError(
                    f"The video has more than {max_frames} frames at {fps:g} fps; video_inputs holds them all in "
                    "memory: run predict_video (sliding windows), or pass a larger max_frames."
                )
        inputs[stream] = np.stack(kept)[None].astype(np.float32, copy=False)
    return inputs


def predict_video(
    model: keras.Model,
    video: str | os.PathLike | np.ndarray,
    clip_frames: int = 64,
    stride: int = 32,
    batch_size: int = 1,
    endpoints: tuple[str, ...] | list[str] = (),
    pool: str | None = "avg",
    fps: float | None = DEFAULT_FPS,
    size: int | None = None,
    short_side: int = SHORT_SIDE,
    resize: bool = True,
    labels: tuple[str, ...] | None = None,
    flow_cache: bool = True,
    flow_cache_dir: str | os.PathLike | None = None,
    flow_params: TVL1 | None = None,
    progress: bool = True,
    flow_implementation: str = "auto",
) -> VideoPrediction:
    """Runs an I3D over a whole video in sliding windows.

    Args:
        model: an `I3D` (RGB or flow, with or without classifier) or a
            `TwoStreamI3D`. The stream(s) follow from the model's inputs.
        video: a video file (decoded with PyAV), or uint8 RGB frames
            ``(frames, height, width, 3)`` already at ``fps``.
        clip_frames: frames per window (DeepMind trained on 64).
        stride: frames from one window's start to the next.
        batch_size: windows per forward pass.
        endpoints: endpoint names (``keras_i3d.VALID_ENDPOINTS``) to return features of.
        pool: ``"avg"`` averages each feature map over time and space
            (``(windows, channels)``); ``None`` keeps the maps.
        fps: frame rate the video is resampled to (DeepMind: 25); ``None``: a video file's own frames,
            its declared rate giving the windows' times.
        size: crop size; default the model's input size (224).
        short_side: frames are resized to this short side before the centre crop.
        resize: ``False`` when frames are already cropped to ``size`` (e.g.
            DeepMind's sample GIFs): they are only scaled to ``[-1, 1]``.
        labels: class names; default the model's `class_names` (a fine-tuned model's), else
            Kinetics-400/600 by the number of classes.
        flow_cache: cache the video's TV-L1 flow (see `keras_i3d.video.flow.video_flow`).
        flow_cache_dir: where; default ``$KERAS_HOME/keras_i3d/flow``; ``"beside"``: the video's folder.
        flow_params: TV-L1 parameters (default OpenCV's).
        flow_implementation: TV-L1's implementation (``"auto"``, ``"opencv"``, ``"keras"``; see
            `keras_i3d.video.flow.tvl1`).
        progress: show progress bars.

    Returns:
        A `VideoPrediction`.

    Raises:
        VideoError: if the video cannot be read.
        InputError: for frames that are not ``(frames, height, width, 3)`` uint8 RGB.
        ValueError: for bad arguments (window sizes, endpoints, a model that is no I3D).
    """
    for name, value in (("clip_frames", clip_frames), ("stride", stride), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    if pool not in (None, "avg"):
        raise ValueError(f"`pool` must be 'avg' or None; got {pool!r}.")
    if isinstance(endpoints, str):
        endpoints = (endpoints,)
    if isinstance(video, np.ndarray):
        if video.ndim != 4 or video.shape[-1] != 3:
            raise InputError(f"Frames must be (frames, height, width, 3) RGB; got shape {video.shape}.")
        source, estimate = None, len(video)
    else:
        info = probe_video(video)
        if fps is None and not info.fps:
            raise InputError(f"{video} does not declare its frame rate; pass `fps` to resample it.")
        rate = fps or info.fps
        source, estimate = str(video), (round(info.duration * rate) if info.duration else None)
    if fps is None and source is None:
        raise ValueError("`fps=None` (each video's own frame rate) takes a video file, not frames.")
    streams = model_streams(model)
    runners = {stream: window_extractor(network, tuple(endpoints)) for stream, network in streams.items()}
    crop = _crop_size(next(iter(streams.values())), size)
    sources = {}
    for stream in streams:
        if stream == "rgb":
            sources[stream] = _rgb_frames(video, fps, crop, short_side, resize)
        else:
            sources[stream] = _flow_frames(
                video,
                fps,
                crop,
                short_side,
                resize,
                flow_cache,
                flow_cache_dir,
                flow_params,
                progress,
                flow_implementation,
            )
    windows = {stream: _windows(frames, clip_frames, stride) for stream, frames in sources.items()}
    if estimate is None:
        n_windows = None
    elif estimate <= clip_frames:
        n_windows = 1
    else:
        n_windows = (estimate - clip_frames) // stride + 1 + ((estimate - clip_frames) % stride > 0)
    starts, ends, outputs, total, loop_padded = _run_windows(windows, runners, batch_size, n_windows, progress, source)
    has_logits = {stream: runner[1] for stream, runner in runners.items()}
    return _prediction(
        source, fps or info.fps, total, starts, ends, outputs, has_logits, tuple(endpoints), pool, labels, loop_padded,
        getattr(model, "class_names", None),
    )  # fmt: skip


def predict_clip(
    model: keras.Model,
    clip,
    endpoints: tuple[str, ...] | list[str] = (),
    pool: str | None = "avg",
    fps: float = DEFAULT_FPS,
    source: str | None = None,
) -> VideoPrediction:
    """Runs a single-stream I3D on one prepared clip (a single window covering it).

    Args:
        model: an `I3D`.
        clip: ``(frames, H, W, C)`` or ``(1, frames, H, W, C)``, already in
            ``[-1, 1]`` at the model's size (see `keras_i3d.check_clip`).
        endpoints: endpoint names to return features of.
        pool: ``"avg"`` or ``None``, as in `predict_video`.
        fps: the clip's frame rate, for the window's times.
        source: where the clip came from (for reports).

    Returns:
        A `VideoPrediction` with one window.
    """
    if isinstance(model.input, dict):
        raise ValueError("predict_clip runs single-stream models; give a TwoStreamI3D videos (predict_video).")
    clip = np.asarray(clip, np.float32)
    if clip.ndim == 4:
        clip = clip[None]
    if clip.ndim != 5 or len(clip) != 1:
        raise InputError(f"predict_clip takes one clip (frames, height, width, channels); got shape {clip.shape}.")
    extractor, has_logits = window_extractor(model, tuple(endpoints))
    outputs = {k: keras.ops.convert_to_numpy(v) for k, v in extractor.predict_on_batch(clip).items()}
    return _prediction(source, fps, clip.shape[1], [0], [clip.shape[1]], {"clip": outputs}, {"clip": has_logits},
                       tuple(endpoints), pool, None, False, getattr(model, "class_names", None))  # fmt: skip


def joined_features(features: dict[str, np.ndarray], endpoint: str) -> np.ndarray:
    """One stream's features of ``endpoint``, or two streams' concatenated on channels, RGB first.

    RGB-then-flow is the convention of temporal action localization (ActionFormer, TriDet): 1024 + 1024 = 2048
    channels at ``Mixed_5c``.

    Args:
        features: a `VideoPrediction`'s ``features``.
        endpoint: the endpoint's name.
    """
    if endpoint in features:
        return features[endpoint]
    return np.concatenate([features[f"rgb/{endpoint}"], features[f"flow/{endpoint}"]], axis=-1)


def _prediction(
    source, fps, total, starts, ends, outputs, has_logits, endpoints, pool, labels, loop_padded, class_names=None
):
    """Builds a `VideoPrediction` from per-stream outputs (logits summed across streams)."""
    logits = None
    if all(has_logits.values()):
        logits = sum(outputs[stream][LOGITS_LAYER] for stream in outputs)
    features = {}
    for stream in outputs:
        for endpoint in endpoints:
            value = outputs[stream][endpoint]
            if pool == "avg":
                value = value.reshape(len(value), -1, value.shape[-1]).mean(axis=1)
            features[endpoint if len(outputs) == 1 else f"{stream}/{endpoint}"] = value
    if labels is None and logits is not None and class_names is not None and len(class_names) == logits.shape[1]:
        labels = tuple(class_names)
    if labels is None and logits is not None:
        dataset = next((name for name, n in DATASET_CLASSES.items() if n == logits.shape[1]), None)
        labels = load_labels(dataset) if dataset else None
    return VideoPrediction(
        source=source,
        fps=float(fps),
        frames=total,
        starts=np.asarray(starts, np.float64) / fps,
        ends=np.asarray(ends, np.float64) / fps,
        logits=logits,
        features=features,
        labels=labels,
        loop_padded=loop_padded,
    )


def _run_windows(windows: dict, runners: dict, batch_size: int, n_windows, progress: bool, source):
    starts, ends = [], []
    outputs = {stream: {} for stream in windows}
    pending = {stream: [] for stream in windows}
    total, loop_padded = 0, False
    desc = f"I3D {Path(source).name}" if source else "I3D"

    def flush():
        for stream, clips in pending.items():
            if not clips:
                continue
            extractor, _ = runners[stream]
            result = extractor.predict_on_batch(np.stack(clips))
            for name, value in result.items():
                outputs[stream].setdefault(name, []).append(np.asarray(keras.ops.convert_to_numpy(value)))
            clips.clear()

    with progress_bar(total=n_windows, progress=progress, unit="window", desc=desc, leave=False) as bar:
        for items in zip(*windows.values(), strict=True):
            start, end, clip = items[0]
            if start == "total":
                total, loop_padded = end, clip
                break
            starts.append(start)
            ends.append(end)
            for stream, (_, _, stream_clip) in zip(windows, items, strict=True):
                pending[stream].append(stream_clip)
            if len(pending[next(iter(windows))]) >= batch_size:
                flush()
            bar.update(1)
        flush()
    joined = {stream: {name: np.concatenate(v) for name, v in out.items()} for stream, out in outputs.items()}
    return starts, ends, joined, total, loop_padded
