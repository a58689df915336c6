"""The training commands of ``keras-i3d``: ``dataset`` and ``finetune``."""

from __future__ import annotations

import argparse

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.training.dataset_writer import write_dataset
    from keras_i3d.training.finetune import finetune


def _cmd_dataset(args: argparse.Namespace) -> int:
    summary = write_dataset(
        args.source, args.out, flow=args.flow, shards=args.shards, fps=args.fps, short_side=args.short_side,
        workers=args.workers, progress=not args.quiet,
    )  # fmt: skip
    print(
        f"{summary.out_dir}: {summary.videos} videos, {len(summary.labels)} classes, {summary.frames} frames "
        f"in {len(summary.shards)} shards"
        + (f" ({summary.resumed} kept from an earlier run)" if summary.resumed else "")
    )
    if summary.skipped:
        print(f"skipped {len(summary.skipped)} unreadable videos (listed in {summary.out_dir / 'skipped.txt'}):")
        for path, reason in summary.skipped:
            print(f"  {path}: {reason}")
    return 0


def _cmd_finetune(args: argparse.Namespace) -> int:
    weights = None if args.weights == "none" else (args.weights or f"kinetics400_{args.stream}")
    result = finetune(
        args.dataset, args.out, weights=weights, stream=args.stream, frames=args.frames, size=args.size,
        batch_size=args.batch_size, epochs=args.epochs, freeze_until=None if args.freeze_until == "none" else
        args.freeze_until, learning_rate=args.lr, optimizer=args.optimizer, dropout_rate=args.dropout,
        val=args.val, seed=args.seed, train_batch_norm=args.train_batch_norm, verbose=0 if args.quiet else "auto",
        checkpoints=args.checkpoints,
    )  # fmt: skip
    last = {k: v[-1] for k, v in result.history.items()}
    scores = ", ".join(f"{k} {v:.4f}" for k, v in sorted(last.items()))
    print(f"{result.model} ({len(result.labels)} classes; {result.seconds:.0f} s): {scores}")
    curves = (
        result.curves if result.curves is not None else 'not drawn (needs matplotlib: pip install "keras-i3d[video]")'
    )
    print(f"  log {result.log}, curves {curves}, labels {result.model.with_suffix('').name}.labels.txt")
    if result.checkpoints:
        print(f"  checkpoints ({args.checkpoints}): {', '.join(p.name for p in result.checkpoints)}")
    return 0
