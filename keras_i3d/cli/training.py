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
        workers=args.workers, progress=not args.quiet, flow_implementation=args.flow_implementation,
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
        checkpoints=args.checkpoints, stage2=args.stage2, views=args.views, holdout=args.holdout,
        patience=args.patience,
    )  # fmt: skip
    for line in finetune_summary(result, args.stage2):
        print(line)
    return 0


def finetune_summary(result, stage2: str) -> list[str]:
    """The lines ``keras-i3d finetune`` prints: accuracy per stage, per class, and the files written."""
    evaluation, history = result.evaluation, result.history
    stage1 = (
        f"stage 1 (head on cached features, L2 {result.head.l2:g}; {result.stage1_seconds:.0f} s) "
        f"{history['val_accuracy'][0]:.3f}"
    )
    if result.stage2_epochs:
        best = max(history["val_accuracy"][1:])
        seconds = result.seconds - result.stage1_seconds
        stage2_text = f"stage 2 ({result.stage2_epochs} epochs; {seconds:.0f} s) best {best:.3f}"
    else:
        stage2_text = "stage 2 not run" + (" (--stage2 auto: a small dataset; --stage2 yes runs it)" if
                                           stage2 == "auto" else "")  # fmt: skip
    lines = [
        f"{result.model} ({len(result.labels)} classes; {result.seconds:.0f} s): validation accuracy "
        f"{evaluation.accuracy:.3f} from {result.chosen}; {stage1}, {stage2_text}",
        f"  validated on {evaluation.videos} videos: {evaluation.source}",
        "  per class: " + ", ".join(f"{name} {value:.2f}" for name, value in evaluation.per_class.items()),
    ]
    stem = result.model.with_suffix("").name
    if result.curves is None:
        pictures = 'curves and confusion matrix not drawn (needs matplotlib: pip install "keras-i3d[video]")'
    else:
        pictures = f"curves {result.curves}, confusion matrix {result.confusion_picture}"
    lines.append(f"  log {result.log}, {pictures}, {stem}.evaluation.json, {stem}.labels.txt")
    if result.checkpoints:
        lines.append(f"  checkpoints: {', '.join(p.name for p in result.checkpoints)}")
    return lines
