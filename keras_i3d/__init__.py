"""keras_i3d: DeepMind's I3D video network for Keras 3 (TensorFlow, JAX, PyTorch).

Importing the package registers its Keras classes (the model class and
custom layers), so ``keras.saving.load_model`` reads saved I3D models (a
fine-tuned one, say) after ``import keras_i3d``; Keras starts here with the
backend framework's start-up log lines silenced. The other public names load
on first use (PEP 562).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from keras_i3d.utils.quiet import quiet_framework_startup
from keras_i3d.version import __version__

with quiet_framework_startup():  # registers I3DModel and the custom layers with Keras
    from keras_i3d import fused_layers, i3d_model, inflated_layers, layers  # noqa: F401

_EXPORTS = {
    "I3D": "keras_i3d.i3d",
    "I3DModel": "keras_i3d.i3d_model",
    "TwoStreamI3D": "keras_i3d.two_stream",
    "fuse_for_inference": "keras_i3d.fusion",
    "InceptionV1": "keras_i3d.inception_v1",
    "inflate": "keras_i3d.inflation",
    "inflate_kernel": "keras_i3d.inflation",
    "save_inflated_weights": "keras_i3d.inflation",
    "load_inflated": "keras_i3d.inflation",
    "boring_video_check": "keras_i3d.boring_video",
    "unaffected_frames": "keras_i3d.boring_video",
    "InflationError": "keras_i3d.errors",
    "predict_video": "keras_i3d.inference",
    "export_saved_model": "keras_i3d.export",
    "predict_clip": "keras_i3d.inference",
    "VideoPrediction": "keras_i3d.inference",
    "plot_timeline": "keras_i3d.plots",
    "read_video": "keras_i3d.video",
    "iter_frames": "keras_i3d.video",
    "probe_video": "keras_i3d.video",
    "video_flow": "keras_i3d.flow",
    "save_flow_picture": "keras_i3d.flow_pictures",
    "preprocess_frames": "keras_i3d.preprocessing",
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
    "DatasetError": "keras_i3d.errors",
    "DownloadError": "keras_i3d.errors",
    "ExportError": "keras_i3d.errors",
    "FileAccessError": "keras_i3d.errors",
    "InputError": "keras_i3d.errors",
    "MissingExtraError": "keras_i3d.errors",
    "VideoError": "keras_i3d.errors",
    "KerasI3DError": "keras_i3d.errors",
    "WeightsError": "keras_i3d.errors",
}

__all__ = [
    "I3D",
    "InceptionV1",
    "InflationError",
    "boring_video_check",
    "fuse_for_inference",
    "inflate",
    "inflate_kernel",
    "load_inflated",
    "save_inflated_weights",
    "unaffected_frames",
    "I3DModel",
    "MissingExtraError",
    "TwoStreamI3D",
    "VideoPrediction",
    "PRESETS",
    "VALID_ENDPOINTS",
    "CheckpointError",
    "ConversionError",
    "DatasetError",
    "DownloadError",
    "ExportError",
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
    "export_saved_model",
    "get_preset",
    "load_labels",
    "load_model",
    "iter_frames",
    "plot_timeline",
    "predict_clip",
    "predict_video",
    "preprocess_frames",
    "preprocess_input",
    "probe_video",
    "read_video",
    "save_flow_picture",
    "video_flow",
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
    from keras_i3d.boring_video import boring_video_check, unaffected_frames
    from keras_i3d.checkpoints import convert_checkpoint
    from keras_i3d.clip_checks import check_clip
    from keras_i3d.errors import (
        CheckpointError,
        ConversionError,
        DatasetError,
        DownloadError,
        ExportError,
        FileAccessError,
        InflationError,
        InputError,
        KerasI3DError,
        MissingExtraError,
        VideoError,
        WeightsError,
    )
    from keras_i3d.export import export_saved_model
    from keras_i3d.flow import video_flow
    from keras_i3d.flow_pictures import save_flow_picture
    from keras_i3d.fusion import fuse_for_inference
    from keras_i3d.i3d import I3D, load_model
    from keras_i3d.i3d_model import I3DModel
    from keras_i3d.inception_v1 import InceptionV1
    from keras_i3d.inference import VideoPrediction, predict_clip, predict_video
    from keras_i3d.inflation import inflate, inflate_kernel, load_inflated, save_inflated_weights
    from keras_i3d.plots import plot_timeline
    from keras_i3d.preprocessing import decode_predictions, load_labels, preprocess_frames, preprocess_input
    from keras_i3d.presets import PRESETS, Preset, get_preset
    from keras_i3d.tensor_bundle import TensorBundle
    from keras_i3d.two_stream import TwoStreamI3D
    from keras_i3d.video import iter_frames, probe_video, read_video
