"""SavedModel export for TF Serving, from a model built on any Keras backend.

`export_saved_model` writes TF Serving's layout, ``export_dir/<version>/``,
with two signatures (see `describe_signatures`): ``serving_default`` takes
preprocessed float clips, ``classify`` takes raw uint8 frames of any size and
runs `keras_i3d.preprocess_frames` (DeepMind's resize and centre crop) inside
the graph, answering with label names, which are embedded in the graph.

The route: a SavedModel is a TensorFlow graph, and Keras can trace one only
from a model running on the TensorFlow backend (its own ``model.export``
fails on JAX and PyTorch). So a model built on JAX or PyTorch is saved as a
``.keras`` file (config and weights) and rebuilt on the TensorFlow backend
in a subprocess, which traces and writes the SavedModel; on TensorFlow this
happens in the calling process. Either way the written SavedModel is
reloaded and run on a test clip, and its logits are compared with the
original model's, on the original backend. The pieces: `keras_i3d.serving.options`
(what the signatures need), `keras_i3d.serving.signatures` (the TensorFlow
graph), `keras_i3d.serving.route` (the subprocess) and
`keras_i3d.serving.publish` (the version folder).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from keras_i3d.errors import ExportError, one_line
from keras_i3d.model.architecture import LOGITS_LAYER
from keras_i3d.serving.options import (
    ServingOptions,
    describe_signatures,
    logits_model,
    model_streams,
    serving_options,
    verification_clip,
)
from keras_i3d.serving.publish import check_version_free, check_version_number, existing_versions, publish
from keras_i3d.serving.route import write_in_tensorflow_process
from keras_i3d.serving.signatures import write_saved_model
from keras_i3d.utils.files import ensure_writable_dir, scratch_dir
from keras_i3d.utils.progress import bar as progress_bar
from keras_i3d.utils.tf_loader import SERVING_EXTRA, import_tensorflow, tensorflow_installed

#: Largest relative difference (to the largest logit) allowed between the SavedModel and the model.
VERIFY_TOLERANCE = 1e-4


def export_saved_model(
    model: keras.Model,
    export_dir: str | os.PathLike,
    version: int | None = None,
    top_k: int | None = None,
    labels: Sequence[str] | None = None,
    short_side: int | None = None,
    logits_layer: str = LOGITS_LAYER,
    verify: bool = True,
    progress: bool = False,
) -> Path:
    """Exports ``model`` as a SavedModel that TF Serving loads: ``export_dir/<version>/``.

    Works for a model built on any backend (see the module docstring for the
    route). Signatures (``-1`` batch and frame dimensions everywhere):

    - ``serving_default``: float32 clips in ``[-1, 1]``, ``(batch, frames,
      size, size, C)``, named ``clips`` (``rgb`` and ``flow`` for a
      `TwoStreamI3D`) -> ``logits``, ``probabilities``.
    - ``classify``: raw frames of any size -> `preprocess_frames` in the
      graph -> ``labels`` (top ``top_k`` names, best first), ``scores``
      (their probabilities), ``class_ids``, ``logits``. RGB comes as uint8
      ``frames`` ``(batch, frames, height, width, 3)``; flow as float32 TV-L1
      pixels ``(batch, frames, height, width, 2)``, named ``flow``. A
      `TwoStreamI3D` takes ``rgb`` and ``flow``; ``flow`` may have one frame
      less than ``rgb`` (flow between consecutive frames), its last one is
      then repeated, as `predict_video` does.

    Inputs the network cannot take (wrong rank or channels, zero frames,
    frames under 32x32, streams of different batch sizes, NaN) fail with an
    ``InvalidArgumentError`` whose message names the problem.

    Args:
        model: an `I3D` or `TwoStreamI3D` model with its classifier, or any
            functional Keras model with a layer named ``logits_layer``. Its
            frame count may be fixed; the export takes any.
        export_dir: the model's base path (TF Serving's ``--model_base_path``).
        version: the version folder to write; default one more than the
            largest there (1 for a new folder). An existing version is
            never overwritten.
        top_k: labels ``classify`` returns per clip; default 5 (or all, for fewer classes).
        labels: class names in logit order; default the Kinetics-400 or -600
            names for 400 or 600 classes. Embedded in the SavedModel.
        short_side: ``classify`` resizes frames to this short side before the
            centre crop; default 256 for 224 clips (scaled with the model's size).
        logits_layer: the layer whose output is the logits (``"Logits"`` in
            keras_i3d's models, whatever the classifier activation).
        verify: reload the SavedModel, run it on a random clip and compare
            its logits with ``model``'s (within `VERIFY_TOLERANCE`).
        progress: show a progress bar of the steps.

    Returns:
        The version folder written.

    Raises:
        ValueError: for bad arguments, or a model without ``logits_layer``.
        ExportError: if ``version`` exists, or tracing, writing or verifying failed.
        FileAccessError: if ``export_dir`` cannot be created or written.
        MissingExtraError: if TensorFlow is not installed.
    """
    options = serving_options(model, top_k=top_k, labels=labels, short_side=short_side, logits_layer=logits_layer)
    check_version_number(version)
    export_dir = Path(export_dir)
    if (export_dir / "saved_model.pb").is_file():
        raise ValueError(
            f"{export_dir} is a SavedModel version folder; pass its parent, the model's base path "
            "(TF Serving's --model_base_path), which holds the numbered versions."
        )
    if not tensorflow_installed():
        import_tensorflow("Exporting a SavedModel")  # raises MissingExtraError
    export_dir = ensure_writable_dir(export_dir)
    check_version_free(export_dir, version)
    steps = ["trace and write (TensorFlow)", "verify", "publish"]
    if keras.backend.backend() != "tensorflow":
        steps.insert(0, f"save for TensorFlow ({keras.backend.backend()})")
    with (
        progress_bar(total=len(steps), progress=progress, desc="export", unit="step", leave=False) as bar,
        scratch_dir(export_dir, "saved_model") as scratch,
    ):
        target = scratch / "saved_model"
        clip = verification_clip(model, options) if verify else None
        bar.set_postfix_str(steps[0])
        try:
            if keras.backend.backend() == "tensorflow":
                served = write_saved_model(model, target, options, clip)
            else:
                served = write_in_tensorflow_process(model, target, options, clip, scratch, bar)
        except OSError as e:  # disk full, a file size limit: nothing is published
            raise ExportError(
                f"Writing the SavedModel in {export_dir} failed: {_gist(e)}. Nothing was published."
            ) from None
        except Exception as e:
            if type(e).__name__ not in _TF_WRITE_ERRORS or not type(e).__module__.startswith("tensorflow"):
                raise
            raise ExportError(
                f"Writing the SavedModel in {export_dir} failed: {_gist(e)} (disk full or a file size limit?). "
                "Nothing was published."
            ) from None
        bar.update()
        bar.set_postfix_str("verify")
        if clip is not None:
            _compare(served, logits_model(model, logits_layer)(clip, training=False))
        bar.update()
        final = publish(target, export_dir, version)
        bar.update()
    return final


#: TensorFlow's errors for a write that fails (``OutOfRangeError``: "File too large"; ``ResourceExhaustedError``:
#: no space left; ...).
_TF_WRITE_ERRORS = (
    "OutOfRangeError",
    "ResourceExhaustedError",
    "UnknownError",
    "PermissionDeniedError",
    "InternalError",
)


def _gist(error: BaseException) -> str:
    """The last part of an error's first line (TensorFlow's start with a long temporary path)."""
    return one_line(error).rsplit("; ", 1)[-1][:200]


def _compare(served: np.ndarray, expected) -> None:
    expected = keras.ops.convert_to_numpy(expected)
    scale = max(float(np.abs(expected).max()), 1e-6)
    error = float(np.abs(np.asarray(served) - expected).max()) / scale
    if not error <= VERIFY_TOLERANCE:
        raise ExportError(
            f"The SavedModel's logits differ from the model's by {error:.3g} (relative to the largest logit; "
            f"tolerance {VERIFY_TOLERANCE:g}). Nothing was published."
        )


__all__ = [
    "SERVING_EXTRA",
    "ServingOptions",
    "check_version_free",
    "check_version_number",
    "describe_signatures",
    "existing_versions",
    "export_saved_model",
    "model_streams",
    "serving_options",
    "write_saved_model",
]
