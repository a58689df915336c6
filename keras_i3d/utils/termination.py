"""SIGTERM and SIGHUP, turned into an exception while temporary files exist.

A process killed by SIGTERM or SIGHUP runs no ``finally`` blocks, so the
temporary files of a half-done write would stay. Inside
`cleanup_on_termination`, those signals raise `keras_i3d.errors.Terminated`
instead (a ``KeyboardInterrupt``), the blocks clean up as they do for Ctrl-C,
and the process then dies of the same signal, as it would have anyway.
SIGKILL cannot be caught; `keras_i3d.utils.files` sweeps what it leaves.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

from keras_i3d.errors import Terminated

#: The signals turned into `Terminated` (SIGHUP does not exist on Windows).
SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


#: Signals received inside a block, to re-raise when the outermost block ends.
_received: list[int] = []


def _raise_terminated(signum, frame):
    _received.append(signum)
    raise Terminated(signum)


@contextlib.contextmanager
def cleanup_on_termination() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Terminated`; afterwards the process dies of them.

    Only signals whose handler is the default are taken over (a program's own
    handlers are left alone), only in the main thread, and the default
    handlers are back when the block ends. Nested blocks are fine: the
    outermost one re-raises the signal once everything inside has cleaned
    up, even if some library turned `Terminated` into another exception on
    the way.
    """
    taken = {}
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                taken[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    finally:
        for signum, previous in taken.items():
            signal.signal(signum, previous)
        if taken and _received:
            signum = _received[0]
            _received.clear()
            signal.raise_signal(signum)  # the default handler ends the process here
