"""The ``keras-i3d`` command: presets, download, convert, classify, features, flow, export, dataset, finetune, bench.

Prints only what was asked for: the backend framework's start-up log lines
are silenced while it loads, and errors (usage errors too) are one line on
stderr, ``keras-i3d: error: ...`` (only the "could not get weights" error
lists its reasons on further lines), without traceback unless ``--debug``.
Exit codes: 0 done, 1 an input file could not be processed (for a folder:
the others were, and the failures are listed at the end), 2 anything else
(arguments, weights, output paths), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from keras_i3d.utils.arguments import OneLineArgumentParser
from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.cli.bench import add_bench_command
    from keras_i3d.cli.common import add_common_options, debug
    from keras_i3d.cli.export import add_export_command
    from keras_i3d.cli.training import add_training_commands
    from keras_i3d.cli.video import add_video_commands
    from keras_i3d.cli.weights import add_weights_commands
    from keras_i3d.errors import InputError, KerasI3DError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``keras-i3d``."""
    parser = OneLineArgumentParser(prog="keras-i3d", description="DeepMind's I3D video network for Keras 3.")
    sub = parser.add_subparsers(dest="command", required=True)
    add_weights_commands(sub)
    add_video_commands(sub)
    add_export_command(sub)
    add_training_commands(sub, add_common_options)
    add_bench_command(sub, add_common_options)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs ``keras-i3d``; returns the exit status."""
    args = build_parser().parse_args(argv)
    args.argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    try:
        return args.func(args)
    except InputError as e:  # an input file could not be processed
        debug(args)
        print(f"keras-i3d: error: {e}", file=sys.stderr)
        return 1
    except (KerasI3DError, ValueError, OSError) as e:
        debug(args)
        print(f"keras-i3d: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-i3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
