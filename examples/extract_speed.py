"""How fast `keras-i3d extract` runs on this machine: 1 and 2 DirectRunner workers beside `keras-i3d features`.

Writes a folder of videos, then times each command on it in a fresh process and prints a Markdown table
(videos/s and windows/s, the speed-up over `features`). The videos are DeepMind's sample cricket clip
(79 frames of real footage, from $KINETICS_I3D_DATA; every other one mirrored) or, with --content
synthetic or without the data folder, moving textured squares. Real footage matters for flow: TV-L1 stops
iterating early on the synthetic squares. The command BENCHMARKS.md's "Dataset extraction" table comes
from::

    KERAS_BACKEND=torch python examples/extract_speed.py --videos 4 --streams rgb,joint

Random weights of DeepMind's architecture are used (the speed does not depend on the values), so no
download or data folder is needed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from keras_i3d import I3D  # noqa: E402
from keras_i3d.video.decode import read_gif  # noqa: E402
from tests.support.synthetic_videos import moving_square, write_video  # noqa: E402


def _run(argv: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "keras_i3d", *argv], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of each synthetic video")
    parser.add_argument("--content", choices=("cricket", "synthetic"), default="cricket")
    parser.add_argument("--streams", default="rgb,joint")
    parser.add_argument("--clip-frames", type=int, default=16)
    parser.add_argument("--stride", type=int, default=4)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="extract-speed-"))
    videos = work / "videos"
    videos.mkdir()
    cricket = Path(os.environ.get("KINETICS_I3D_DATA", REPO.parent / "shared" / "kinetics-i3d"))
    cricket = cricket / "v_CricketShot_g04_c01_rgb.gif"
    if args.content == "cricket" and cricket.is_file():
        clip, what = read_gif(cricket), "DeepMind's cricket clip (79 frames, 224x224)"
    else:
        clip = moving_square(round(args.seconds * 25), 240, 320)
        what = f"moving squares ({len(clip)} frames, 240x320)"
    frames = len(clip)
    for i in range(args.videos):
        write_video(videos / f"{i}.mp4", clip[:, :, ::-1] if i % 2 else clip)
    keras.utils.set_random_seed(0)
    I3D(weights=None).save_weights(work / "rgb.weights.h5")
    I3D(weights=None, input_shape=(None, None, None, 2)).save_weights(work / "flow.weights.h5")
    windows_per_video = (frames - args.clip_frames) // args.stride + 1 + ((frames - args.clip_frames) % args.stride > 0)
    windows = args.videos * windows_per_video
    common = ["--clip-frames", str(args.clip_frames), "--stride", str(args.stride), "--batch-size", "8", "--quiet",
              "--flow-implementation", "opencv"]  # fmt: skip
    rows = []
    for stream in args.streams.split(","):
        network = ["--stream", stream]
        if stream == "joint":
            network += ["--rgb-weights", str(work / "rgb.weights.h5"), "--flow-weights", str(work / "flow.weights.h5")]
        else:
            network += ["--weights", str(work / f"{stream}.weights.h5")]
        base = _run(["features", str(videos), "--out", str(work / f"f-{stream}"), "--no-flow-cache", *network, *common])
        rows.append((stream, "features (one process)", base, base))
        for workers in (1, 2):
            out = work / f"e-{stream}-{workers}"
            seconds = _run(["extract", str(videos), str(out), "--num-workers", str(workers), *network, *common])
            rows.append((stream, f"extract, {workers} worker{'s' if workers > 1 else ''}", seconds, base))
    print(f"{args.videos} videos of {what} at 25 fps, windows of {args.clip_frames} frames every {args.stride}: "
          f"{windows} windows per stream\n")  # fmt: skip
    print("| stream | command | wall s | videos/s | windows/s | vs features |")
    print("|---|---|---:|---:|---:|---:|")
    for stream, what, seconds, base in rows:
        print(f"| {stream} | {what} | {seconds:.1f} | {args.videos / seconds:.3f} | {windows / seconds:.2f} | "
              f"{base / seconds:.2f}x |")  # fmt: skip
    print(json.dumps({"work": str(work)}))


if __name__ == "__main__":
    main()
