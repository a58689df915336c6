"""Streaming FVD statistics: the count, float64 sum and sum of outer products of the embeddings.

Memory is bounded by one batch and a ``d x d`` matrix, however many videos
pass through. Statistics carry the settings that made them (frames, resize
mode, network, package version) and refuse to be combined or compared with
statistics made otherwise; they save as ``.npz`` (atomically) and load back.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from keras_i3d.errors import InputError
from keras_i3d.fvd.frechet import frechet_distance
from keras_i3d.utils.files import atomic_path
from keras_i3d.version import __version__

#: Settings that must agree for two sets of statistics to be combined or compared.
COMPARED_SETTINGS = ("frames", "resize", "network", "embedding")


class FVDStatistics:
    """Embedding statistics of a set of videos, accumulated batch by batch.

    Args:
        dim: the embedding's size (400 logits for FVD).
        settings: how the embeddings were made (``frames``, ``resize``, ``network``,
            ``embedding``, ...); saved with the statistics and compared by `frechet_distance_to`.
    """

    def __init__(self, dim: int, settings: dict | None = None):
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ValueError(f"`dim` must be a positive int; got {dim!r}.")
        self.dim = dim
        self.settings = dict(settings or {})
        self.count = 0
        self.sum = np.zeros(dim, np.float64)
        self.outer = np.zeros((dim, dim), np.float64)

    def update(self, embeddings) -> None:
        """Adds a batch of embeddings ``(batch, dim)`` (NumPy or any backend's tensor).

        Raises:
            ValueError: for another shape, or values that are not finite.
        """
        x = np.asarray(embeddings, np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"Embeddings must be (batch, {self.dim}); got shape {x.shape}.")
        if not np.all(np.isfinite(x)):
            raise ValueError("The embeddings hold values that are not finite (NaN or inf): check the videos.")
        self.count += x.shape[0]
        self.sum += x.sum(axis=0)
        self.outer += x.T @ x

    def merge(self, other: FVDStatistics) -> FVDStatistics:
        """The statistics of both sets (e.g. from several workers); refuses other settings."""
        self._check_comparable(other, "combine")
        merged = FVDStatistics(self.dim, self.settings)
        merged.count = self.count + other.count
        merged.sum = self.sum + other.sum
        merged.outer = self.outer + other.outer
        return merged

    @property
    def mean(self) -> np.ndarray:
        """The mean embedding (float64)."""
        self._check_count(1)
        return self.sum / self.count

    def covariance(self, unbiased: bool = True) -> np.ndarray:
        """The covariance (float64): unbiased (``n - 1``, the reference's) or biased (``n``)."""
        self._check_count(2)
        mean = self.mean
        scatter = self.outer - self.count * np.outer(mean, mean)
        return scatter / (self.count - 1 if unbiased else self.count)

    def frechet_distance_to(self, other: FVDStatistics, unbiased: bool = True) -> float:
        """The Fréchet distance between the two sets' Gaussians (the FVD); refuses other settings."""
        self._check_comparable(other, "compare")
        return frechet_distance(self.mean, self.covariance(unbiased), other.mean, other.covariance(unbiased))

    def save(self, path: str | os.PathLike) -> Path:
        """Writes ``path`` (``.npz``) atomically: the sums, the count and the settings."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ValueError(f"FVD statistics are saved as .npz; got {path.name}.")
        meta = {"count": self.count, "dim": self.dim, "settings": self.settings, "keras_i3d": __version__}
        with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, sum=self.sum, outer=self.outer, meta=np.array(json.dumps(meta, sort_keys=True)))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> FVDStatistics:
        """Reads statistics written by `save`.

        Raises:
            InputError: for a file that is not FVD statistics (a `ValueError`).
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                total, outer = data["sum"], data["outer"]
            stats = cls(int(meta["dim"]), meta["settings"])
            if total.shape != (stats.dim,) or outer.shape != (stats.dim, stats.dim):
                raise ValueError(f"sums of shapes {total.shape} and {outer.shape} for dim {stats.dim}")
        except (OSError, KeyError, TypeError, ValueError) as e:
            raise InputError(f"{path} is not FVD statistics saved by keras_i3d ({e}).") from None
        stats.count, stats.sum, stats.outer = int(meta["count"]), total.astype(np.float64), outer.astype(np.float64)
        return stats

    def _check_count(self, least: int) -> None:
        if self.count < least:
            raise ValueError(f"FVD statistics need at least {least} videos; these hold {self.count}.")

    def _check_comparable(self, other: FVDStatistics, verb: str) -> None:
        if other.dim != self.dim:
            raise ValueError(f"Cannot {verb} statistics of {self.dim}- and {other.dim}-dimensional embeddings.")
        differ = [
            f"{key}: {self.settings.get(key)!r} vs {other.settings.get(key)!r}"
            for key in COMPARED_SETTINGS
            if self.settings.get(key) != other.settings.get(key)
        ]
        if differ:
            raise ValueError(f"Cannot {verb} FVD statistics made with different settings ({'; '.join(differ)}).")

    def __repr__(self) -> str:
        return f"FVDStatistics(count={self.count}, dim={self.dim}, settings={self.settings})"
