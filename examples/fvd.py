"""The Fréchet Video Distance between two sets of synthetic videos, and between a set and itself.

    python examples/fvd.py    # about two minutes on 2 CPU cores (the sets are embedded 4 times)

Makes two sets of 8 videos (16 frames of 64x64): textures drifting right, and the same textures
drifting left; prints the FVD between the sets (the reference's definition: TF1 bilinear resize to
224x224, the 400 Kinetics logits of ``kinetics400_rgb`` averaged over time, unbiased covariances),
then the FVD of the first set against its own saved statistics (0).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from keras_i3d.fvd.api import frechet_video_distance, video_statistics
from keras_i3d.fvd.embedding import FVDEmbedder


def drifting(direction: int, count: int = 8, frames: int = 16, size: int = 64) -> np.ndarray:
    """uint8 videos ``(count, frames, size, size, 3)`` of random textures drifting 3 px per frame."""
    rng = np.random.default_rng(0)
    videos = np.empty((count, frames, size, size, 3), np.uint8)
    for i in range(count):
        texture = np.kron(rng.integers(0, 256, (size // 8, 2 * size // 8, 3)), np.ones((8, 8, 1))).astype(np.uint8)
        for t in range(frames):
            videos[i, t] = np.roll(texture, direction * 3 * t, axis=1)[:, :size]
    return videos


def main() -> None:
    start = time.monotonic()
    embedder = FVDEmbedder(batch_size=8)  # the reference's network and resize
    right, left = drifting(1), drifting(-1)
    print(f"FVD(drifting right, drifting left) = {frechet_video_distance(right, left, embedder):.2f}")
    with tempfile.TemporaryDirectory() as folder:
        saved = video_statistics(right, embedder).save(Path(folder) / "right.npz")
        print(f"FVD(drifting right, its own saved statistics) = {frechet_video_distance(saved, right, embedder):.2f}")
    print(f"{time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
