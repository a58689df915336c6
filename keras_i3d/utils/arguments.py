"""Command-line parsing whose errors are one line, like every other error of the commands."""

from __future__ import annotations

import argparse
import re


def _number(text: str, convert):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid {convert.__name__} value: {text!r}") from None


def at_least_one(text: str) -> int:
    """An ``argparse`` type: an int of at least 1 ("must be at least 1; got 0")."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {value}.")
    return value


def at_least_zero(text: str) -> int:
    """An ``argparse`` type: an int of at least 0 ("must be at least 0; got -1")."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0; got {value}.")
    return value


def positive_int(text: str) -> int:
    """An ``argparse`` type: an int above 0 ("must be positive; got 0")."""
    value = _number(text, int)
    require_positive_type(value)
    return value


def positive_float(text: str) -> float:
    """An ``argparse`` type: a finite number above 0 ("must be positive; got -1.0")."""
    value = _number(text, float)
    if not value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number; got {text}.")
    require_positive_type(value)
    return value


def fraction(text: str) -> float:
    """An ``argparse`` type: a number strictly between 0 and 1 ("must lie between 0 and 1; got 1.0")."""
    value = _number(text, float)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must lie between 0 and 1 (exclusive); got {value}.")
    return value


def require_positive_type(value: float) -> None:
    """Raises `argparse.ArgumentTypeError` unless ``value`` is positive."""
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive; got {value}.")


class OneLineArgumentParser(argparse.ArgumentParser):
    """An `argparse.ArgumentParser` that reports usage errors as one line on stderr (exit 2).

    ``prog: error: <what>; see prog --help`` instead of the usage block, so a
    script reading the command's stderr sees the same shape for every error.
    Subparsers made with ``add_subparsers`` are of this class too.
    """

    def error(self, message: str):
        """Prints ``message`` as one line and exits with status 2 (``--top must be at least 1; got 0.``)."""
        message = re.sub(r"^argument (--[\w-]+)(?:/[\w-]+)*: (must )", r"\1 \2", message)
        command = self.prog.split()[0]
        self.exit(2, f"{command}: error: {message} (see `{self.prog} --help`)\n")
