"""The exceptions keras_i3d raises (all exported from ``keras_i3d``).

Every one derives from `KerasI3DError`, and from the built-in type a caller
would naturally catch (``ValueError`` for bad or corrupt input, ``OSError``
for downloads), so ``except ValueError`` keeps working. `one_line` turns any exception into
the one line that keras_i3d's own messages quote.
"""

from __future__ import annotations


class KerasI3DError(Exception):
    """Base class of keras_i3d's errors."""


class WeightsError(KerasI3DError, ValueError):
    """Weights could not be found, verified or loaded."""


class ConversionError(KerasI3DError, ValueError):
    """A checkpoint does not fit the model (names, shapes, stream, classes)."""


class CheckpointError(ConversionError):
    """A TensorFlow checkpoint file is missing, truncated, corrupted or not a checkpoint."""


class DownloadError(KerasI3DError, OSError):
    """A download failed, was cut off, or its content did not verify."""


class InputError(KerasI3DError, ValueError):
    """An input the network or a function cannot take.

    A clip with the wrong rank or channel count, fewer frames or pixels than
    the network needs, NaN or infinite values, values outside the documented
    range (e.g. RGB not yet scaled to ``[-1, 1]``), or predictions that are not
    numbers.
    """


class VideoError(InputError):
    """A video file cannot be read: missing, a folder, empty, truncated, corrupt or not a video."""


class DatasetError(InputError):
    """A video dataset cannot be written or read: a bad source, an empty class, missing or foreign shards."""


class InflationError(KerasI3DError, ValueError):
    """A 2D model cannot be inflated to 3D: a layer with no 3D counterpart, or an argument that does not fit it."""


class ExportError(KerasI3DError, RuntimeError):
    """A SavedModel could not be exported: the version exists, or TensorFlow failed to trace, write or reload it.

    An export that fails leaves no version folder behind.
    """


class MissingExtraError(KerasI3DError, ImportError):
    """A feature needs an optional dependency that is not installed.

    The message names the ``pip install "keras-i3d[extra]"`` command that adds it.
    """


class FileAccessError(KerasI3DError, OSError):
    """A file or folder cannot be written or read where keras_i3d needs it.

    For example an output path that is a directory or lies under a regular
    file, a folder without write permission, or a cache entry that is a folder.
    """


class Terminated(KeyboardInterrupt):
    """Raised inside keras_i3d's file-writing blocks when SIGTERM or SIGHUP arrives.

    Lets those blocks remove their temporary files; the process then dies of
    the same signal, as it would have without keras_i3d.

    Attributes:
        signum: the signal number.
    """

    def __init__(self, signum: int):
        super().__init__(f"terminated by signal {signum}")
        self.signum = signum


def one_line(error: BaseException, prefer: tuple[str, ...] = (), limit: int = 300) -> str:
    """The line of ``error`` that says most, for a one-line message that quotes it.

    Args:
        error: any exception. TensorFlow's ``OpError`` is read through its
            ``message`` (its ``str`` adds the op's traceback).
        prefer: phrases (case-insensitive) that make a line the one to quote:
            the first line holding one, searched in ``error`` and then the
            exceptions it was raised from or during (five at most). Without
            such a line, or without ``prefer``, ``error``'s first line.
        limit: the most characters returned.

    Returns:
        One stripped line; the exception's class name when it has no text.
    """
    chain, seen = [], error
    while seen is not None and len(chain) < 5:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    texts = [str(getattr(item, "message", None) or item) for item in chain]
    wanted = [phrase.lower() for phrase in prefer]
    for text in texts if wanted else ():
        for line in text.splitlines():
            if any(phrase in line.lower() for phrase in wanted):
                return line.strip()[:limit]
    lines = [line.strip() for line in texts[0].splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:limit]
