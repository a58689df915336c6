"""The weights commands of ``keras-i3d``: ``presets``, ``download`` and ``convert``."""

from __future__ import annotations

import argparse

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d import presets as presets_lib
    from keras_i3d.weights import deepmind as deepmind_data
    from keras_i3d.weights.checkpoints import convert_checkpoint
    from keras_i3d.weights.fetch import download_presets


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
    for name, path in download_presets(names, progress=progress).items():
        print(f"{name:28} {path}")
    for stream in ("rgb", "flow"):
        print(f"{'sample clip (' + stream + ')':28} {deepmind_data.sample_clip(stream, progress=progress)}")
    return 0


def add_weights_commands(sub) -> None:
    """Adds ``presets``, ``download`` and ``convert`` to the subcommands."""
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
