"""keras_i3d: DeepMind's I3D video network for Keras 3 (TensorFlow, JAX, PyTorch).

Importing the package does not start Keras or a backend (``keras-i3d --help``
answers at once). Its Keras classes (the model class and custom layers) are
registered as soon as Keras is imported, by anything, so
``keras.saving.load_model`` reads saved I3D models (a fine-tuned one, say)
after ``import keras_i3d``. The public names load on first use (PEP 562),
Keras with the backend framework's start-up log lines silenced.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING

from keras_i3d.utils import aliases as _aliases
from keras_i3d.utils.after_import import when_imported as _when_imported
from keras_i3d.utils.quiet import quiet_framework_startup as _quiet_framework_startup
from keras_i3d.version import __version__

#: The modules that register keras_i3d's classes with Keras (imported right after Keras is).
KERAS_CLASS_MODULES = (
    "keras_i3d.model.layers",
    "keras_i3d.model.i3d_model",
    "keras_i3d.model.fused_layers",
    "keras_i3d.inflation.layers",
)


def _register_keras_classes() -> None:
    for module in KERAS_CLASS_MODULES:
        _importlib.import_module(module)


_when_imported("keras", _register_keras_classes)

#: Module paths of the flat package before it had capability folders -> where each module lives
#: now. ``import keras_i3d.fusion`` (or ``keras_i3d.fusion``) gives the module object itself.
#: ``keras_i3d.video``, ``keras_i3d.inflation``, ``keras_i3d.bench`` and ``keras_i3d.cli`` are
#: packages now; each resolves the old module's names (see its docstring).
MODULE_ALIASES = {
    "keras_i3d.clip_checks": "keras_i3d.model.clip_checks",
    "keras_i3d.layers": "keras_i3d.model.layers",
    "keras_i3d.architecture": "keras_i3d.model.architecture",
    "keras_i3d.i3d_model": "keras_i3d.model.i3d_model",
    "keras_i3d.fused_layers": "keras_i3d.model.fused_layers",
    "keras_i3d.fusion": "keras_i3d.model.fusion",
    "keras_i3d.flow": "keras_i3d.video.flow",
    "keras_i3d.flow_pictures": "keras_i3d.video.flow_pictures",
    "keras_i3d.plots": "keras_i3d.video.plots",
    "keras_i3d.inference": "keras_i3d.video.inference",
    "keras_i3d.weights_files": "keras_i3d.weights.files",
    "keras_i3d.checkpoints": "keras_i3d.weights.checkpoints",
    "keras_i3d.pretrained": "keras_i3d.weights.fetch",
    "keras_i3d.deepmind_data": "keras_i3d.weights.deepmind",
    "keras_i3d.tensor_bundle": "keras_i3d.weights.tensor_bundle",
    "keras_i3d.i3d": "keras_i3d.applications.i3d",
    "keras_i3d.two_stream": "keras_i3d.applications.two_stream",
    "keras_i3d.inception_v1": "keras_i3d.applications.inception_v1",
    "keras_i3d.inflation_rules": "keras_i3d.inflation.rules",
    "keras_i3d.inflated_layers": "keras_i3d.inflation.layers",
    "keras_i3d.boring_video": "keras_i3d.inflation.boring_video",
    "keras_i3d.record_format": "keras_i3d.training.record_format",
    "keras_i3d.dataset_writer": "keras_i3d.training.dataset_writer",
    "keras_i3d.data": "keras_i3d.training.data",
    "keras_i3d.transfer": "keras_i3d.training.transfer",
    "keras_i3d.finetune": "keras_i3d.training.finetune",
    "keras_i3d.distribute": "keras_i3d.training.distribute",
    "keras_i3d.export": "keras_i3d.serving.export",
    "keras_i3d.bench_model": "keras_i3d.bench.model",
    "keras_i3d.bench_backends": "keras_i3d.bench.backends",
    "keras_i3d.flops": "keras_i3d.bench.flops",
    "keras_i3d.cli_training": "keras_i3d.cli.training",
    "keras_i3d.cli_bench": "keras_i3d.cli.bench",
}
_aliases.install(MODULE_ALIASES)

_EXPORTS = {
    "I3D": "keras_i3d.applications.i3d",
    "I3DModel": "keras_i3d.model.i3d_model",
    "TwoStreamI3D": "keras_i3d.applications.two_stream",
    "fuse_for_inference": "keras_i3d.model.fusion",
    "InceptionV1": "keras_i3d.applications.inception_v1",
    "inflate": "keras_i3d.inflation.inflate",
    "inflate_kernel": "keras_i3d.inflation.inflate",
    "save_inflated_weights": "keras_i3d.inflation.files",
    "load_inflated": "keras_i3d.inflation.files",
    "boring_video_check": "keras_i3d.inflation.boring_video",
    "unaffected_frames": "keras_i3d.inflation.boring_video",
    "InflationError": "keras_i3d.errors",
    "predict_video": "keras_i3d.video.inference",
    "video_inputs": "keras_i3d.video.inference",
    "export_saved_model": "keras_i3d.serving.export",
    "export_onnx": "keras_i3d.serving.export",
    "export_model": "keras_i3d.serving.export",
    "predict_clip": "keras_i3d.video.inference",
    "VideoPrediction": "keras_i3d.video.inference",
    "plot_timeline": "keras_i3d.video.plots",
    "read_video": "keras_i3d.video.decode",
    "iter_frames": "keras_i3d.video.decode",
    "probe_video": "keras_i3d.video.decode",
    "video_flow": "keras_i3d.video.flow",
    "save_flow_picture": "keras_i3d.video.flow_pictures",
    "preprocess_frames": "keras_i3d.preprocessing",
    "load_model": "keras_i3d.applications.i3d",
    "check_clip": "keras_i3d.model.clip_checks",
    "VALID_ENDPOINTS": "keras_i3d.model.architecture",
    "decode_predictions": "keras_i3d.preprocessing",
    "load_labels": "keras_i3d.preprocessing",
    "preprocess_input": "keras_i3d.preprocessing",
    "PRESETS": "keras_i3d.presets",
    "Preset": "keras_i3d.presets",
    "get_preset": "keras_i3d.presets",
    "convert_checkpoint": "keras_i3d.weights.checkpoints",
    "TensorBundle": "keras_i3d.weights.tensor_bundle",
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
    "export_model",
    "export_onnx",
    "export_saved_model",
    "get_preset",
    "load_labels",
    "load_model",
    "iter_frames",
    "plot_timeline",
    "predict_clip",
    "predict_video",
    "video_inputs",
    "preprocess_frames",
    "preprocess_input",
    "probe_video",
    "read_video",
    "save_flow_picture",
    "video_flow",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        with _quiet_framework_startup():
            value = getattr(_importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if f"keras_i3d.{name}" in MODULE_ALIASES:
        return _importlib.import_module(f"keras_i3d.{name}")
    raise AttributeError(f"module 'keras_i3d' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public names (no imports or typing helpers)."""
    modules = {name.split(".")[1] for name in MODULE_ALIASES}
    subpackages = {"applications", "bench", "cli", "inflation", "model", "serving", "training", "utils", "video"}
    return sorted({*__all__, "__version__", "MODULE_ALIASES", "KERAS_CLASS_MODULES", *modules, *subpackages, "weights"})


if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports these
    from keras_i3d.applications.i3d import I3D, load_model
    from keras_i3d.applications.inception_v1 import InceptionV1
    from keras_i3d.applications.two_stream import TwoStreamI3D
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
    from keras_i3d.inflation.boring_video import boring_video_check, unaffected_frames
    from keras_i3d.inflation.files import load_inflated, save_inflated_weights
    from keras_i3d.inflation.inflate import inflate, inflate_kernel
    from keras_i3d.model.architecture import VALID_ENDPOINTS
    from keras_i3d.model.clip_checks import check_clip
    from keras_i3d.model.fusion import fuse_for_inference
    from keras_i3d.model.i3d_model import I3DModel
    from keras_i3d.preprocessing import decode_predictions, load_labels, preprocess_frames, preprocess_input
    from keras_i3d.presets import PRESETS, Preset, get_preset
    from keras_i3d.serving.export import export_model, export_onnx, export_saved_model
    from keras_i3d.video.decode import iter_frames, probe_video, read_video
    from keras_i3d.video.flow import video_flow
    from keras_i3d.video.flow_pictures import save_flow_picture
    from keras_i3d.video.inference import VideoPrediction, predict_clip, predict_video, video_inputs
    from keras_i3d.video.plots import plot_timeline
    from keras_i3d.weights.checkpoints import convert_checkpoint
    from keras_i3d.weights.tensor_bundle import TensorBundle
