"""Command-line parsing whose errors are one line, like every other error of the commands."""

from __future__ import annotations

import argparse


def require_positive(value: float | None, option: str) -> None:
    """Raises ``ValueError`` if an option's ``value`` is given and not positive."""
    if value is not None and value <= 0:
        raise ValueError(f"{option} must be positive; got {value}.")


class OneLineArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` that reports usage errors as one line on stderr (exit 2).

    ``prog: error: <what>; see prog --help`` instead of the usage block, so a
    script reading the command's stderr sees the same shape for every error.
    Subparsers made with ``add_subparsers`` are of this class too.
    """

    def error(self, message: str):
        """Prints ``message`` as one line and exits with status 2."""
        command = self.prog.split()[0]
        self.exit(2, f"{command}: error: {message} (see `{self.prog} --help`)\n")
