"""The ``keras-i3d`` command: presets, download, convert, classify, features, flow, export, dataset, finetune, bench.

Prints only what was asked for: the arguments are parsed without Keras or a
backend (`keras_i3d.cli.parser`), the command's module is imported only when
it runs, with the backend framework's start-up log lines silenced, and errors
(usage errors too) are one line on stderr, ``keras-i3d: error: ...`` (only the
"could not get weights" error lists its reasons on further lines), without
traceback unless ``--debug``. Exit codes: 0 done, 1 an input file could not be
processed (for a folder: the others were, and the failures are listed at the
end), 2 anything else (arguments, weights, output paths), 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys

from keras_i3d.cli.parser import build_parser, debug  # noqa: F401 - build_parser: keras_i3d.cli.build_parser
from keras_i3d.errors import InputError, KerasI3DError
from keras_i3d.utils import progress
from keras_i3d.utils.quiet import quiet_framework_startup
from keras_i3d.utils.tf_loader import import_tensorflow, tensorflow_installed


def command_function(args: argparse.Namespace):
    """The function that runs the parsed command (its module imported now, the framework silenced)."""
    module, name = args.run
    if module == "parser":
        module_object = sys.modules["keras_i3d.cli.parser"]
    else:
        with quiet_framework_startup():
            module_object = importlib.import_module(f"keras_i3d.cli.{module}")
        if _runs_a_model(args) and tensorflow_installed():
            # Keras imports TensorFlow on any backend (its data adapters) when a model first runs, and
            # TensorFlow's C++ start-up lines and device start-up go to stderr then: now, quietly.
            import_tensorflow("keras-i3d")
    return getattr(module_object, name)


def _runs_a_model(args: argparse.Namespace) -> bool:
    """False where no Keras model runs: ``download --data-dir``, or a command declaring ``runs_a_model=False``.

    ``flow`` declares it, and runs none with OpenCV's TV-L1; its ``--flow-implementation auto`` is
    resolved here (after the command's module, which imports Keras, so no framework is started twice).
    """
    if getattr(args, "data_dir", None):
        return False
    if getattr(args, "runs_a_model", True):
        return True
    if getattr(args, "flow_implementation", "opencv") == "auto":
        flow = importlib.import_module("keras_i3d.video.flow")
        args.flow_implementation = flow.resolve_flow_implementation("auto")
    return getattr(args, "flow_implementation", "opencv") != "opencv"


def main(argv: list[str] | None = None) -> int:
    """Runs ``keras-i3d``; returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown and not getattr(args, "passes_options_through", False):
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    args.passed_through = unknown
    args.argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    try:
        with progress.hidden() if getattr(args, "quiet", False) else contextlib.nullcontext():
            return command_function(args)(args)  # --quiet: no bar at all, a first-use conversion's too
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
