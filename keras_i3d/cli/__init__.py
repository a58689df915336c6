"""The ``keras-i3d`` command: thin commands over the packages below (one module per command family).

`main` (``keras_i3d.cli:main``, the console script) lives in `keras_i3d.cli.app`.

May import: every other package of keras_i3d.
"""

from __future__ import annotations

import importlib


def main(argv: list[str] | None = None) -> int:
    """Runs ``keras-i3d`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    return importlib.import_module("keras_i3d.cli.app").main(argv)


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module("keras_i3d.cli.app"), name)
