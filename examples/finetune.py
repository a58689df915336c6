"""Fine-tune Kinetics-400 I3D on a motion dataset this script makes, where one frame is not enough.

Four classes of a textured square on a textured background: moving up, moving
down, growing, shrinking. Start positions, sizes and colours are random, so
any single frame could belong to any class: only the motion tells them apart.
The script writes the videos (PyAV), turns them into TFRecords with
`keras_i3d.training.dataset_writer.write_dataset` (what ``keras-i3d dataset`` does),
fine-tunes with `keras_i3d.training.finetune.finetune` (what ``keras-i3d finetune``
does) and reports the validation accuracy of each stage: stage 1 fits the new
head on cached Kinetics features (a converged linear probe, its L2 penalty
chosen on the validation videos); stage 2 (``--stage2 yes``; by default only
from 1000 training videos) then trains Mixed_5b/5c at Adam 1e-4 with early
stopping, keeping stage 1's weights unless an epoch beats them.

    python examples/finetune.py --out /tmp/motion                # about 3 minutes on 2 CPU cores
    python examples/finetune.py --out /tmp/motion --stage2 yes   # both stages

The same steps from the command line::

    keras-i3d dataset /tmp/motion/videos/train /tmp/motion/train --short-side 128
    keras-i3d dataset /tmp/motion/videos/val /tmp/motion/val --short-side 128
    keras-i3d finetune /tmp/motion/train --val /tmp/motion/val --frames 16 --size 112 --seed 0 \\
        --out /tmp/motion/motion.keras
"""

from __future__ import annotations

import argparse
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from keras_i3d.training.dataset_writer import write_dataset
from keras_i3d.training.finetune import finetune

CLASSES = ("moving_down", "moving_up", "growing", "shrinking")
HEIGHT, WIDTH, FRAMES = 128, 170, 32


def motion_video(kind: str, rng: np.random.Generator) -> np.ndarray:
    """uint8 frames ``(FRAMES, HEIGHT, WIDTH, 3)`` of one example of class ``kind``."""
    background = rng.uniform(30, 110, (HEIGHT // 8 + 1, WIDTH // 8 + 1, 3))
    background = np.kron(background, np.ones((8, 8, 1)))[:HEIGHT, :WIDTH]
    colour = rng.uniform(140, 255, 3)
    texture = rng.uniform(0.75, 1.0, (16, 16, 1))
    y, x = rng.uniform(40, HEIGHT - 40), rng.uniform(40, WIDTH - 40)
    side = rng.uniform(20, 44)
    speed = rng.uniform(1.2, 2.2)
    frames = np.empty((FRAMES, HEIGHT, WIDTH, 3), np.uint8)
    for t in range(FRAMES):
        dt = t - FRAMES / 2
        cy = y + {"moving_down": speed * dt, "moving_up": -speed * dt}.get(kind, 0.0)
        s = side * {"growing": 1.025**dt, "shrinking": 1.025**-dt}.get(kind, 1.0)
        canvas = background.copy()
        top, left = int(round(cy - s / 2)), int(round(x - s / 2))
        bottom, right = int(round(cy + s / 2)), int(round(x + s / 2))
        t0, l0 = max(top, 0), max(left, 0)
        t1, l1 = min(bottom, HEIGHT), min(right, WIDTH)
        if t1 > t0 and l1 > l0:
            patch = np.kron(texture, np.ones((8, 8, 1)))
            rows = np.linspace(0, patch.shape[0] - 1, bottom - top).astype(int)[t0 - top : t1 - top]
            cols = np.linspace(0, patch.shape[1] - 1, right - left).astype(int)[l0 - left : l1 - left]
            canvas[t0:t1, l0:l1] = colour * patch[rows][:, cols]
        frames[t] = np.clip(canvas, 0, 255)
    return frames


def write_mp4(path: Path, frames: np.ndarray) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def make_videos(root: Path, per_class: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for kind in CLASSES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = root / kind / f"{kind}_{i:03d}.mp4"
            if not path.exists():
                write_mp4(path, motion_video(kind, rng))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="/tmp/keras_i3d_motion", help="working folder")
    parser.add_argument("--train-per-class", type=int, default=32)
    parser.add_argument("--val-per-class", type=int, default=8)
    parser.add_argument("--stage2", default="auto", choices=("auto", "yes", "no"), help="run stage 2")
    parser.add_argument("--epochs", type=int, default=10, help="stage 2's most epochs")
    parser.add_argument("--weights", default="kinetics400_rgb", help="a preset, or 'none' for random weights")
    args = parser.parse_args()
    out = Path(args.out)
    start = time.monotonic()
    make_videos(out / "videos" / "train", args.train_per_class, seed=0)
    make_videos(out / "videos" / "val", args.val_per_class, seed=1)
    for split in ("train", "val"):
        write_dataset(out / "videos" / split, out / split, short_side=128, progress=False)
    prepared = time.monotonic() - start
    result = finetune(
        out / "train",
        out / "motion.keras",
        weights=None if args.weights == "none" else args.weights,
        frames=16,
        size=112,
        batch_size=8,
        epochs=args.epochs,
        val=out / "val",
        seed=0,
        stage2=args.stage2,
        verbose=2,
    )
    accuracy = result.history["val_accuracy"]
    print(f"data: {prepared:.0f} s; fine-tuning: {result.seconds:.0f} s")
    print(f"stage 1 (head on cached features, L2 {result.head.l2:g}): validation accuracy {accuracy[0]:.3f}")
    if result.stage2_epochs:
        print("stage 2, validation accuracy per epoch: " + ", ".join(f"{a:.3f}" for a in accuracy[1:]))
    evaluation = result.evaluation
    print(f"saved ({result.chosen}): {evaluation.accuracy:.3f} on {evaluation.videos} validation videos; per class: "
          + ", ".join(f"{name} {value:.2f}" for name, value in evaluation.per_class.items()))  # fmt: skip
    print(f"model: {result.model}; curves: {result.curves}; confusion matrix: {result.confusion_picture}")


if __name__ == "__main__":
    main()
