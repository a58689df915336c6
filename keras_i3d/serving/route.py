"""The export route of JAX and PyTorch models: a TensorFlow-backend subprocess writes the files.

Keras traces a SavedModel only from a model running on the TensorFlow
backend, and the ONNX file is converted from that graph, so a model built on
another backend is saved as a ``.keras`` file and rebuilt in a subprocess
with ``KERAS_BACKEND=tensorflow`` (`worker`), which writes the SavedModel
(with the logits of the verification clip) and the ONNX file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

import numpy as np

from keras_i3d.applications.i3d import load_model
from keras_i3d.errors import ExportError, InputError, KerasI3DError
from keras_i3d.serving.onnx_convert import write_onnx
from keras_i3d.serving.options import ServingOptions
from keras_i3d.serving.signatures import write_saved_model
from keras_i3d.utils.quiet import quiet_framework_startup


def write_in_tensorflow_process(
    model, targets: dict[str, Path], options: ServingOptions, clip, scratch: Path, opset: int | None, on_step
) -> dict[str, np.ndarray | None]:
    """Saves ``model`` as ``.keras`` and has a TensorFlow-backend process write each format.

    Args:
        model: the model to export (any backend).
        targets: where to write each format (``"savedmodel"``: a folder, ``"onnx"``: a file).
        options: see `ServingOptions`.
        clip: the verification clip, or ``None``.
        scratch: a folder for the exchange files.
        opset: the ONNX opset, or ``None``.
        on_step: called when the model is saved (and when the subprocess is done).

    Returns:
        The reloaded SavedModel's logits for ``clip`` under ``"savedmodel"``.
    """
    model_file = scratch / "model.keras"
    with quiet_framework_startup():  # Keras' saving code imports TensorFlow (for tf.io.gfile) when it is installed
        model.save(model_file)
    on_step()
    request = {
        "model": str(model_file),
        "targets": {name: str(path) for name, path in targets.items()},
        "opset": opset,
        "options": dataclasses.asdict(options),
        "clip": None,
        "result": str(scratch / "result.json"),
        "logits": str(scratch / "logits.npy"),
    }
    if clip is not None:
        request["clip"] = {}
        for name, value in clip.items():
            np.save(scratch / f"clip_{name}.npy", value)
            request["clip"][name] = str(scratch / f"clip_{name}.npy")
    request_file = scratch / "request.json"
    request_file.write_text(json.dumps(request))
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    command = [
        sys.executable,
        "-c",
        "import sys; from keras_i3d.serving.route import worker; sys.exit(worker(sys.argv[1]))",
    ]
    process = subprocess.Popen(
        [*command, str(request_file)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = process.communicate()
    finally:
        if process.poll() is None:  # interrupted: do not leave it writing
            process.kill()
            process.wait()
    result_file = Path(request["result"])
    result = json.loads(result_file.read_text()) if result_file.is_file() else None
    if process.returncode != 0 or result is None or "error" in result:
        if result is not None and "error" in result:
            raise ExportError(f"Exporting in the TensorFlow process failed: {result['error']}")
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise ExportError(f"The TensorFlow export process failed (exit status {process.returncode}):\n{tail}")
    for _ in targets:
        on_step()
    logits = np.load(request["logits"]) if clip is not None and "savedmodel" in targets else None
    return {name: logits if name == "savedmodel" else None for name in targets}


def write_format(model, name: str, target: str | Path, options: ServingOptions, clip, opset: int | None):
    """Writes one format (``"savedmodel"`` or ``"onnx"``) on the TensorFlow backend.

    Returns:
        The reloaded SavedModel's logits for ``clip`` (``None`` without a clip, and for ONNX).
    """
    if name == "savedmodel":
        return write_saved_model(model, target, options, clip)
    write_onnx(model, target, options, opset)
    return None


def worker(request_file: str) -> int:
    """The TensorFlow-backend subprocess: reads the request, writes the SavedModel and the result."""
    request = json.loads(Path(request_file).read_text())
    result_file = Path(request["result"])
    try:
        options = ServingOptions(**{**request["options"], "labels": tuple(request["options"]["labels"])})
        model = load_model(request["model"])
        clip = None
        if request["clip"] is not None:
            clip = {name: np.load(path) for name, path in request["clip"].items()}
        for name, target in request["targets"].items():
            logits = write_format(model, name, target, options, clip, request["opset"])
            if logits is not None:
                np.save(request["logits"], logits)
    except (KerasI3DError, InputError, ValueError, OSError, RuntimeError) as e:
        result_file.write_text(json.dumps({"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}))
        return 1
    result_file.write_text(json.dumps({"ok": True}))
    return 0
