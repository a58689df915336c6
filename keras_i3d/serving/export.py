"""SavedModel and ONNX exports for TF Serving, Triton and onnxruntime, from a model built on any Keras backend.

`export_saved_model` writes TF Serving's layout, ``export_dir/<version>/``,
with three signatures (see `describe_signatures`): ``serving_default`` takes
preprocessed float clips, ``classify`` takes raw uint8 frames of any size and
runs `keras_i3d.preprocess_frames` (DeepMind's resize and centre crop) inside
the graph, answering with label names, which are embedded in the graph, and
``classify_encoded`` takes the frames as JPEG or PNG bytes. `export_onnx`
writes ``export_dir/<version>/model.onnx`` (float clips -> logits and
probabilities) with Triton's ``config.pbtxt``; `export_model` writes both
into one version folder that TF Serving and Triton both serve. By default the
exported network is `keras_i3d.fuse_for_inference`'s (BatchNorm folded).

The route: a SavedModel is a TensorFlow graph, and Keras can trace one only
from a model running on the TensorFlow backend (its own ``model.export``
fails on JAX and PyTorch); the ONNX file is converted from that graph by
tf2onnx. So a model built on JAX or PyTorch is saved as a ``.keras`` file
(config and weights) and rebuilt on the TensorFlow backend in a subprocess,
which traces and writes the files; on TensorFlow this happens in the calling
process. Either way the written SavedModel is reloaded and the ONNX file run
by onnxruntime on a test clip, and their logits are compared with the
original (as-built) model's, on the original backend. The pieces:
`keras_i3d.serving.options` (what the signatures need),
`keras_i3d.serving.signatures` (the TensorFlow graph),
`keras_i3d.serving.onnx_convert` (tf2onnx), `keras_i3d.serving.onnx_runtime`
(running the file), `keras_i3d.serving.triton` (``config.pbtxt``),
`keras_i3d.serving.route` (the subprocess) and `keras_i3d.serving.publish`
(the version folder).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from keras_i3d.errors import ExportError, MissingExtraError, one_line
from keras_i3d.model.architecture import LOGITS_LAYER
from keras_i3d.model.fusion import fuse_for_inference
from keras_i3d.serving.onnx_runtime import ONNX_EXTRA, run_onnx
from keras_i3d.serving.options import (
    ServingOptions,
    describe_signatures,
    logits_model,
    model_streams,
    serving_options,
    verification_clip,
)
from keras_i3d.serving.publish import check_version_free, check_version_number, existing_versions, publish
from keras_i3d.serving.route import write_format, write_in_tensorflow_process
from keras_i3d.serving.signatures import write_saved_model
from keras_i3d.serving.triton import CONFIG_FILE, LABELS_FILE, MODEL_FILES, labels_text, triton_config
from keras_i3d.utils.files import ensure_writable_dir, scratch_dir, write_text_atomic
from keras_i3d.utils.progress import bar as progress_bar
from keras_i3d.utils.tf_loader import SERVING_EXTRA, import_tensorflow, installed, tensorflow_installed

#: Largest relative difference (to the largest logit) allowed between the SavedModel and the model.
VERIFY_TOLERANCE = 1e-4


#: The formats `export_model` writes.
FORMATS = ("savedmodel", "onnx")


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
    fuse: bool = True,
    triton: bool = False,
    max_batch_size: int = 0,
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
    - ``classify_encoded`` (one RGB stream): ``encoded``, a string tensor
      ``(batch, frames)`` of JPEG or PNG images, decoded in the graph, then
      as ``classify``. JPEG frames make a request about 20x smaller than raw
      uint8 frames.

    Inputs the network cannot take (wrong rank or channels, zero frames,
    frames under 32x32, streams of different batch sizes, NaN, bytes that are
    no image) fail with an ``InvalidArgumentError`` whose message names the problem.

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
        fuse: export `keras_i3d.fuse_for_inference`'s model (BatchNorm folded
            into the convolutions: same outputs, faster); ``False`` exports the
            as-built graph. Verification always compares with ``model`` as built.
        triton: NVIDIA Triton's layout instead: ``export_dir/<version>/model.savedmodel/``
            and ``export_dir/config.pbtxt`` (platform ``tensorflow_savedmodel``)
            with ``labels.txt`` (see `keras_i3d.serving.triton`).
        max_batch_size: Triton's ``max_batch_size`` (with ``triton``); see `triton_config`.

    Returns:
        The version folder written.

    Raises:
        ValueError: for bad arguments, or a model without ``logits_layer``.
        ExportError: if ``version`` exists, or tracing, writing or verifying failed.
        FileAccessError: if ``export_dir`` cannot be created or written.
        MissingExtraError: if TensorFlow (or, with ``triton``, tritonclient) is not installed.
    """
    return export_model(
        model, export_dir, ("savedmodel",), version=version, top_k=top_k, labels=labels, short_side=short_side,
        logits_layer=logits_layer, verify=verify, progress=progress, fuse=fuse, triton=triton,
        max_batch_size=max_batch_size,
    )  # fmt: skip


def export_onnx(
    model: keras.Model,
    export_dir: str | os.PathLike,
    version: int | None = None,
    labels: Sequence[str] | None = None,
    logits_layer: str = LOGITS_LAYER,
    verify: bool = True,
    progress: bool = False,
    fuse: bool = True,
    triton: bool = True,
    max_batch_size: int = 0,
    opset: int | None = None,
) -> Path:
    """Exports ``model`` as ONNX in Triton's layout: ``export_dir/<version>/model.onnx``.

    The file takes float32 clips in ``[-1, 1]``, ``(batch, frames, size, size,
    C)`` named ``clips`` (``rgb`` and ``flow`` for a `TwoStreamI3D`), with
    dynamic ``batch`` and ``frames`` axes, and answers ``logits`` and
    ``probabilities`` ``(batch, classes)``. It runs in onnxruntime (and
    TensorRT, Triton) without Keras or any backend. A model built on any
    backend is converted by tf2onnx on the TensorFlow backend, in a
    subprocess for JAX and PyTorch models (see `keras_i3d.serving.onnx_convert`
    for why); before publishing, onnxruntime runs the file on a random clip
    and its logits must match ``model``'s within `VERIFY_TOLERANCE`.

    Inputs of the wrong rank, channels or size fail with onnxruntime's shape
    error (``INVALID_ARGUMENT``), never a wrong answer.

    Args:
        model: as for `export_saved_model`.
        export_dir: the model's folder (in a Triton model repository: ``<repository>/<model name>``).
        version: the version folder to write; default one more than the largest there.
        labels: class names in logit order, written to ``labels.txt`` for
            Triton's classification extension; default Kinetics'.
        logits_layer: the layer whose output is the logits.
        verify: run the file with onnxruntime and compare (see above).
        progress: show a progress bar of the steps.
        fuse: export the fused model (the default), or the as-built graph.
        triton: also write ``export_dir/config.pbtxt`` (platform
            ``onnxruntime_onnx``, checked against Triton's schema) and ``labels.txt``.
        max_batch_size: Triton's ``max_batch_size``; see `triton_config`.
        opset: the ONNX opset; default `keras_i3d.serving.onnx_convert.DEFAULT_OPSET`.

    Returns:
        The version folder written.

    Raises:
        ValueError: for bad arguments.
        ExportError: if ``version`` exists, or converting or verifying failed.
        FileAccessError: if ``export_dir`` cannot be created or written.
        MissingExtraError: if TensorFlow, tf2onnx, onnxruntime (or tritonclient) is not installed.
    """
    return export_model(
        model, export_dir, ("onnx",), version=version, labels=labels, logits_layer=logits_layer, verify=verify,
        progress=progress, fuse=fuse, triton=triton, max_batch_size=max_batch_size, opset=opset,
    )  # fmt: skip


def export_model(
    model: keras.Model,
    export_dir: str | os.PathLike,
    formats: Sequence[str] = FORMATS,
    version: int | None = None,
    top_k: int | None = None,
    labels: Sequence[str] | None = None,
    short_side: int | None = None,
    logits_layer: str = LOGITS_LAYER,
    verify: bool = True,
    progress: bool = False,
    fuse: bool = True,
    triton: bool = False,
    max_batch_size: int = 0,
    opset: int | None = None,
) -> Path:
    """Exports ``model`` in one or both formats into one version folder, published atomically.

    With both formats, ``export_dir/<version>/`` holds the SavedModel (as
    `export_saved_model` writes it) and ``model.onnx`` (as `export_onnx`
    does); with ``triton``, ``export_dir/config.pbtxt`` names the ONNX file.
    TF Serving then serves ``export_dir`` (it reads ``saved_model.pb`` and
    ignores the rest) and Triton serves the same folder as a model of its
    repository (it reads ``config.pbtxt`` and ``model.onnx``): one command,
    one folder, both servers. Every file is verified before the version is
    published; if any check fails, nothing is.

    Args:
        model: as for `export_saved_model`.
        export_dir: the model's folder (TF Serving's ``--model_base_path``;
            for Triton, ``<repository>/<model name>``).
        formats: ``"savedmodel"`` and/or ``"onnx"``.
        version: the version folder to write; default one more than the largest there.
        top_k: labels the SavedModel's ``classify`` returns per clip.
        labels: class names in logit order; default Kinetics'.
        short_side: ``classify`` resizes frames to this short side before the centre crop.
        logits_layer: the layer whose output is the logits.
        verify: run every file on a random clip and compare with ``model``.
        progress: show a progress bar of the steps.
        fuse: export the fused model (the default), or the as-built graph.
        triton: Triton's layout and ``config.pbtxt``. With the SavedModel
            alone, the SavedModel moves to ``<version>/model.savedmodel/`` (Triton's
            TensorFlow backend) and TF Serving can no longer serve the folder.
        max_batch_size: Triton's ``max_batch_size``; see `triton_config`.
        opset: the ONNX opset.

    Returns:
        The version folder written.
    """
    formats = _check_formats(formats)
    options = serving_options(model, top_k=top_k, labels=labels, short_side=short_side, logits_layer=logits_layer)
    check_version_number(version)
    export_dir = Path(export_dir)
    if (export_dir / "saved_model.pb").is_file() or (export_dir / MODEL_FILES["onnx"]).is_file():
        raise ValueError(
            f"{export_dir} is a version folder; pass its parent, the model's folder (TF Serving's "
            "--model_base_path, a Triton repository's <model name>), which holds the numbered versions."
        )
    streams = model_streams(model)
    config_format = "onnx" if "onnx" in formats else "savedmodel"
    config = None
    if triton:
        classes = len(options.labels)
        config = triton_config(config_format, streams, options.size, classes, max_batch_size)  # checks the schema
    if not tensorflow_installed():
        import_tensorflow("Exporting a SavedModel" if "savedmodel" in formats else "Exporting ONNX")  # raises
    if "onnx" in formats:
        _check_onnx_installed()
    export_dir = ensure_writable_dir(export_dir)
    check_version_free(export_dir, version)
    steps = ["fuse"] if fuse else []
    if keras.backend.backend() != "tensorflow":
        steps.append(f"save for TensorFlow ({keras.backend.backend()})")
    steps += [f"write {FORMAT_NAMES[f]} (TensorFlow)" for f in formats]
    steps += ["verify", "publish"]
    with (
        progress_bar(total=len(steps), progress=progress, desc="export", unit="step", leave=False) as bar,
        scratch_dir(export_dir, "export") as scratch,
    ):
        step = iter(steps)

        def next_step():
            bar.set_postfix_str(next(step))

        def done():
            bar.update()

        next_step()
        network = _fused(model) if fuse else model
        if fuse:
            done()
            next_step()
        folder = scratch / "version"
        folder.mkdir()
        # Triton's TensorFlow layout (<version>/model.savedmodel/) only where Triton serves the SavedModel.
        savedmodel = folder / MODEL_FILES["savedmodel"] if triton and config_format == "savedmodel" else folder
        paths = {"savedmodel": savedmodel, "onnx": folder / MODEL_FILES["onnx"]}
        targets = {name: paths[name] for name in formats}
        clip = verification_clip(model, options) if verify else None
        try:
            if keras.backend.backend() == "tensorflow":
                results = {}
                for name in formats:
                    results[name] = write_format(network, name, targets[name], options, clip, opset)
                    done()
                    next_step()
            else:
                results = write_in_tensorflow_process(
                    network, targets, options, clip, scratch, opset, on_step=lambda: (done(), next_step())
                )
        except OSError as e:  # disk full, a file size limit: nothing is published
            raise ExportError(
                f"Writing the export in {export_dir} failed: {_gist(e)}. Nothing was published."
            ) from None
        except Exception as e:
            if type(e).__name__ not in _TF_WRITE_ERRORS or not type(e).__module__.startswith("tensorflow"):
                raise
            raise ExportError(
                f"Writing the export in {export_dir} failed: {_gist(e)} (disk full or a file size limit?). "
                "Nothing was published."
            ) from None
        if clip is not None:
            expected = logits_model(model, logits_layer)(clip, training=False)
            if "savedmodel" in formats:
                _compare(results["savedmodel"], expected, "SavedModel")
            if "onnx" in formats:
                _compare(run_onnx(targets["onnx"], clip)["logits"], expected, "ONNX file (onnxruntime)")
        done()
        next_step()
        if config is not None:
            write_text_atomic(export_dir / CONFIG_FILE, config)
            write_text_atomic(export_dir / LABELS_FILE, labels_text(options.labels))
        final = publish(folder, export_dir, version, [targets[name] for name in formats])
        done()
    return final


#: How the progress bar names each format.
FORMAT_NAMES = {"savedmodel": "SavedModel", "onnx": "ONNX"}


def _check_formats(formats) -> tuple[str, ...]:
    if isinstance(formats, str):
        formats = (formats,)
    formats = tuple(formats)
    if not formats or any(f not in FORMATS for f in formats) or len(set(formats)) != len(formats):
        raise ValueError(f"`formats` must be one or both of {FORMATS}; got {formats!r}.")
    return tuple(f for f in FORMATS if f in formats)  # the SavedModel first: it is verified by TensorFlow


def _check_onnx_installed() -> None:
    for module in ("tf2onnx", "onnx", "onnxruntime"):
        if not installed(module):
            raise MissingExtraError(f"Exporting ONNX needs {module}, which is not installed: {ONNX_EXTRA}")


def _fused(model: keras.Model) -> keras.Model:
    """`fuse_for_inference`'s model with plain 3D convolutions (what TensorFlow and tf2onnx trace best)."""
    try:
        return fuse_for_inference(model, implementation="conv3d")
    except Exception as e:  # a subclassed model, an unregistered layer: its config does not rebuild it
        raise ExportError(
            f"Cannot rebuild {model.__class__.__name__} {model.name!r} from its config to fuse it for export: "
            f"{one_line(e)} Export functional models of serializable layers (fuse=False, keras-i3d export "
            "--no-fuse, exports the graph as built)."
        ) from e


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


def _compare(served: np.ndarray, expected, what: str) -> None:
    expected = keras.ops.convert_to_numpy(expected)
    scale = max(float(np.abs(expected).max()), 1e-6)
    error = float(np.abs(np.asarray(served) - expected).max()) / scale
    if not error <= VERIFY_TOLERANCE:
        raise ExportError(
            f"The {what}'s logits differ from the model's by {error:.3g} (relative to the largest logit; "
            f"tolerance {VERIFY_TOLERANCE:g}). Nothing was published."
        )


__all__ = [
    "FORMATS",
    "SERVING_EXTRA",
    "ServingOptions",
    "check_version_free",
    "check_version_number",
    "describe_signatures",
    "existing_versions",
    "export_model",
    "export_onnx",
    "export_saved_model",
    "model_streams",
    "serving_options",
    "write_saved_model",
]
