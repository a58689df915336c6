"""Runs the keras-i3d command in this process: ``(exit status, stdout, stderr)``."""

from __future__ import annotations

from keras_i3d.cli import app


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    """``keras-i3d ARGV...`` through ``keras_i3d.cli.app.main``, with what it printed.

    A usage error (argparse exits) gives its exit status, as the command would.
    """
    try:
        status = app.main([str(a) for a in argv])
    except SystemExit as e:
        status = e.code
    out, err = capsys.readouterr()
    return status, out, err
