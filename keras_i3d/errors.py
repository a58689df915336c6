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
