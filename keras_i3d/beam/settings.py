"""What an extraction job computes, as frozen dataclasses (pickled to every Beam worker).

Keras- and Beam-free: the CLI builds these from its options, the workers build the
network from them, and `ExtractSettings.record` is what a job's output folder
records, so a rerun under other settings is refused instead of mixing outputs.
"""

from __future__ import annotations

import dataclasses

from keras_i3d.beam.defaults import FORMATS
from keras_i3d.fvd.defaults import CLIP_SAMPLINGS, DEFAULT_FRAMES, MIN_FRAMES, RESIZE_MODES
from keras_i3d.model.names import FEATURES_ENDPOINT, VALID_ENDPOINTS
from keras_i3d.video.defaults import FLOW_IMPLEMENTATIONS

STREAMS = ("rgb", "flow", "joint")


@dataclasses.dataclass(frozen=True)
class NetworkSpec:
    """The network a job runs: one stream's weights, two streams' weights, or a whole ``.keras`` model.

    Attributes:
        stream: ``"rgb"``, ``"flow"`` or ``"joint"`` (two streams, RGB first).
        weights: a preset or ``.weights.h5`` for one stream (default ``kinetics400_<stream>``).
        rgb_weights: with ``"joint"``: the RGB stream's (default ``kinetics400_rgb``).
        flow_weights: with ``"joint"``: the flow stream's (default ``kinetics400_flow``).
        model: a whole ``.keras`` model (e.g. from ``keras-i3d finetune``) instead of weights.
        identity: what identifies the network in the job's record (presets by name, files by
            SHA-256); filled by the caller, which can read the files.
    """

    stream: str = "rgb"
    weights: str | None = None
    rgb_weights: str | None = None
    flow_weights: str | None = None
    model: str | None = None
    identity: tuple[tuple[str, str | None], ...] = ()

    def __post_init__(self):
        if self.stream not in STREAMS:
            raise ValueError(f"`stream` must be one of {', '.join(STREAMS)}; got {self.stream!r}.")
        if self.model is not None and (self.weights or self.rgb_weights or self.flow_weights):
            raise ValueError("A whole `model` takes no weights.")
        if self.stream == "joint" and self.weights is not None:
            raise ValueError("Two streams take `rgb_weights` and `flow_weights`, not `weights`.")
        if self.stream != "joint" and (self.rgb_weights or self.flow_weights):
            raise ValueError("`rgb_weights` and `flow_weights` go with stream 'joint'; use `weights`.")


@dataclasses.dataclass(frozen=True)
class FVDSettings:
    """FVD statistics instead of features: one clip per video, embedded as `keras-i3d fvd` embeds it.

    Attributes:
        frames: frames per clip (at the file's own frame rate).
        clip: ``"first"``, ``"even"`` or ``"random"`` (`keras_i3d.fvd.clips.ClipSampling`).
        start: the first frame a clip may take.
        seed: the random clips' seed.
        resize: the frame resize convention (`keras_i3d.fvd.defaults.RESIZE_MODES`).
        weights: the 400-class network (the reference's ``kinetics400_rgb``, or a ``.weights.h5``).
    """

    frames: int = DEFAULT_FRAMES
    clip: str = "first"
    start: int = 0
    seed: int = 0
    resize: str = "reference"
    weights: str = "kinetics400_rgb"

    def __post_init__(self):
        if self.clip not in CLIP_SAMPLINGS:
            raise ValueError(f"`clip` must be one of {', '.join(CLIP_SAMPLINGS)}; got {self.clip!r}.")
        if self.resize not in RESIZE_MODES:
            raise ValueError(f"`resize` must be one of {', '.join(RESIZE_MODES)}; got {self.resize!r}.")
        if self.frames < MIN_FRAMES:
            raise ValueError(f"FVD clips need at least {MIN_FRAMES} frames; got {self.frames}.")


@dataclasses.dataclass(frozen=True)
class ExtractSettings:
    """Everything that shapes a job's per-video outputs.

    Attributes:
        network: the network (`NetworkSpec`); unused with ``fvd``.
        endpoint: the endpoint whose features are kept (`keras_i3d.VALID_ENDPOINTS`).
        clip_frames: frames per window.
        stride: frames from one window's start to the next.
        fps: the frame rate videos are resampled to, ``None`` for their own.
        pool: ``"avg"`` (a vector per window) or ``None`` (whole feature maps).
        formats: ``("npy",)``, ``("tfrecord",)`` or both.
        batch_size: windows (or FVD clips) per forward pass.
        flow_implementation: TV-L1's implementation (``"auto"``, ``"opencv"``, ``"keras"``).
        fvd: `FVDSettings` for an FVD-statistics job, ``None`` for features.
    """

    network: NetworkSpec = NetworkSpec()
    endpoint: str = FEATURES_ENDPOINT
    clip_frames: int = 64
    stride: int = 32
    fps: float | None = 25.0
    pool: str | None = "avg"
    formats: tuple[str, ...] = ("npy",)
    batch_size: int = 8
    flow_implementation: str = "auto"
    fvd: FVDSettings | None = None

    def __post_init__(self):
        if self.endpoint not in VALID_ENDPOINTS:
            raise ValueError(f"`endpoint` {self.endpoint!r} is not one of {', '.join(VALID_ENDPOINTS)}.")
        for name in ("clip_frames", "stride", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"`fps` must be positive, or None for each video's own; got {self.fps!r}.")
        if self.pool not in ("avg", None):
            raise ValueError(f"`pool` must be 'avg' or None; got {self.pool!r}.")
        if not self.formats or any(f not in FORMATS[:2] for f in self.formats):
            raise ValueError(f"`formats` must name 'npy' and/or 'tfrecord'; got {self.formats!r}.")
        if self.flow_implementation not in FLOW_IMPLEMENTATIONS:
            raise ValueError(
                f"`flow_implementation` must be one of {', '.join(FLOW_IMPLEMENTATIONS)}; "
                f"got {self.flow_implementation!r}."
            )
        if self.fvd is not None and "tfrecord" in self.formats:
            raise ValueError("An FVD-statistics job writes .npy embeddings and the .npz; it has no TFRecord format.")

    @property
    def streams(self) -> tuple[str, ...]:
        """The input streams: ``("rgb",)``, ``("flow",)`` or ``("rgb", "flow")``."""
        if self.fvd is not None:
            return ("rgb",)
        return ("rgb", "flow") if self.network.stream == "joint" else (self.network.stream,)

    def record(self) -> dict:
        """What the output folder records; a rerun must match it (the batch size and flow's device may differ)."""
        if self.fvd is not None:
            return {"job": "fvd", **dataclasses.asdict(self.fvd)}
        return {
            "job": "features",
            "endpoint": self.endpoint,
            "clip_frames": self.clip_frames,
            "stride": self.stride,
            "fps": "native" if self.fps is None else self.fps,
            "pool": self.pool or "none",
            "formats": list(self.formats),
            "flow_implementation": self.flow_implementation if "flow" in self.streams else None,
            **dict(self.network.identity or (("stream", self.network.stream),)),
        }
