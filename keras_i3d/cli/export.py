"""The serving command of ``keras-i3d``: ``export`` (a SavedModel in TF Serving's layout)."""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.cli.common import model_for
    from keras_i3d.errors import FileAccessError
    from keras_i3d.serving.export import (
        check_version_free,
        check_version_number,
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
    check_version_number(args.version)
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
