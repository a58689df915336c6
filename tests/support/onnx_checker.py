"""Runs exported ONNX files with onnxruntime in a fresh process where no ML framework can be imported.

``keras``, ``tf_keras``, ``tensorflow``, ``jax``, ``flax``, ``torch`` and
``keras_i3d`` are blocked before onnxruntime loads, so a file that still
needed any of them could not run here.

Usage: ``python tests/support/onnx_checker.py JOB.json RESULT.json``, where JOB is
``{"runs": [{"name", "model": "x.onnx", "inputs": {name: "x.npy"}}]}``. RESULT
maps each run's name to ``{"outputs": {name: nested list}}`` or ``{"error":
message}``, plus ``"imported"`` (the blocked packages imported anyway) and
``"signatures"``: each file's inputs and outputs, ``{name: [shape]}`` with
axis names for dynamic axes.
"""

import json
import sys

from blocking import block  # tests/support/blocking.py: this script's folder is first on sys.path

BLOCKED = ("keras", "tf_keras", "tensorflow", "jax", "flax", "torch", "keras_i3d")
block(*BLOCKED)

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402


def main(job_path: str, result_path: str) -> None:
    job = json.loads(open(job_path).read())
    sessions, results, signatures = {}, {}, {}
    for run in job["runs"]:
        if run["model"] not in sessions:
            options = onnxruntime.SessionOptions()
            options.log_severity_level = 3
            session = onnxruntime.InferenceSession(run["model"], options, providers=["CPUExecutionProvider"])
            sessions[run["model"]] = session
            signatures[run["model"]] = {
                "inputs": {i.name: list(i.shape) for i in session.get_inputs()},
                "outputs": {o.name: list(o.shape) for o in session.get_outputs()},
            }
        session = sessions[run["model"]]
        inputs = {name: np.load(path) for name, path in run["inputs"].items()}
        try:
            names = [o.name for o in session.get_outputs()]
            values = session.run(names, inputs)
            results[run["name"]] = {"outputs": {n: v.tolist() for n, v in zip(names, values, strict=True)}}
        except Exception as e:  # onnxruntime's errors: INVALID_ARGUMENT for shapes
            results[run["name"]] = {"error": f"{type(e).__name__}: {e}"}
    results["imported"] = sorted(name for name in BLOCKED if name in sys.modules)
    results["signatures"] = signatures
    with open(result_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
