"""The training commands of ``keras-i3d``: ``dataset`` and ``finetune``."""

from __future__ import annotations

import argparse

from keras_i3d.model.architecture import FREEZE_UNTIL_ENDPOINT
from keras_i3d.utils.arguments import require_positive
from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.model.architecture import VALID_ENDPOINTS
    from keras_i3d.training.dataset_writer import write_dataset
    from keras_i3d.training.finetune import DEFAULT_LEARNING_RATE, OPTIMIZERS, finetune
    from keras_i3d.training.transfer import DEFAULT_DROPOUT


def _cmd_dataset(args: argparse.Namespace) -> int:
    for value, option in ((args.shards, "--shards"), (args.fps, "--fps"), (args.workers, "--workers")):
        require_positive(value, option)
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
    for value, option in ((args.frames, "--frames"), (args.size, "--size"), (args.batch_size, "--batch-size")):
        require_positive(value, option)
    require_positive(args.epochs, "--epochs")
    require_positive(args.lr, "--lr")
    weights = None if args.weights == "none" else (args.weights or f"kinetics400_{args.stream}")
    result = finetune(
        args.dataset, args.out, weights=weights, stream=args.stream, frames=args.frames, size=args.size,
        batch_size=args.batch_size, epochs=args.epochs, freeze_until=None if args.freeze_until == "none" else
        args.freeze_until, learning_rate=args.lr, optimizer=args.optimizer, dropout_rate=args.dropout,
        val=args.val, seed=args.seed, train_batch_norm=args.train_batch_norm, verbose=0 if args.quiet else "auto",
    )  # fmt: skip
    last = {k: v[-1] for k, v in result.history.items()}
    scores = ", ".join(f"{k} {v:.4f}" for k, v in sorted(last.items()))
    print(f"{result.model} ({len(result.labels)} classes; {result.seconds:.0f} s): {scores}")
    print(f"  log {result.log}, curves {result.curves}, labels {result.model.with_suffix('').name}.labels.txt")
    return 0


def add_training_commands(sub, common) -> None:
    """Adds ``dataset`` and ``finetune`` to the subcommands; ``common`` adds --quiet/--debug."""
    p = sub.add_parser(
        "dataset",
        help="videos (class folders or a CSV) -> sharded TFRecords of JPEG frames (and TV-L1 flow) for training",
        description="Write a folder of class folders of videos (UCF-101's layout), or a CSV of path,label[,start,end], "
        "as sharded TFRecords of tf.train.SequenceExample: JPEG frames at 25 fps, short side 256, optionally TV-L1 "
        "flow; plus labels.txt and manifest.json. Rerun to resume an interrupted run.",
    )
    p.add_argument("source", help="a folder of class folders of videos, or a CSV of path,label[,start,end]")
    p.add_argument("out", help="the dataset folder")
    p.add_argument("--flow", action="store_true", help="also store TV-L1 optical flow (slow)")
    p.add_argument("--shards", type=int, help="number of TFRecord files (default: one per 32 videos)")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate (default 25)")
    p.add_argument("--short-side", type=int, default=256, help="stored frames' short side (default 256)")
    p.add_argument("--workers", type=int, help="decoding processes (default: one per core)")
    common(p)
    p.set_defaults(func=_cmd_dataset)

    p = sub.add_parser(
        "finetune",
        help="fine-tune a pre-trained I3D on a `keras-i3d dataset` (new head, early blocks frozen)",
        description="Fine-tune pre-trained I3D on a dataset written by `keras-i3d dataset`: DeepMind's head "
        "re-initialised for its classes, blocks up to --freeze-until frozen, BatchNorm in inference mode, Adam "
        "(or SGD with momentum 0.9), random crops and flips. Writes the model, a checkpoint per epoch, a CSV log and a "
        "learning-curve picture.",
    )
    p.add_argument("dataset", help="a `keras-i3d dataset` folder or a glob of its TFRecords")
    p.add_argument("--out", required=True, help="the fine-tuned model (.keras)")
    p.add_argument("--weights", help="a preset, a .weights.h5, or 'none' (default kinetics400_<stream>)")
    p.add_argument("--stream", choices=("rgb", "flow"), default="rgb", help="stream (default rgb)")
    p.add_argument("--frames", type=int, default=64, help="frames per clip (default 64)")
    p.add_argument("--size", type=int, default=224, help="crop size (default 224)")
    p.add_argument("--batch-size", type=int, default=8, help="clips per step (default 8)")
    p.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    p.add_argument(
        "--freeze-until",
        default=FREEZE_UNTIL_ENDPOINT,
        choices=(*VALID_ENDPOINTS[:-2], "none"),
        metavar="ENDPOINT",
        help="freeze up to this endpoint, or 'none' (default Mixed_4f)",
    )
    p.add_argument("--lr", type=float, default=DEFAULT_LEARNING_RATE, help=f"learning rate ({DEFAULT_LEARNING_RATE})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="adam (default) or sgd (momentum 0.9)")
    p.add_argument("--dropout", type=float, default=DEFAULT_DROPOUT, help=f"dropout (default {DEFAULT_DROPOUT})")
    p.add_argument("--val", help="validation dataset, evaluated on centre clips after each epoch")
    p.add_argument("--seed", type=int, help="seed for a deterministic run")
    p.add_argument(
        "--train-batch-norm", action="store_true", help="BatchNorm of trained blocks on batch statistics (default: off)"
    )
    common(p)
    p.set_defaults(func=_cmd_finetune)
