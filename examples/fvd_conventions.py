"""How much each FVD convention moves the number: the reference, half-pixel resize, centre crop, biased covariance.

    python examples/fvd_conventions.py             # about 6 minutes on 2 CPU cores (PyTorch backend)
    python examples/fvd_conventions.py --count 8   # quicker, noisier

Makes three sets of videos (16 frames of 64x96, not square, so the crop matters): random block textures
drifting right, the same textures drifting left, and other textures drifting right (the same
distribution as the first set, other samples). For each resize mode it embeds the sets once and prints
the FVD of both pairs with the unbiased (reference) and the biased covariance. The measured table is in
docs/fvd.md.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from keras_i3d.fvd.api import video_statistics
from keras_i3d.fvd.defaults import RESIZE_MODES
from keras_i3d.fvd.embedding import FVDEmbedder


def drifting(direction: int, seed: int, count: int, frames: int = 16, height: int = 64, width: int = 96) -> np.ndarray:
    """uint8 videos ``(count, frames, height, width, 3)`` of 8-pixel block textures drifting 3 px per frame."""
    rng = np.random.default_rng(seed)
    videos = np.empty((count, frames, height, width, 3), np.uint8)
    for i in range(count):
        blocks = rng.integers(0, 256, (height // 8, 2 * width // 8, 3))
        texture = np.kron(blocks, np.ones((8, 8, 1))).astype(np.uint8)
        for t in range(frames):
            videos[i, t] = np.roll(texture, direction * 3 * t, axis=1)[:, :width]
    return videos


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24, help="videos per set (default 24)")
    args = parser.parse_args()
    sets = {
        "right": drifting(1, 0, args.count),
        "left": drifting(-1, 0, args.count),
        "right'": drifting(1, 1, args.count),
    }
    print(f"{'resize':<12} {'pair':<16} {'unbiased':>10} {'biased':>10}")
    for mode in RESIZE_MODES:
        start = time.monotonic()
        embedder = FVDEmbedder(resize=mode)
        stats = {name: video_statistics(videos, embedder, progress=False) for name, videos in sets.items()}
        for a, b in (("right", "left"), ("right", "right'")):
            unbiased = stats[a].frechet_distance_to(stats[b])
            biased = stats[a].frechet_distance_to(stats[b], unbiased=False)
            print(f"{mode:<12} {a + ' vs ' + b:<16} {unbiased:>10.2f} {biased:>10.2f}")
        print(f"{'':<12} ({time.monotonic() - start:.0f} s)")


if __name__ == "__main__":
    main()
