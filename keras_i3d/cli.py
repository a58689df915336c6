"""The ``keras-i3d`` command: presets, download, convert, classify.

Prints only what was asked for: the backend framework's start-up log lines
are silenced while it loads, and errors (usage errors too) are one line on
stderr, ``keras-i3d: error: ...``, with exit code 2 (only the "could not get
weights" error lists its reasons on further lines).
"""

from __future__ import annotations

import argparse
import sys

from keras_i3d.utils.arguments import OneLineArgumentParser
from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    import numpy as np

    from keras_i3d import deepmind_data, pretrained
    from keras_i3d import presets as presets_lib
    from keras_i3d.architecture import DEFAULT_SIZE
    from keras_i3d.checkpoints import convert_checkpoint
    from keras_i3d.clip_checks import check_clip
    from keras_i3d.errors import InputError, KerasI3DError
    from keras_i3d.i3d import I3D
    from keras_i3d.preprocessing import decode_predictions, preprocess_input
    from keras_i3d.video import check_video_file, read_gif


def _cmd_presets(args: argparse.Namespace) -> int:
    print(f"{'preset':28} {'source checkpoint':20} {'stream':6} {'classes':>7}  top-1/top-5")
    for p in presets_lib.PRESETS.values():
        acc = f"{p.top1} / {p.top5}" if p.top1 is not None else "not published"
        print(f"{p.name:28} {p.source:20} {p.stream:6} {p.classes:7d}  {acc}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    preset = presets_lib.get_preset(args.preset)
    kwargs = dict(preset=preset.name, validate=not args.no_validate, tolerance=args.tolerance)
    if args.checkpoint:
        result = convert_checkpoint(args.checkpoint, args.output, **kwargs)
    else:
        with deepmind_data.source_checkpoint(preset) as prefix:
            result = convert_checkpoint(prefix, args.output, **kwargs)
    print(result.summary())
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    names = sorted(presets_lib.PRESETS) if args.all else args.presets
    if not names:
        raise ValueError("name presets to download, or pass --all (see `keras-i3d presets`).")
    chosen = [presets_lib.get_preset(name) for name in names]  # unknown names fail before any download
    progress = not args.quiet
    if args.data_dir is not None:
        relatives = list(presets_lib.SAMPLE_FILES)
        for preset in chosen:
            relatives += list(preset.checkpoint_files)
        for path in deepmind_data.download_data_folder(args.data_dir, relatives, progress=progress):
            print(path)
        return 0
    for name, path in pretrained.download_presets(names, progress=progress).items():
        print(f"{name:28} {path}")
    for stream in ("rgb", "flow"):
        print(f"{'sample clip (' + stream + ')':28} {deepmind_data.sample_clip(stream, progress=progress)}")
    return 0


def _load_npy(source: str) -> np.ndarray:
    path = check_video_file(source)
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise InputError(f"{path} is not a .npy file (no NumPy header).")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e):
            raise InputError(f"{path} holds Python objects (pickled data), not an array of numbers.") from e
        raise InputError(f"{path} is not a readable .npy array (truncated or corrupt): {e}") from e
    except (OSError, EOFError) as e:
        raise InputError(f"{path} is not a readable .npy array (truncated or corrupt): {e}") from e


def _cmd_classify(args: argparse.Namespace) -> int:
    preset = presets_lib.get_preset(args.weights)
    if args.top < 1:
        raise ValueError(f"--top must be at least 1; got {args.top}.")
    source = args.input or str(deepmind_data.sample_clip(preset.stream))
    clip_shape = (None, DEFAULT_SIZE, DEFAULT_SIZE, preset.channels)
    if source.lower().endswith(".npy"):
        x = _load_npy(source)
    else:
        if preset.stream != "rgb":
            raise InputError(f"{source}: only RGB presets classify GIF frames; give a .npy of flow.")
        x = preprocess_input(read_gif(source))
    x = check_clip(x, input_shape=clip_shape, what=source, size_hint=_SIZE_HINT)
    model = I3D(weights=preset.name, classes=preset.classes)
    probs = np.asarray(model.predict(x, verbose=0))
    for _, label, score in decode_predictions(probs, top=args.top, dataset=preset.dataset)[0]:
        print(f"{score:8.4f}  {label}")
    return 0


_SIZE_HINT = f" DeepMind's networks take {DEFAULT_SIZE}x{DEFAULT_SIZE} crops; crop or resize the frames."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``keras-i3d``."""
    parser = OneLineArgumentParser(prog="keras-i3d", description="DeepMind's I3D video network for Keras 3.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("presets", help="list the pretrained weights presets")
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser(
        "download",
        help="fetch presets into the Keras cache (for offline machines), or DeepMind's original files",
        description="Fetch and convert presets into the Keras cache, so that a machine (or a copy of the "
        "cache) works offline. With --data-dir, store DeepMind's original files there instead, laid out "
        "like their data/ folder (usable as $KINETICS_I3D_DATA or, as a file:// URL, "
        "$KINETICS_I3D_CHECKPOINT_URL).",
    )
    p.add_argument("presets", nargs="*", help="preset names (see `keras-i3d presets`)")
    p.add_argument("--all", action="store_true", help="every preset")
    p.add_argument("--data-dir", help="download DeepMind's original checkpoint files and sample clips here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser(
        "convert",
        help="convert a DeepMind TF checkpoint to .weights.h5 (same as python -m weights_conversion)",
    )
    p.add_argument(
        "--checkpoint",
        help="checkpoint prefix, e.g. .../rgb_scratch/model.ckpt; default: the preset's, from "
        "$KINETICS_I3D_DATA or downloaded from DeepMind (verified)",
    )
    p.add_argument("--output", required=True, help="output file, ending in .weights.h5")
    p.add_argument(
        "--preset",
        required=True,
        choices=sorted(presets_lib.PRESETS),
        help="the preset the checkpoint is for (its stream and classes are checked)",
    )
    p.add_argument("--tolerance", type=float, default=1e-4, help="parity tolerance on the sample clip")
    p.add_argument("--no-validate", action="store_true", help="skip the sample-clip check")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("classify", help="classify a clip (GIF of RGB frames, or a preprocessed .npy)")
    p.add_argument(
        "input",
        nargs="?",
        help="a .gif of RGB frames, or a .npy (frames, H, W, C) already in [-1, 1]; default: DeepMind's sample clip",
    )
    p.add_argument("--weights", default="kinetics400_rgb", choices=sorted(presets_lib.PRESETS))
    p.add_argument("--top", type=int, default=5)
    p.set_defaults(func=_cmd_classify)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs ``keras-i3d``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (KerasI3DError, ValueError, OSError) as e:
        print(f"keras-i3d: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-i3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
