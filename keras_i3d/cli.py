"""The ``keras-i3d`` command."""

from __future__ import annotations

import argparse
import sys

from keras_i3d import presets as presets_lib


def _cmd_presets(args: argparse.Namespace) -> int:
    print(f"{'preset':28} {'source checkpoint':20} {'stream':6} {'classes':>7}  top-1/top-5")
    for p in presets_lib.PRESETS.values():
        acc = f"{p.top1} / {p.top5}" if p.top1 is not None else "not published"
        print(f"{p.name:28} {p.source:20} {p.stream:6} {p.classes:7d}  {acc}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from keras_i3d.checkpoints import convert_checkpoint  # noqa: PLC0415

    digest = convert_checkpoint(args.checkpoint, args.output, preset=args.preset)
    print(f"wrote {args.output}\nsha256 {digest}")
    return 0


def _cmd_classify(args: argparse.Namespace) -> int:
    import numpy as np  # noqa: PLC0415

    import keras_i3d  # noqa: PLC0415
    from keras_i3d.video import read_gif  # noqa: PLC0415

    preset = presets_lib.get_preset(args.weights)
    if args.input.endswith(".npy"):
        x = np.load(args.input).astype("float32")
        if x.ndim == 4:
            x = x[None]
    else:
        if preset.stream != "rgb":
            raise SystemExit(f"{args.input}: only RGB presets classify GIF frames; use a .npy of flow.")
        x = keras_i3d.preprocess_input(read_gif(args.input))[None]
    model = keras_i3d.I3D(weights=preset.name, classes=preset.classes)
    probs = np.asarray(model.predict(x, verbose=0))
    for _, label, score in keras_i3d.decode_predictions(probs, top=args.top, dataset=preset.dataset)[0]:
        print(f"{score:8.4f}  {label}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``keras-i3d``."""
    parser = argparse.ArgumentParser(prog="keras-i3d", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("presets", help="list the pretrained weights presets")
    p.set_defaults(func=_cmd_presets)

    p = sub.add_parser("convert", help="convert a DeepMind TF checkpoint to .weights.h5")
    p.add_argument("--checkpoint", required=True, help="checkpoint prefix, e.g. .../rgb_scratch/model.ckpt")
    p.add_argument("--output", required=True, help="output file, ending in .weights.h5")
    p.add_argument(
        "--preset",
        choices=sorted(presets_lib.PRESETS),
        help="check the checkpoint's stream and classes against this preset",
    )
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("classify", help="classify a clip (GIF of RGB frames, or a preprocessed .npy)")
    p.add_argument("input", help="a .gif of RGB frames, or a .npy (frames, H, W, C) already in [-1, 1]")
    p.add_argument("--weights", default="kinetics400_rgb", choices=sorted(presets_lib.PRESETS))
    p.add_argument("--top", type=int, default=5)
    p.set_defaults(func=_cmd_classify)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs ``keras-i3d``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, ImportError) as e:
        print(f"keras-i3d: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
