"""A stand-in FVD embedder for tests of FVD's plumbing (the real network is tested in tests/fvd/test_fvd.py)."""

from __future__ import annotations

import numpy as np


class StandIn:
    """An embedder whose 400 "logits" are fixed random projections of the mean frame: cheap and exact."""

    batch_size = 3

    def __init__(self):
        self.calls = 0

    def settings(self, frames):
        return {"frames": frames, "resize": "reference", "network": "stand-in", "embedding": "logits"}

    def __call__(self, videos):
        self.calls += 1
        videos = np.asarray(videos, np.float64)
        features = videos.mean(axis=(1, 2, 3))  # (N, 3)
        projection = np.random.default_rng(0).normal(size=(3, 400))
        return np.tanh(features @ projection / 255) + videos[:, :, 0, 0, 0].mean(axis=1, keepdims=True) / 255
