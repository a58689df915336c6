"""TV-L1 optical flow two ways: OpenCV's CPU class and the batched keras.ops port, side by side.

    KERAS_BACKEND=jax python examples/tvl1_vs_opencv.py              # about a minute on 2 CPU cores
    KERAS_BACKEND=jax python examples/tvl1_vs_opencv.py --size 256

Computes the flow of five kinds of motion with both implementations (`keras_i3d.video.flow.tvl1`):
consecutive frames of DeepMind's sample clip (real motion), a sub-pixel shift, a zoom and a small
rotation of a smooth texture, and a square moving over a texture. Prints the mean end-point error of
the keras implementation against OpenCV, its 95th percentile and the mean flow, and each side's
time. The measured table is in docs/video.md.
"""

from __future__ import annotations

import argparse
import time

import cv2
import numpy as np

from keras_i3d.video.decode import read_gif
from keras_i3d.video.flow import grayscale, tvl1
from keras_i3d.weights.deepmind import sample_clip


def texture(size: int, seed: int) -> np.ndarray:
    """A smooth random texture in [0.1, 0.9], float32 ``(size, size)``."""
    noise = cv2.GaussianBlur(np.random.default_rng(seed).uniform(0, 1, (size, size)).astype(np.float32), (0, 0), 2)
    return (0.1 + 0.8 * (noise - noise.min()) / (noise.max() - noise.min())).astype(np.float32)


def warped(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    size = image.shape[0]
    return cv2.warpAffine(image, matrix.astype(np.float32), (size, size), borderMode=cv2.BORDER_REFLECT)


def cases(size: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Frame pairs (grayscale float32 in [0, 1], ``(2, size, size)``), by name."""
    clip = read_gif(sample_clip("rgb", progress=False))
    gray = np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) for g in grayscale(clip)])
    centre = (size / 2, size / 2)
    square = texture(size, 3) * 0.5
    moved = square.copy()
    side = size // 4
    patch = texture(side, 4) * 0.5 + 0.5
    square[side : 2 * side, side : 2 * side] = patch
    moved[side + 1 : 2 * side + 1, side + 2 : 2 * side + 2] = patch
    base = [texture(size, seed) for seed in range(3)]
    return {
        "sample clip, frames 72-73": (gray[72], gray[73]),
        "shift (0.4, 0.7) px": (base[0], warped(base[0], np.array([[1, 0, 0.4], [0, 1, 0.7]]))),
        "zoom 1.05": (base[1], warped(base[1], cv2.getRotationMatrix2D(centre, 0, 1.05))),
        "rotation 2 degrees": (base[2], warped(base[2], cv2.getRotationMatrix2D(centre, 2, 1))),
        "moving square (occlusion)": (square, moved),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=128, help="frame size (default 128)")
    args = parser.parse_args()
    pairs = cases(args.size)
    first = np.stack([a for a, _ in pairs.values()])
    second = np.stack([b for _, b in pairs.values()])
    start = time.perf_counter()
    reference = tvl1(first, second, implementation="opencv")
    opencv_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ours = tvl1(first, second, implementation="keras", batch_size=len(first))  # one batch; compiles first
    keras_seconds = time.perf_counter() - start
    print(f"{'case':<28} {'mean EPE':>9} {'p95 EPE':>9} {'mean flow':>10}  (px, {args.size}x{args.size})")
    for name, a, b in zip(pairs, ours, reference, strict=True):
        epe = np.hypot(*(a - b).transpose(2, 0, 1))
        print(
            f"{name:<28} {epe.mean():9.4f} {np.percentile(epe, 95):9.4f} {np.hypot(*b.transpose(2, 0, 1)).mean():10.3f}"
        )
    print(f"OpenCV {opencv_seconds:.1f} s; keras.ops {keras_seconds:.1f} s (with its compilation)")


if __name__ == "__main__":
    main()
