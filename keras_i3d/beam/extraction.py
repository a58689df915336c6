"""One video in, its outputs out: I3D features per window, or the video's FVD embedding (Keras; no Beam).

`VideoExtractor` holds the network (built once, fused for inference) and turns a
`keras_i3d.beam.sources.VideoTask` into a `VideoResult`. A video that cannot be
processed gives a result holding the one-line reason instead of raising, so one bad
file never stops a job. Beam's ``RunInference`` calls it through
`keras_i3d.beam.handlers.I3DVideoModelHandler`; it works as well in a plain loop.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from keras_i3d.applications.i3d import I3D, load_model
from keras_i3d.applications.two_stream import TwoStreamI3D
from keras_i3d.beam.settings import ExtractSettings, NetworkSpec
from keras_i3d.beam.sources import VideoTask, local_copy
from keras_i3d.errors import InputError
from keras_i3d.fvd.clips import ClipSampling
from keras_i3d.fvd.embedding import FVDEmbedder
from keras_i3d.model.fusion import fuse_for_inference
from keras_i3d.training.dataset_writer import VideoEntry, range_frames
from keras_i3d.video.decode import probe_video
from keras_i3d.video.inference import joined_features, predict_video


@dataclasses.dataclass
class VideoResult:
    """What one video gave.

    Attributes:
        task: the video.
        values: float32 features ``(windows, C)`` (``(windows, T, H, W, C)`` unpooled), or the
            FVD embedding ``(400,)``; ``None`` when the video failed.
        starts: each window's start, seconds in the source video (empty for FVD).
        ends: each window's end, seconds.
        frames: frames used (after resampling, inside the task's range).
        fps: the frame rate the frames were taken at.
        error: the one-line reason the video failed, ``None`` when it did not.
    """

    task: VideoTask
    values: np.ndarray | None = None
    starts: list[float] = dataclasses.field(default_factory=list)
    ends: list[float] = dataclasses.field(default_factory=list)
    frames: int = 0
    fps: float | None = None
    error: str | None = None


def build_network(spec: NetworkSpec) -> keras.Model:
    """The network `spec` names, as built (callers fuse it): a ``.keras`` model, one stream or two."""
    if spec.model is not None:
        return load_model(spec.model)
    if spec.stream == "joint":
        return TwoStreamI3D(
            rgb_weights=spec.rgb_weights or "kinetics400_rgb",
            flow_weights=spec.flow_weights or "kinetics400_flow",
            classifier_activation=None,
        )
    return I3D(weights=spec.weights or f"kinetics400_{spec.stream}", classifier_activation=None)


class VideoExtractor:
    """Turns videos into their features (or FVD embeddings) with one network, built once.

    Args:
        settings: what to compute (`keras_i3d.beam.settings.ExtractSettings`).
    """

    def __init__(self, settings: ExtractSettings):
        self.settings = settings
        self.model = self.embedder = None
        if settings.fvd is not None:
            self.clips = ClipSampling(settings.fvd.clip, settings.fvd.start, settings.fvd.seed)

    def build(self) -> None:
        """Builds the network now (else on the first video: a resumed job's worker with nothing left builds none)."""
        if self.model is not None:
            return
        if self.settings.fvd is not None:
            fvd = self.settings.fvd
            self.embedder = FVDEmbedder(fvd.weights, fvd.resize, self.settings.batch_size)
            self.model = self.embedder.model
        else:
            self.model = fuse_for_inference(build_network(self.settings.network))

    def __call__(self, task: VideoTask) -> VideoResult:
        """The task's result; unreadable videos and too-short clips give a result with ``error`` set."""
        self.build()
        try:
            with local_copy(task.path) as path:
                if self.settings.fvd is not None:
                    return self._embedding(task, path)
                return self._features(task, path)
        except (InputError, OSError, ValueError) as e:
            return VideoResult(task, error=" ".join(str(e).split()) or type(e).__name__)

    def _embedding(self, task: VideoTask, path) -> VideoResult:
        frames = self.settings.fvd.frames
        fps = probe_video(path).fps
        if task.start is None and task.end is None:
            clip = self.clips.read(path, frames)
        else:  # a CSV's range: the clip is taken from the range's frames, at the file's own rate
            video = self._range(task, path, fps)
            clip = video[self.clips.indices(len(video), frames, path.name)]
        embedding = self.embedder(clip[None])[0]
        return VideoResult(task, embedding.astype(np.float32), frames=len(clip), fps=fps)

    @staticmethod
    def _range(task: VideoTask, path, fps: float | None) -> np.ndarray:
        frames = [frame for _, frame in range_frames(VideoEntry(str(path), task.label, task.start, task.end), fps)]
        if not frames:
            raise InputError(f"{task.path} has no frames in [{task.start or 0:g}, {task.end or 'end'}) s.")
        return np.stack(frames)

    def _features(self, task: VideoTask, path) -> VideoResult:
        s = self.settings
        video, offset = path, 0.0
        fps = s.fps
        if task.start is not None or task.end is not None:
            fps = fps or probe_video(path).fps
            video, offset = self._range(task, path, fps), task.start or 0.0
        prediction = predict_video(
            self.model, video, clip_frames=s.clip_frames, stride=s.stride, batch_size=s.batch_size,
            endpoints=(s.endpoint,), pool=s.pool, fps=fps, flow_cache=False, progress=False,
            flow_implementation=s.flow_implementation,
        )  # fmt: skip
        values = joined_features(prediction.features, s.endpoint).astype(np.float32, copy=False)
        return VideoResult(
            task, values, (prediction.starts + offset).tolist(), (prediction.ends + offset).tolist(),
            prediction.frames, prediction.fps,
        )  # fmt: skip
