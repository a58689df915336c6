"""TensorFlow, imported only where a feature needs it (it is optional and slow to import)."""

from __future__ import annotations

import importlib.util

from keras_i3d.errors import MissingExtraError
from keras_i3d.utils.quiet import quiet_framework_startup

#: What installs TensorFlow (and TF Serving's client protos) for keras_i3d.
SERVING_EXTRA = 'pip install "keras-i3d[serving]"'


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # an import hook refused it, or a broken installation
        return False


def tensorflow_installed() -> bool:
    """Whether TensorFlow can be imported (without importing it)."""
    return installed("tensorflow")


def import_tensorflow(feature: str):
    """Returns the ``tensorflow`` module, imported quietly (no C++ start-up log lines).

    Args:
        feature: what needs it, for the error message (e.g. ``"Exporting a SavedModel"``).

    Raises:
        MissingExtraError: if TensorFlow is not installed, naming the command that installs it.
    """
    try:
        with quiet_framework_startup():
            import tensorflow as tf  # noqa: PLC0415 - optional, and seconds to import

            tf.config.list_physical_devices()  # device start-up (e.g. "failed call to cuInit") happens here, quietly
    except ImportError as e:
        raise MissingExtraError(f"{feature} needs TensorFlow, which is not installed: {SERVING_EXTRA}") from e
    return tf
