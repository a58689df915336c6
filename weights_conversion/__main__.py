"""Convert DeepMind's kinetics-i3d checkpoints into Keras ``.weights.h5`` files.

One checkpoint::

    python -m weights_conversion --checkpoint data/checkpoints/rgb_scratch/model.ckpt \
        --preset kinetics400_rgb --output i3d_kinetics400_rgb.weights.h5

Every preset whose checkpoint is in the data folder (``$KINETICS_I3D_DATA``)::

    python -m weights_conversion --all --output-dir weights/

Each file is written atomically with a ``.sha256`` sidecar; ``--all`` also
writes ``manifest.json`` (preset, source, sha256, parity). After converting, the
model runs on DeepMind's sample cricket clip: where reference logits exist for
the checkpoint the max abs difference must be within ``--tolerance``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from keras_i3d import data_paths, presets
from keras_i3d._files import write_text_atomic
from keras_i3d.checkpoints import ConversionError, convert_checkpoint, resolve_checkpoint_prefix

#: Reference logits of the sample clip, by source checkpoint (file in <data>/reference).
REFERENCE_LOGITS = {"rgb_scratch": "cricket_rgb_logits.npy"}


def sample_clip(stream: str, data_dir: Path) -> np.ndarray:
    """DeepMind's cricket clip as model input ``(1, 79, 224, 224, C)``.

    RGB is decoded exactly as the reference logits were computed; flow is
    recovered from upstream's visualisation GIF (``(u, v, 0) + 0.5``), which is
    lossy, so it only serves as a sanity check.
    """
    from keras_i3d.preprocessing import preprocess_input  # noqa: PLC0415
    from keras_i3d.video import read_gif  # noqa: PLC0415

    frames = read_gif(data_dir / f"v_CricketShot_g04_c01_{stream}.gif")
    if stream == "rgb":
        return preprocess_input(frames)[None]
    flow = frames[..., :2].astype(np.float32) / 255.0 - 0.5
    return np.clip(flow, -1.0, 1.0)[None]


def check_parity(weights: Path, preset: presets.Preset, data_dir: Path | None, tolerance: float) -> dict:
    """Runs the converted weights on the sample clip; returns a summary.

    Raises:
        ConversionError: if reference logits exist and differ by more than
            ``tolerance``.
    """
    import keras_i3d  # noqa: PLC0415

    if data_dir is None or not (data_dir / f"v_CricketShot_g04_c01_{preset.stream}.gif").exists():
        return {"checked": False, "reason": "sample clip not found"}
    model = keras_i3d.I3D(weights=str(weights), classes=preset.classes, classifier_activation=None)
    logits = np.asarray(model.predict(sample_clip(preset.stream, data_dir), verbose=0))[0]
    ((_, top1, score),) = keras_i3d.decode_predictions(logits[None], top=1, dataset=preset.dataset)[0]
    result = {"checked": True, "top1": top1, "top1_logit": round(score, 4)}
    reference = REFERENCE_LOGITS.get(preset.source)
    if reference and (data_dir / "reference" / reference).exists():
        diff = float(np.abs(logits - np.load(data_dir / "reference" / reference)).max())
        result["max_abs_diff"] = diff
        if diff > tolerance:
            raise ConversionError(
                f"Parity check failed for {preset.name}: max |logits - reference| = {diff:.3g} > {tolerance}."
            )
    return result


def convert_one(
    checkpoint: str, preset: presets.Preset, output: Path, data_dir: Path | None, tolerance: float, parity: bool
) -> dict:
    """Converts one checkpoint, checks it and prints a summary line."""
    digest = convert_checkpoint(checkpoint, output, preset=preset.name)
    entry = {"preset": preset.name, "source": preset.source, "file": output.name, "sha256": digest}
    if parity:
        entry["parity"] = check_parity(output, preset, data_dir, tolerance)
    print(f"{preset.name}: wrote {output}\n  sha256 {digest}")
    if parity and entry["parity"].get("checked"):
        p = entry["parity"]
        diff = f", max abs diff vs reference {p['max_abs_diff']:.2e}" if "max_abs_diff" in p else ""
        print(f"  sample clip top-1: {p['top1']} ({p['top1_logit']}){diff}")
    return entry


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m weights_conversion", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", help="TF checkpoint prefix (.../model.ckpt) or its folder")
    parser.add_argument("--preset", choices=sorted(presets.PRESETS))
    parser.add_argument("--output", help="output .weights.h5 (default: i3d_<preset>.weights.h5)")
    parser.add_argument(
        "--all", action="store_true", help="convert every preset whose checkpoint is in the data folder"
    )
    parser.add_argument("--data-dir", type=Path, help=f"kinetics-i3d data (default ${data_paths.DATA_ENV})")
    parser.add_argument("--output-dir", type=Path, default=Path("."), help="with --all")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--no-parity", action="store_true", help="skip the sample-clip check")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or data_paths.find_data_dir()
    try:
        if args.all:
            if data_dir is None:
                parser.error(f"--all needs --data-dir or ${data_paths.DATA_ENV}")
            manifest = {}
            for preset in presets.PRESETS.values():
                prefix = data_dir / "checkpoints" / preset.source / "model.ckpt"
                try:
                    resolve_checkpoint_prefix(prefix)
                except FileNotFoundError as e:
                    print(f"{preset.name}: skipped ({e})")
                    continue
                manifest[preset.name] = convert_one(
                    str(prefix), preset, args.output_dir / preset.filename, data_dir, args.tolerance, not args.no_parity
                )
            write_text_atomic(args.output_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
            print(f"manifest: {args.output_dir / 'manifest.json'} ({len(manifest)} presets)")
            return 0 if manifest else 1
        if not (args.checkpoint and args.preset):
            parser.error("give --checkpoint and --preset (or --all)")
        preset = presets.get_preset(args.preset)
        output = Path(args.output or preset.filename)
        convert_one(args.checkpoint, preset, output, data_dir, args.tolerance, not args.no_parity)
        return 0
    except (ConversionError, FileNotFoundError, ImportError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
