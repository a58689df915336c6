"""The weights commands of ``keras-i3d``: ``presets``, ``download`` and ``convert``."""

from __future__ import annotations

import argparse

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d import presets as presets_lib
    from keras_i3d.weights import deepmind as deepmind_data
    from keras_i3d.weights.checkpoints import convert_checkpoint
    from keras_i3d.weights.fetch import download_presets


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
    if not names and not args.samples:
        raise ValueError("name presets to download, or pass --all or --samples (see `keras-i3d presets`).")
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
    if args.samples:
        for stream in ("rgb", "flow"):
            print(f"{'sample clip (' + stream + ')':28} {deepmind_data.sample_clip(stream, progress=progress)}")
    return 0
