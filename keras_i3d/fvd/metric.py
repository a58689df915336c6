"""FVD as a Keras metric, to evaluate a video generator with ``model.evaluate`` or in a callback."""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_i3d.fvd.embedding import FVD_DIM, FVDEmbedder, check_videos
from keras_i3d.fvd.statistics import FVDStatistics


class FrechetVideoDistance(keras.metrics.Metric):
    """The Fréchet Video Distance between real videos (``y_true``) and generated ones (``y_pred``).

    ``update_state(y_true, y_pred)`` embeds both batches (videos ``(N, T, H, W, 3)``,
    values 0-255) and adds them to running statistics; ``result()`` is the FVD of
    everything seen since ``reset_state()``. With ``real_statistics`` (statistics or a
    saved ``.npz``, e.g. from ``keras-i3d fvd --save-stats``) the real side is fixed and
    ``y_true`` may be ``None``.

    The embedding runs the network on NumPy arrays, outside any compiled graph: use
    it eagerly (``model.compile(..., run_eagerly=True)``, or call it from a callback or
    an evaluation loop), on any backend.

    Args:
        real_statistics: precomputed statistics of the real videos, or ``None``.
        embedder: the network and resize (default: the reference's, built on first use).
        name: the metric's name.
    """

    def __init__(
        self,
        real_statistics: FVDStatistics | str | os.PathLike | None = None,
        embedder: FVDEmbedder | None = None,
        name: str = "fvd",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        if real_statistics is not None and not isinstance(real_statistics, FVDStatistics):
            real_statistics = FVDStatistics.load(real_statistics)
        self.real_statistics = real_statistics
        self._embedder = embedder
        self.reset_state()

    @property
    def embedder(self) -> FVDEmbedder:
        """The embedder, built when first needed."""
        if self._embedder is None:
            self._embedder = FVDEmbedder()
        return self._embedder

    def _statistics(self, videos: np.ndarray) -> FVDStatistics:
        return FVDStatistics(FVD_DIM, self.embedder.settings(videos.shape[1]))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Adds a batch of real (``y_true``, unless statistics were given) and generated videos (``y_pred``)."""
        if sample_weight is not None:
            raise ValueError("FVD weighs every video alike; `sample_weight` is not supported.")
        fake = check_videos(y_pred)
        if self.fake is None:
            self.fake = self._statistics(fake)
        self.fake.update(self.embedder(fake))
        if self.real_statistics is None:
            if y_true is None:
                raise ValueError("Without `real_statistics`, update_state needs real videos as y_true.")
            real = check_videos(y_true)
            if self.real is None:
                self.real = self._statistics(real)
            self.real.update(self.embedder(real))

    def result(self):
        """The FVD of everything seen since the last reset (needs at least 2 videos on each side)."""
        real = self.real_statistics if self.real_statistics is not None else self.real
        if real is None or self.fake is None:
            raise ValueError("FVD needs at least 2 videos on each side; update_state has seen none.")
        return keras.ops.convert_to_tensor(real.frechet_distance_to(self.fake), dtype="float32")

    def reset_state(self) -> None:
        """Forgets the videos seen (keeps ``real_statistics``)."""
        self.real: FVDStatistics | None = None
        self.fake: FVDStatistics | None = None

    def get_config(self) -> dict:  # noqa: D102 - Keras serialisation
        return {"name": self.name}
