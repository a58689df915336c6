"""Convert DeepMind's kinetics-i3d checkpoints into Keras ``.weights.h5`` files.

One checkpoint::

    python -m weights_conversion --checkpoint data/checkpoints/rgb_scratch/model.ckpt \
        --preset kinetics400_rgb --output i3d_kinetics400_rgb.weights.h5

Without ``--checkpoint``, the preset's checkpoint comes from the data folder
(``--data-dir`` or ``$KINETICS_I3D_DATA``) or, when it is not there, is
downloaded from DeepMind's repository (``$KINETICS_I3D_CHECKPOINT_URL``) and
verified against its git blob ids. Every preset::

    python -m weights_conversion --all --output-dir weights/

Validate first, publish after: each checkpoint is read without TensorFlow
(every tensor CRC-checked), mapped with full accounting, compared with the
preset's registered content digest, and run on DeepMind's sample cricket clip
(max abs difference within ``--tolerance`` where reference logits exist). Only
then is the ``.weights.h5`` written, atomically, with its ``.sha256`` sidecar
and ``.config.json``; a failed check leaves no file. ``--all`` also writes
``manifest.json``. ``keras-i3d convert`` runs exactly this conversion.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d import presets
    from keras_i3d.errors import KerasI3DError
    from keras_i3d.utils import paths
    from keras_i3d.utils.arguments import OneLineArgumentParser
    from keras_i3d.utils.files import ensure_writable_dir, write_json_atomic
    from keras_i3d.weights import deepmind as deepmind_data
    from keras_i3d.weights.checkpoints import ConversionResult, check_tolerance, convert_checkpoint


def convert_one(
    checkpoint: str | Path, preset: presets.Preset, output: Path, tolerance: float, parity: bool
) -> ConversionResult:
    """Converts and validates one checkpoint, then prints its summary."""
    result = convert_checkpoint(checkpoint, output, preset=preset.name, validate=parity, tolerance=tolerance)
    print(result.summary())
    return result


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = OneLineArgumentParser(
        prog="python -m weights_conversion", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", help="TF checkpoint prefix (.../model.ckpt) or its folder")
    parser.add_argument("--preset", choices=sorted(presets.PRESETS))
    parser.add_argument("--output", help="output .weights.h5 (default: i3d_<preset>.weights.h5)")
    parser.add_argument(
        "--all", action="store_true", help="convert every preset (local checkpoints, else DeepMind's downloads)"
    )
    parser.add_argument("--data-dir", type=Path, help=f"kinetics-i3d data (default ${paths.DATA_ENV})")
    parser.add_argument("--output-dir", type=Path, default=Path("."), help="with --all")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--no-parity", action="store_true", help="skip the sample-clip check")
    args = parser.parse_args(argv)
    if args.data_dir is not None:
        if not args.data_dir.is_dir():
            parser.error(f"--data-dir {args.data_dir} is not a folder")
        os.environ[paths.DATA_ENV] = str(args.data_dir)  # where the sample clip and reference logits are
    try:
        check_tolerance(args.tolerance)
        if args.all:
            ensure_writable_dir(args.output_dir)
            manifest = {}
            for preset in presets.PRESETS.values():
                try:
                    with deepmind_data.source_checkpoint(preset) as prefix:
                        output = args.output_dir / preset.filename
                        result = convert_one(prefix, preset, output, args.tolerance, not args.no_parity)
                except (FileNotFoundError, KerasI3DError) as e:
                    print(f"{preset.name}: skipped ({e})")
                    continue
                entry = dataclasses.asdict(result)
                entry.update(file=result.output.name, source=preset.source, output=None)
                manifest[preset.name] = {k: v for k, v in entry.items() if v is not None}
            if not manifest:
                print("error: no checkpoint could be converted (see above); nothing written.", file=sys.stderr)
                return 1
            write_json_atomic(args.output_dir / "manifest.json", manifest)
            print(f"manifest: {args.output_dir / 'manifest.json'} ({len(manifest)} presets)")
            return 0
        if not args.preset:
            parser.error("give --preset (with or without --checkpoint), or --all")
        preset = presets.get_preset(args.preset)
        output = Path(args.output or preset.filename)
        if args.checkpoint:
            convert_one(args.checkpoint, preset, output, args.tolerance, not args.no_parity)
        else:
            with deepmind_data.source_checkpoint(preset) as prefix:
                convert_one(prefix, preset, output, args.tolerance, not args.no_parity)
        return 0
    except (KerasI3DError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
