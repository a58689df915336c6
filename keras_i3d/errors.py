"""The exceptions keras_i3d raises (all exported from ``keras_i3d``).

Every one derives from `KerasI3DError`, and from the built-in type a caller
would naturally catch (``ValueError`` for bad or corrupt input, ``OSError``
for downloads), so ``except ValueError`` keeps working.
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
