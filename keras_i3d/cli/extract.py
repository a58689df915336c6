"""The ``extract`` command of ``keras-i3d``: a dataset's features (or FVD statistics) on Apache Beam.

Prints one line per failed video on stderr and a one-line summary on stdout; the
worker processes' own logs go to ``OUT/extract-workers.log`` (a local OUT), not to
the terminal. Exit codes: 0 all done, 1 some videos failed, 2 bad arguments, 130
interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.beam.pipeline import pipeline_options, run_extract
    from keras_i3d.beam.settings import ExtractSettings, FVDSettings, NetworkSpec
    from keras_i3d.beam.sources import find_tasks, is_remote
    from keras_i3d.cli.common import describe_weights_arg, network_identity
    from keras_i3d.errors import DatasetError
    from keras_i3d.utils.files import ensure_writable_dir

#: Where worker processes' logs go, in a local output folder.
WORKER_LOG = "extract-workers.log"


def _settings(args: argparse.Namespace) -> ExtractSettings:
    if args.model is not None:
        if args.weights or args.rgb_weights or args.flow_weights:
            raise ValueError("--model is a whole model: it takes no --weights, --rgb-weights or --flow-weights.")
        if not Path(args.model).is_file():
            raise ValueError(f"--model {args.model} does not exist.")
    elif args.stream == "joint":
        if args.weights is not None:
            raise ValueError("--stream joint takes --rgb-weights and --flow-weights, not --weights.")
        describe_weights_arg(args.rgb_weights or "kinetics400_rgb", "--rgb-weights")
        describe_weights_arg(args.flow_weights or "kinetics400_flow", "--flow-weights")
    else:
        if args.rgb_weights or args.flow_weights:
            raise ValueError("--rgb-weights and --flow-weights go with --stream joint; use --weights.")
        spec = describe_weights_arg(args.weights or f"kinetics400_{args.stream}", "--weights")
        if spec.kind == "preset" and spec.stream != args.stream:
            raise ValueError(f"--weights {spec.preset.name} is a {spec.stream} preset; pass --stream {spec.stream}.")
    fvd = None
    if args.fvd_stats:
        if args.stream != "rgb" or args.model or args.rgb_weights or args.flow_weights:
            raise ValueError("--fvd-stats embeds RGB clips with a 400-class RGB network: give --weights only.")
        if args.format != "npy":
            raise ValueError("--fvd-stats writes .npy embeddings and fvd_stats.npz; it takes no --format.")
        fvd = FVDSettings(args.frames, args.clip, args.start, args.seed, args.resize, args.weights or "kinetics400_rgb")
    network = NetworkSpec(
        args.stream, args.weights, args.rgb_weights, args.flow_weights, args.model,
        tuple(sorted(network_identity(args).items())),
    )  # fmt: skip
    return ExtractSettings(
        network, args.endpoint, args.clip_frames, args.stride, None if args.fps == "native" else args.fps,
        None if args.pool == "none" else "avg", ("npy", "tfrecord") if args.format == "both" else (args.format,),
        args.batch_size, args.flow_implementation, fvd,
    )  # fmt: skip


@contextlib.contextmanager
def _workers_log_to(path: Path | None) -> Iterator[None]:
    """Sends what child processes write to stderr into ``path``, keeping this process's stderr on the terminal.

    Beam's DirectRunner starts its workers with the launcher's stderr; they log their start-up and Beam's
    warnings there. Workers started in the block inherit file descriptor 2, now ``path``; ``sys.stderr`` (the
    progress bar, error messages) keeps writing to the terminal through a copy of the old descriptor.
    """
    if path is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    old_stderr = sys.stderr
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
    sys.stderr = os.fdopen(os.dup(saved), "w", buffering=1, encoding=old_stderr.encoding, errors="replace")
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr.close()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = old_stderr


def _cmd_extract(args: argparse.Namespace) -> int:
    settings = _settings(args)
    pipeline_options(args.runner, args.num_workers, args.passed_through)  # unknown Beam options: before any file
    out = str(args.out)
    if not is_remote(out):
        if Path(out).is_file():
            raise ValueError(f"OUT {out} is a file; give a folder.")
        ensure_writable_dir(out)
    try:
        tasks = find_tasks(args.source, exclude=None if is_remote(out) else Path(out))
    except DatasetError as e:
        raise ValueError(str(e)) from None  # the source as a whole: a bad argument (exit 2), not a bad video
    logging.getLogger("apache_beam").setLevel(logging.ERROR)
    spawns = args.runner == "DirectRunner" and args.num_workers > 1  # worker processes, with the launcher's stderr
    log = Path(out) / WORKER_LOG if spawns and not is_remote(out) else None
    with _workers_log_to(log):
        summary = run_extract(tasks, out, settings, args.runner, args.num_workers, args.passed_through,
                              progress=not args.quiet)  # fmt: skip
    for source, error in summary.failed:
        print(f"keras-i3d: could not process {source}: {error}", file=sys.stderr)
    what = "FVD embeddings" if settings.fvd is not None else "videos"
    line = f"{out}  ({summary.videos} {what}, {len(summary.failed)} failed, {summary.seconds:.1f} s)"
    if summary.fvd_statistics:
        line += f"  {summary.fvd_statistics}"
    print(line)
    return 1 if summary.failed else 0
