"""``ModelHandler``s for Beam's ``RunInference``: I3D on any Keras backend, loaded once per worker.

Beam's own TensorFlow handler runs TensorFlow models only (and cannot load Keras 3
SavedModels, apache/beam#30616); it has no Keras or JAX handler. These build the
network with Keras on whatever backend ``KERAS_BACKEND`` names in the worker, fuse it for
inference (`keras_i3d.fuse_for_inference`: the same outputs, faster) and batch:

- `I3DModelHandler`: clips in (preprocessed windows, ``(T, H, W, C)`` in ``[-1, 1]``, or
  ``{"rgb": ..., "flow": ...}`` for two streams), a dict of outputs per clip out — the logits
  and any endpoints, pooled or whole. For pipelines that prepare their own clips.
- `I3DVideoModelHandler`: videos in (`keras_i3d.beam.sources.VideoTask`), a
  `keras_i3d.beam.extraction.VideoResult` per video out. The video is decoded, its flow
  computed and its windows batched through the network inside the handler, so memory
  stays bounded by a batch of windows however long the video is, and a video's features
  can be written as soon as they exist (what makes ``keras-i3d extract`` resumable per video).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import keras
import numpy as np

from keras_i3d.beam.extraction import VideoExtractor, build_network
from keras_i3d.beam.library import ModelHandler, PredictionResult
from keras_i3d.beam.settings import ExtractSettings, NetworkSpec
from keras_i3d.model.architecture import LOGITS_LAYER
from keras_i3d.model.fusion import fuse_for_inference
from keras_i3d.video.inference import model_streams, window_extractor

#: RunInference's metrics namespace.
METRICS_NAMESPACE = "keras_i3d"


class _StreamRunners:
    """Each stream's window model (a plain object: Beam keeps a weak reference to the loaded model)."""

    def __init__(self, runners: dict[str, tuple[keras.Model, bool]]):
        self.runners = runners


class I3DModelHandler(ModelHandler):
    """Clips -> I3D outputs, for ``RunInference``.

    Args:
        network: the network (`keras_i3d.beam.settings.NetworkSpec`).
        endpoints: endpoint names whose features each result holds, beside the logits (when the network has them).
        pool: ``"avg"`` averages each feature map over time and space; ``None`` keeps it.
        max_batch_size: clips per forward pass.
        fuse: fold BatchNorm into the convolutions first (`keras_i3d.fuse_for_inference`).

    Each `PredictionResult`'s inference is ``{"Logits": (classes,), "<endpoint>": ...}``;
    two-stream networks sum the logits and name features ``"rgb/<endpoint>"`` and ``"flow/<endpoint>"``.
    """

    def __init__(
        self,
        network: NetworkSpec,
        endpoints: Sequence[str] = (),
        pool: str | None = "avg",
        max_batch_size: int = 8,
        fuse: bool = True,
    ):
        if pool not in ("avg", None):
            raise ValueError(f"`pool` must be 'avg' or None; got {pool!r}.")
        if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 1:
            raise ValueError(f"`max_batch_size` must be a positive int; got {max_batch_size!r}.")
        super().__init__()
        self.network, self.endpoints, self.pool = network, tuple(endpoints), pool
        self.max_batch_size, self.fuse = max_batch_size, fuse

    def load_model(self) -> _StreamRunners:
        """Builds the network (once per worker process) and its per-stream window models."""
        model = build_network(self.network)
        model = fuse_for_inference(model) if self.fuse else model
        return _StreamRunners({s: window_extractor(n, self.endpoints) for s, n in model_streams(model).items()})

    def run_inference(
        self, batch: Sequence, model: _StreamRunners, inference_args: dict | None = None
    ) -> Iterable[PredictionResult]:
        """Runs a batch of clips; one `PredictionResult` per clip, in order."""
        runners = model.runners
        two_streams = len(runners) > 1
        outputs: dict[str, np.ndarray] = {}
        logits = []
        for stream, (extractor, has_logits) in runners.items():
            clips = [example[stream] if two_streams else example for example in batch]
            result = extractor.predict_on_batch(np.stack(clips).astype(np.float32, copy=False))
            for name, tensor in result.items():
                value = np.asarray(keras.ops.convert_to_numpy(tensor))
                if name == LOGITS_LAYER:
                    logits.append(value)
                elif self.pool == "avg":
                    outputs[f"{stream}/{name}" if two_streams else name] = value.reshape(
                        len(value), -1, value.shape[-1]
                    ).mean(axis=1)
                else:
                    outputs[f"{stream}/{name}" if two_streams else name] = value
            if not has_logits:
                logits = None
        if logits:
            outputs[LOGITS_LAYER] = sum(logits)
        return [PredictionResult(example, {k: v[i] for k, v in outputs.items()}) for i, example in enumerate(batch)]

    def batch_elements_kwargs(self) -> dict:
        """Batches of up to ``max_batch_size`` clips."""
        return {"max_batch_size": self.max_batch_size}

    def get_metrics_namespace(self) -> str:
        """``keras_i3d``."""
        return METRICS_NAMESPACE


class I3DVideoModelHandler(ModelHandler):
    """Videos -> their features (or FVD embeddings), for ``RunInference``.

    Args:
        settings: what to compute (`keras_i3d.beam.settings.ExtractSettings`).

    Each `PredictionResult`'s inference is a `keras_i3d.beam.extraction.VideoResult` (its
    ``error`` set, not raised, for a video that cannot be processed).
    """

    def __init__(self, settings: ExtractSettings):
        super().__init__()
        self.settings = settings

    def load_model(self) -> VideoExtractor:
        """The worker's extractor; it builds the network once, for its first video."""
        return VideoExtractor(self.settings)

    def run_inference(
        self, batch: Sequence, model: VideoExtractor, inference_args: dict | None = None
    ) -> Iterable[PredictionResult]:
        """Processes each video of the batch (its windows batched by ``settings.batch_size``)."""
        return [PredictionResult(task, model(task)) for task in batch]

    def batch_elements_kwargs(self) -> dict:
        """One video per call: its windows are the batch."""
        return {"min_batch_size": 1, "max_batch_size": 1}

    def get_metrics_namespace(self) -> str:
        """``keras_i3d``."""
        return METRICS_NAMESPACE
