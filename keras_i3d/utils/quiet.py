"""Keep backend frameworks' start-up chatter out of a command's output."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_framework_startup() -> Iterator[None]:
    """Silences what TensorFlow/absl print to stderr while they are imported.

    TensorFlow's C++ runtime writes ``I0000 ...`` lines and an absl preamble to
    file descriptor 2 while it loads, before any Python logging setting can
    apply. This points descriptor 2 at ``/dev/null`` for the duration of the
    block and sets ``TF_CPP_MIN_LOG_LEVEL=3`` (unless the user set it) for what
    TensorFlow logs afterwards. Exceptions still propagate and are printed
    once the block has restored stderr.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no real stderr (e.g. some embedded interpreters)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
