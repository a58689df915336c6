"""Runs exported SavedModels in a fresh process where only TensorFlow can be imported.

``keras``, ``tf_keras`` and ``keras_i3d`` are blocked before TensorFlow loads,
so a SavedModel that still needed them could not run here. Requests in TF
Serving's REST (JSON) or gRPC (``PredictRequest``) form are decoded as the
model server decodes them: JSON values are cast to the signature's dtype,
tensors are read with ``tf.make_ndarray``.

Usage: ``python tests/support/serving_checker.py JOB.json RESULT.json``, where JOB is
``{"runs": [{"name", "saved_model", "signature", "inputs": {name: "x.npy"}}
| {..., "rest": "body.json"} | {..., "grpc": "request.pb"}]}``. RESULT maps each
run's name to ``{"outputs": {name: nested list}}`` or ``{"error": message}``,
plus ``"imported"``: the blocked packages that were imported anyway.

A run with ``"session": true`` goes the way TF Serving goes instead: the
SavedModel is loaded as a TF1 graph (tag ``serve``) and the signature's
tensors are fed to the C++ ``Session::Run`` directly, without the shape
checks Python's ``Session.run`` adds, as the model server feeds them.
"""

import base64
import json
import sys

from blocking import block  # tests/support/blocking.py: this script's folder is first on sys.path

BLOCKED = ("keras", "tf_keras", "keras_i3d")
block(*BLOCKED)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def _rest_value(value, spec) -> np.ndarray:
    """A JSON value as the model server reads it: cast to the input's dtype; ``{"b64": ...}`` strings decoded."""
    if spec.dtype == tf.string:
        return np.vectorize(lambda v: base64.b64decode(v["b64"]), otypes=[object])(np.asarray(value, dtype=object))
    return np.asarray(value, spec.dtype.as_numpy_dtype)


def _rest_inputs(body: dict, signature) -> dict:
    specs = signature.structured_input_signature[1]
    instances = body["instances"]
    if isinstance(instances[0], dict):
        return {name: _rest_value([row[name] for row in instances], spec) for name, spec in specs.items()}
    ((name, spec),) = specs.items()
    return {name: _rest_value(instances, spec)}


def _grpc_inputs(data: bytes, signature_name: str) -> dict:
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest.FromString(data)
    assert request.model_spec.signature_name == signature_name, request.model_spec
    return {name: tf.make_ndarray(proto) for name, proto in request.inputs.items()}


def _session_run(saved_model: str, signature: str, inputs: dict) -> dict:
    """Runs ``signature`` through ``Session::Run`` of a TF1 graph session, as TF Serving does."""
    graph = tf.Graph()
    with graph.as_default(), tf.compat.v1.Session(graph=graph) as session:
        meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], saved_model)
        definition = meta_graph.signature_def[signature]
        feeds = {
            graph.get_tensor_by_name(definition.inputs[name].name)._as_tf_output(): v for name, v in inputs.items()
        }
        names = sorted(definition.outputs)
        fetches = [graph.get_tensor_by_name(definition.outputs[name].name)._as_tf_output() for name in names]
        values = session._call_tf_sessionrun(None, feeds, fetches, [], None)
    return dict(zip(names, values, strict=True))


def _jsonable(value: np.ndarray):
    if value.dtype.kind in "SO":
        return np.vectorize(lambda b: b.decode())(value).tolist()
    return value.tolist()


def main(job_path: str, result_path: str) -> None:
    job = json.loads(open(job_path).read())
    loaded = {}
    results = {}
    for run in job["runs"]:
        if run["saved_model"] not in loaded:
            loaded[run["saved_model"]] = tf.saved_model.load(run["saved_model"])
        signature = loaded[run["saved_model"]].signatures[run["signature"]]
        if "rest" in run:
            inputs = _rest_inputs(json.loads(open(run["rest"]).read()), signature)
        elif "grpc" in run:
            inputs = _grpc_inputs(open(run["grpc"], "rb").read(), run["signature"])
        else:
            inputs = {name: np.load(path) for name, path in run["inputs"].items()}
        try:
            if run.get("session"):
                outputs = _session_run(run["saved_model"], run["signature"], inputs)
            else:
                outputs = signature(**{name: tf.constant(value) for name, value in inputs.items()})
                outputs = {name: value.numpy() for name, value in outputs.items()}
        except (tf.errors.InvalidArgumentError, ValueError, TypeError) as e:
            results[run["name"]] = {"error": getattr(e, "message", None) or str(e)}
            continue
        results[run["name"]] = {"outputs": {name: _jsonable(value) for name, value in outputs.items()}}
    results["imported"] = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    with open(result_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
