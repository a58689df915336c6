"""FVD's embedding: Kinetics-400 I3D's 400 pre-softmax logits, averaged over time, in float32.

The FVD reference embeds videos with the TF-Hub module ``deepmind/i3d-kinetics-400/1``,
byte-identical to DeepMind's ``rgb_scratch`` checkpoint, i.e. the ``kinetics400_rgb``
preset; its output is DeepMind's ``Logits`` end point (``RGB/inception_i3d/Mean``),
which is ``I3D(classifier_activation=None)``'s output. `FVDEmbedder` runs that network,
fused for inference (`keras_i3d.fuse_for_inference`, float32), in batches, on whatever
backend Keras runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import keras
import numpy as np

from keras_i3d.applications.i3d import I3D
from keras_i3d.fvd.defaults import MIN_FRAMES, RESIZE_MODES
from keras_i3d.fvd.resize import preprocess_for_fvd
from keras_i3d.model.fusion import fuse_for_inference
from keras_i3d.utils.files import sha256_file

#: The embedding's size: the Kinetics-400 logits.
FVD_DIM = 400
#: What the embedding is, recorded in statistics.
EMBEDDING = "logits"


class FVDEmbedder:
    """Videos ``(N, T, H, W, 3)`` (values 0-255) -> FVD embeddings ``(N, 400)``.

    Args:
        weights: the network: ``"kinetics400_rgb"`` (the reference's) or a ``.weights.h5`` of the same
            architecture with 400 classes.
        resize: one of `keras_i3d.fvd.resize.RESIZE_MODES` (default: the reference's).
        batch_size: videos per forward pass.
    """

    def __init__(self, weights: str = "kinetics400_rgb", resize: str = "reference", batch_size: int = 8):
        if resize not in RESIZE_MODES:
            raise ValueError(f"`resize` must be one of {', '.join(RESIZE_MODES)}; got {resize!r}.")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"`batch_size` must be a positive int; got {batch_size!r}.")
        self.weights, self.resize, self.batch_size = weights, resize, batch_size
        self.network = (
            f"{Path(weights).name} sha256:{sha256_file(weights)}" if os.path.isfile(str(weights)) else str(weights)
        )
        model = I3D(weights=weights, classifier_activation=None)
        if model.output.shape[-1] != FVD_DIM:
            raise ValueError(f"FVD embeds with a 400-class network; {weights} has {model.output.shape[-1]} classes.")
        self.model = fuse_for_inference(model)

    def settings(self, frames: int) -> dict:
        """The settings that statistics of this embedder's clips of ``frames`` frames carry."""
        return {"frames": int(frames), "resize": self.resize, "network": self.network, "embedding": EMBEDDING}

    def __call__(self, videos) -> np.ndarray:
        """Embeds videos ``(N, T, H, W, 3)`` with values 0-255 (NumPy or a backend's tensor), ``batch_size`` at a time.

        Raises:
            ValueError: for another rank or channel count, fewer than `MIN_FRAMES` frames, values that are not
                finite or outside [0, 255].
        """
        videos = check_videos(videos)
        out = []
        for start in range(0, len(videos), self.batch_size):
            clips = preprocess_for_fvd(videos[start : start + self.batch_size], self.resize)
            out.append(keras.ops.convert_to_numpy(self.model.predict_on_batch(clips)).astype(np.float32))
        return np.concatenate(out) if out else np.zeros((0, FVD_DIM), np.float32)


def check_videos(videos) -> np.ndarray:
    """``videos`` as a NumPy array, if FVD can take them (see `FVDEmbedder.__call__`)."""
    videos = np.asarray(keras.ops.convert_to_numpy(videos) if not isinstance(videos, np.ndarray) else videos)
    if videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"FVD takes RGB videos (N, T, H, W, 3) with values 0-255; got shape {videos.shape}.")
    if videos.shape[1] < MIN_FRAMES:
        raise ValueError(
            f"FVD's network needs at least {MIN_FRAMES} frames per video (its Logits pool); got {videos.shape[1]}."
        )
    if videos.dtype != np.uint8:
        if not np.issubdtype(videos.dtype, np.number) or not np.all(np.isfinite(videos)):
            raise ValueError("The videos hold values that are not finite numbers (NaN or inf).")
        low, high = float(videos.min(initial=0)), float(videos.max(initial=0))
        if low < 0 or high > 255:
            raise ValueError(f"FVD takes values 0-255, as the reference does; these range over [{low:g}, {high:g}].")
    return videos
