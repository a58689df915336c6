"""The ``fvd`` command of ``keras-i3d``: the Fréchet Video Distance between two sets of videos."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.fvd.api import is_statistics, video_statistics
    from keras_i3d.fvd.clips import ClipSampling
    from keras_i3d.fvd.embedding import FVDEmbedder


def _source(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise ValueError(f"{path} does not exist.")
    if path.is_file() and path.suffix.lower() not in (".npy", ".npz"):
        raise ValueError(f"{path}: give a folder of videos, a .npy of videos or saved statistics (.npz).")
    return path


def _cmd_fvd(args: argparse.Namespace) -> int:
    real, fake = _source(args.real), _source(args.fake)
    if args.save_stats is not None and Path(args.save_stats).suffix != ".npz":
        raise ValueError(f"--save-stats writes .npz; got {Path(args.save_stats).name}.")
    both_saved = is_statistics(real) and is_statistics(fake)
    embedder = None if both_saved else FVDEmbedder(args.weights, args.resize, args.batch_size)
    progress = not args.quiet
    clips = ClipSampling(args.clip, args.start, args.seed)
    real_stats = video_statistics(real, embedder, args.frames, args.batch_size, progress, clips)
    if args.save_stats is not None:
        real_stats.save(args.save_stats)
    fake_stats = video_statistics(fake, embedder, args.frames, args.batch_size, progress, clips)
    value = real_stats.frechet_distance_to(fake_stats)
    if args.json:
        print(json.dumps({
            "fvd": value, "real": {"source": str(real), "videos": real_stats.count},
            "fake": {"source": str(fake), "videos": fake_stats.count}, "settings": real_stats.settings,
        }))  # fmt: skip
    else:
        print(f"{value:.4f}")
    return 0
