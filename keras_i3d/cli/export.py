"""The serving command of ``keras-i3d``: ``export`` (a SavedModel in TF Serving's layout)."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.cli.common import add_network_options, model_for
    from keras_i3d.errors import FileAccessError
    from keras_i3d.serving.export import (
        check_version_free,
        describe_signatures,
        export_saved_model,
        model_streams,
        serving_options,
    )


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
    if args.top_k is not None and args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1; got {args.top_k}.")
    if args.version is not None and args.version < 1:
        raise ValueError(f"--version must be at least 1; got {args.version}.")
    check_version_free(args.out, args.version)  # before the model is built
    labels = _read_label_file(args.labels) if args.labels is not None else None
    model = model_for(args)
    options = serving_options(model, top_k=args.top_k, labels=labels)  # bad options fail before any export work
    path = export_saved_model(
        model, args.out, version=args.version, top_k=args.top_k, labels=labels, verify=not args.no_verify,
        progress=not args.quiet,
    )  # fmt: skip
    print(path)
    for line in describe_signatures(options, model_streams(model)):
        print(f"  {line}")
    return 0


def add_export_command(sub) -> None:
    """Adds ``export`` to the subcommands."""
    p = sub.add_parser(
        "export",
        help="write a SavedModel for TF Serving: signatures serving_default (float clips) and classify (raw frames)",
        description="Export a network as a SavedModel in TF Serving's layout, OUT/<version>/ (the next free version "
        "unless --version), verified against the Keras model. Signature serving_default takes preprocessed float "
        "clips; classify takes uint8 frames of any size (and float TV-L1 flow) and answers with label names.",
    )
    p.add_argument("--out", required=True, help="the model's base path (TF Serving's --model_base_path)")
    add_network_options(p)
    p.add_argument("--version", type=int, help="version number (default: one more than the largest in --out)")
    p.add_argument("--top-k", type=int, help="labels the classify signature returns (default 5)")
    p.add_argument("--labels", help="text file of class names, one per line (default: Kinetics' for 400/600 classes)")
    p.add_argument("--no-verify", action="store_true", help="skip running the SavedModel against the Keras model")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    p.set_defaults(func=_cmd_export)
