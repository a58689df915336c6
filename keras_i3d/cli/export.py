"""The serving command of ``keras-i3d``: ``export`` (SavedModel and/or ONNX, in TF Serving's and Triton's layout)."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.cli.common import model_for
    from keras_i3d.errors import FileAccessError
    from keras_i3d.serving.export import (
        FORMATS,
        check_version_free,
        check_version_number,
        describe_signatures,
        export_model,
        model_streams,
        serving_options,
    )
    from keras_i3d.serving.triton import CONFIG_FILE, MODEL_FILES, PLATFORMS, triton_config


def _read_label_file(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FileAccessError(f"Cannot read --labels {path}: {e}") from e
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise ValueError(f"--labels {path} holds no class names (one per line).")
    return labels


def _cmd_export(args: argparse.Namespace) -> int:
    check_version_number(args.version)
    check_version_free(args.out, args.version)  # before the model is built
    formats = FORMATS if args.format == "both" else (args.format,)
    labels = _read_label_file(args.labels) if args.labels is not None else None
    model = model_for(args)
    options = serving_options(model, top_k=args.top_k, labels=labels)  # bad options fail before any export work
    streams = model_streams(model)
    config_format = "onnx" if "onnx" in formats else "savedmodel"
    if args.triton:  # a bad config fails before the export (and tritonclient's absence too)
        triton_config(config_format, streams, options.size, len(options.labels), args.max_batch_size)
    path = export_model(
        model, args.out, formats, version=args.version, top_k=args.top_k, labels=labels, verify=not args.no_verify,
        progress=not args.quiet, fuse=not args.no_fuse, triton=args.triton, max_batch_size=args.max_batch_size,
        opset=args.opset,
    )  # fmt: skip
    print(path)
    if "savedmodel" in formats:
        where = f" ({MODEL_FILES['savedmodel']}/)" if args.triton and config_format == "savedmodel" else ""
        print(f"  SavedModel{where}:")
        for line in describe_signatures(options, streams):
            print(f"    {line}")
    if "onnx" in formats:
        inputs = ", ".join(f"{name} float32 (batch, frames, {options.size}, {options.size}, {c})"
                           for name, c in streams.items())  # fmt: skip
        print(f"  ONNX ({MODEL_FILES['onnx']}): {inputs} -> logits, probabilities")
    if args.triton:
        print(f"  Triton: {path.parent / CONFIG_FILE} (platform {PLATFORMS[config_format]})")
    return 0
