"""keras_i3d: DeepMind's I3D video network for Keras 3 (TensorFlow, JAX, PyTorch).

The public names below load on first use (PEP 562), so ``import keras_i3d``
stays cheap and the ``keras-i3d`` command can quiet the backend framework
before Keras starts it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from keras_i3d.version import __version__

_EXPORTS = {
    "I3D": "keras_i3d.i3d",
    "I3DModel": "keras_i3d.i3d_model",
    "load_model": "keras_i3d.i3d",
    "check_clip": "keras_i3d.clip_checks",
    "VALID_ENDPOINTS": "keras_i3d.architecture",
    "decode_predictions": "keras_i3d.preprocessing",
    "load_labels": "keras_i3d.preprocessing",
    "preprocess_input": "keras_i3d.preprocessing",
    "PRESETS": "keras_i3d.presets",
    "Preset": "keras_i3d.presets",
    "get_preset": "keras_i3d.presets",
    "convert_checkpoint": "keras_i3d.checkpoints",
    "TensorBundle": "keras_i3d.tensor_bundle",
    "CheckpointError": "keras_i3d.errors",
    "ConversionError": "keras_i3d.errors",
    "DownloadError": "keras_i3d.errors",
    "FileAccessError": "keras_i3d.errors",
    "InputError": "keras_i3d.errors",
    "VideoError": "keras_i3d.errors",
    "KerasI3DError": "keras_i3d.errors",
    "WeightsError": "keras_i3d.errors",
}

__all__ = [
    "I3D",
    "I3DModel",
    "PRESETS",
    "VALID_ENDPOINTS",
    "CheckpointError",
    "ConversionError",
    "DownloadError",
    "FileAccessError",
    "InputError",
    "KerasI3DError",
    "Preset",
    "TensorBundle",
    "VideoError",
    "WeightsError",
    "__version__",
    "check_clip",
    "convert_checkpoint",
    "decode_predictions",
    "get_preset",
    "load_labels",
    "load_model",
    "preprocess_input",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'keras_i3d' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports these
    from keras_i3d.architecture import VALID_ENDPOINTS
    from keras_i3d.checkpoints import convert_checkpoint
    from keras_i3d.clip_checks import check_clip
    from keras_i3d.errors import (
        CheckpointError,
        ConversionError,
        DownloadError,
        FileAccessError,
        InputError,
        KerasI3DError,
        VideoError,
        WeightsError,
    )
    from keras_i3d.i3d import I3D, load_model
    from keras_i3d.i3d_model import I3DModel
    from keras_i3d.preprocessing import decode_predictions, load_labels, preprocess_input
    from keras_i3d.presets import PRESETS, Preset, get_preset
    from keras_i3d.tensor_bundle import TensorBundle
