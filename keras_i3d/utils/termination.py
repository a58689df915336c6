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
import os
import signal
import threading
from collections.abc import Iterator

from keras_i3d.errors import Terminated

#: The signals turned into `Terminated` (SIGHUP does not exist on Windows).
SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _raise_terminated(signum, frame):
    raise Terminated(signum)


@contextlib.contextmanager
def cleanup_on_termination() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise `Terminated`; afterwards the process dies of them.

    Only signals whose handler is the default are taken over (a program's own
    handlers are left alone), only in the main thread, and the default
    handlers are back when the block ends. Nested blocks are fine: the
    outermost one re-sends the signal.
    """
    taken = {}
    if threading.current_thread() is threading.main_thread():
        for signum in SIGNALS:
            if signal.getsignal(signum) is signal.SIG_DFL:
                taken[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    except Terminated as e:
        if e.signum not in taken:
            raise
        for signum, previous in taken.items():
            signal.signal(signum, previous)
        taken = {}
        os.kill(os.getpid(), e.signum)  # the default handler ends the process now
        raise
    finally:
        for signum, previous in taken.items():
            signal.signal(signum, previous)
