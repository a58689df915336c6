"""The export route of JAX and PyTorch models: a TensorFlow-backend subprocess writes the SavedModel.

Keras traces a SavedModel only from a model running on the TensorFlow
backend, so a model built on another backend is saved as a ``.keras`` file
and rebuilt in a subprocess with ``KERAS_BACKEND=tensorflow`` (`worker`),
which writes the SavedModel and the logits of the verification clip.
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
from keras_i3d.serving.options import ServingOptions
from keras_i3d.serving.signatures import write_saved_model
from keras_i3d.utils.quiet import quiet_framework_startup


def write_in_tensorflow_process(model, target: Path, options: ServingOptions, clip, scratch: Path, bar) -> np.ndarray:
    """Saves ``model`` as ``.keras`` and has a TensorFlow-backend process write the SavedModel."""
    model_file = scratch / "model.keras"
    with quiet_framework_startup():  # Keras' saving code imports TensorFlow (for tf.io.gfile) when it is installed
        model.save(model_file)
    bar.update()
    bar.set_postfix_str("trace and write (TensorFlow)")
    request = {
        "model": str(model_file),
        "target": str(target),
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
    return np.load(request["logits"]) if clip is not None else None


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
        logits = write_saved_model(model, request["target"], options, clip)
        if logits is not None:
            np.save(request["logits"], logits)
    except (KerasI3DError, InputError, ValueError, OSError, RuntimeError) as e:
        result_file.write_text(json.dumps({"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}))
        return 1
    result_file.write_text(json.dumps({"ok": True}))
    return 0
