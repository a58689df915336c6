"""SavedModel export for TF Serving (keras_i3d.serving.export), from the backend this run uses.

The big shared export (``served``: DeepMind's I3D, two streams, a tiny model) runs on TensorFlow
only; JAX and PyTorch each check their own export route on small models.

The exported SavedModels are run in a fresh process that can import only
TensorFlow (tests/support/serving_checker.py), with requests built by the example
client in TF Serving's REST and gRPC forms.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_i3d.errors import ExportError, MissingExtraError
from keras_i3d.preprocessing import preprocess_frames
from keras_i3d.serving import export
from tests.support import EXAMPLES_DIR, SUPPORT_DIR, blocking, helpers
from tests.support.cli import run_cli

CHECKER = SUPPORT_DIR / "serving_checker.py"
EXAMPLES = EXAMPLES_DIR


def _client():
    spec = importlib.util.spec_from_file_location("serving_client", EXAMPLES / "serving_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tiny(classes=3, channels=3, size=32, name="tiny"):
    """A small functional classifier with a ``Logits`` layer (what export needs of a model)."""
    inputs = keras.Input((None, size, size, channels), name="inputs")
    x = keras.layers.Conv3D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling3D(name="pool")(x)
    x = keras.layers.Dense(classes, name="Logits")(x)
    return keras.Model(inputs, keras.layers.Activation("softmax", name="Predictions")(x), name=name)


def _cricket_frames() -> np.ndarray:
    """DeepMind's sample clip as uint8 frames (1, 79, 224, 224, 3)."""
    return np.round((helpers.reference_input() + 1) / 2 * 255).astype(np.uint8)


def _relative_error(got, expected) -> float:
    expected = np.asarray(expected)
    return float(np.abs(np.asarray(got) - expected).max() / np.abs(expected).max())


def _logits(model, inputs, layer="Logits"):
    sub = keras.Model(model.input, model.get_layer(layer).output)
    return keras.ops.convert_to_numpy(sub(inputs, training=False))


def _run_checker(root: Path, runs: list[dict]) -> dict:
    """Runs ``runs`` in one fresh process that can import TensorFlow only (tests/support/serving_checker.py)."""
    job = root / "job.json"
    job.write_text(json.dumps({"runs": runs}))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [sys.executable, str(CHECKER), str(job), str(root / "result.json")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((root / "result.json").read_text())


@pytest.fixture(scope="module")
def served(tmp_path_factory, kinetics400_rgb_model):
    """Exports I3D, a two-stream model and a tiny 3-class model, then runs every request in one fresh TF process.

    The expensive shared export: made once, on TensorFlow (the tests using it are ``tf_only``);
    JAX and PyTorch export through their own route (``test_export_route_of_this_backend``).
    """
    from keras_i3d.applications.two_stream import TwoStreamI3D

    root = tmp_path_factory.mktemp("served")
    work = root / "inputs"
    work.mkdir()
    rng = np.random.default_rng(7)
    runs, expected = [], {}

    def save(name, value):
        path = work / f"{name}.npy"
        np.save(path, value)
        return str(path)

    def run(name, saved_model, signature, inputs=None, **extra):
        inputs = {key: save(f"{name}_{key}", value) for key, value in (inputs or {}).items()}
        runs.append({"name": name, "saved_model": str(saved_model), "signature": signature, "inputs": inputs, **extra})

    # I3D with DeepMind's kinetics400_rgb weights.
    model = kinetics400_rgb_model
    i3d = export.export_saved_model(model, root / "i3d")
    clip = rng.uniform(-1, 1, (1, 16, 224, 224, 3)).astype(np.float32)
    run("i3d_default", i3d, "serving_default", {"clips": clip})
    expected["i3d_default"] = _logits(model, clip)
    cricket = _cricket_frames()
    run("i3d_cricket", i3d, "classify", {"frames": cricket})
    video = rng.integers(0, 256, (2, 12, 180, 240, 3)).astype(np.uint8)  # a 4:3 video, two clips
    run("i3d_classify", i3d, "classify", {"frames": video})
    expected["i3d_classify"] = _logits(model, preprocess_frames(video))
    client = _client()
    body = client.rest_request(cricket[:, :32])
    (work / "rest.json").write_text(json.dumps(body))
    run("i3d_rest", i3d, "classify", rest=str(work / "rest.json"))
    (work / "grpc.pb").write_bytes(client.grpc_request(cricket[:, :32], model="i3d").SerializeToString())
    run("i3d_grpc", i3d, "classify", grpc=str(work / "grpc.pb"))

    # Encoded frames: the cricket clip as JPEG over gRPC and REST (b64), the 4:3 video as PNG (lossless).
    def encoded_run(name, encoded, form="grpc"):
        if form == "rest":
            (work / f"{name}.json").write_text(json.dumps(client.rest_request(encoded, "classify_encoded")))
            run(name, i3d, "classify_encoded", rest=str(work / f"{name}.json"))
        else:
            request = client.grpc_request({"encoded": encoded}, model="i3d", signature="classify_encoded")
            (work / f"{name}.pb").write_bytes(request.SerializeToString())
            run(name, i3d, "classify_encoded", grpc=str(work / f"{name}.pb"))

    jpeg = client.encode_frames(cricket)
    encoded_run("encoded_cricket", jpeg)
    encoded_run("encoded_rest", jpeg[:, :32], form="rest")
    encoded_run("encoded_png", client.encode_frames(video, "png"))
    mixed = np.concatenate([client.encode_frames(cricket[:, :2]), client.encode_frames(video[:1, :1])], axis=1)
    encoded_run("bad_encoded_sizes", mixed)
    encoded_run("bad_encoded_bytes", np.array([[b"not an image"] * 2], dtype=object))
    encoded_run("bad_encoded_empty", np.empty((1, 0), dtype=object))
    bad = {
        "rank": ("classify", {"frames": np.zeros((8, 64, 64, 3), np.uint8)}),
        "channels": ("classify", {"frames": np.zeros((1, 8, 64, 64, 4), np.uint8)}),
        "no_frames": ("classify", {"frames": np.zeros((1, 0, 64, 64, 3), np.uint8)}),
        "small": ("classify", {"frames": np.zeros((1, 8, 16, 64, 3), np.uint8)}),
        "empty_batch": ("classify", {"frames": np.zeros((0, 8, 64, 64, 3), np.uint8)}),
        "clip_size": ("serving_default", {"clips": np.zeros((1, 8, 112, 112, 3), np.float32)}),
        "clip_rank": ("serving_default", {"clips": np.zeros((1, 8, 224, 224), np.float32)}),
        "clip_nan": ("serving_default", {"clips": np.full((1, 8, 224, 224, 3), np.nan, np.float32)}),
        "clip_no_frames": ("serving_default", {"clips": np.zeros((1, 0, 224, 224, 3), np.float32)}),
    }
    for name, (signature, inputs) in bad.items():
        run(f"bad_{name}", i3d, signature, inputs)
    # The way TF Serving runs it: a TF1 graph session, tensors fed to Session::Run unchecked.
    run("session_cricket", i3d, "classify", {"frames": cricket[:, :32]}, session=True)  # the REST request's frames
    for name in ("rank", "channels", "no_frames"):
        run(f"bad_session_{name}", i3d, bad[name][0], bad[name][1], session=True)

    # A model built for a fixed number of frames is exported for any number.
    import keras_i3d

    fixed = keras_i3d.I3D(weights=None, input_shape=(8, 32, 32, 3))
    fixed_dir = export.export_saved_model(fixed, root / "fixed")
    free = keras_i3d.I3D(weights=None, input_shape=(None, 32, 32, 3))
    free.set_weights(fixed.get_weights())
    twelve = rng.uniform(-1, 1, (1, 12, 32, 32, 3)).astype(np.float32)
    run("fixed_default", fixed_dir, "serving_default", {"clips": twelve})
    expected["fixed_default"] = _logits(free, twelve)

    # Two streams (random weights, 64x64 clips to stay quick).
    two = TwoStreamI3D(rgb_weights=None, flow_weights=None, size=64)
    two_dir = export.export_saved_model(two, root / "two_stream", top_k=3)
    clips = {"rgb": clip[:, :8, :64, :64], "flow": rng.uniform(-1, 1, (1, 8, 64, 64, 2)).astype(np.float32)}
    run("two_default", two_dir, "serving_default", clips)
    expected["two_default"] = _logits(two, clips)
    rgb = rng.integers(0, 256, (1, 9, 80, 100, 3)).astype(np.uint8)
    flow = rng.normal(0, 8, (1, 8, 80, 100, 2)).astype(np.float32)  # one frame less: repeated at the end
    run("two_classify", two_dir, "classify", {"rgb": rgb, "flow": flow})
    padded = np.concatenate([flow, flow[:, -1:]], axis=1)
    prepared = {
        "rgb": preprocess_frames(rgb, size=64, short_side=73),
        "flow": preprocess_frames(padded, "flow", 64, 73),
    }
    expected["two_classify"] = _logits(two, prepared)
    run("bad_two_batch", two_dir, "classify", {"rgb": np.concatenate([rgb, rgb]), "flow": flow})
    run("bad_two_frames", two_dir, "classify", {"rgb": rgb, "flow": flow[:, :6]})
    run("bad_two_nan", two_dir, "classify", {"rgb": rgb, "flow": np.full_like(flow, np.nan)})

    # A tiny fine-tuned-style model with its own labels.
    tiny = _tiny()
    tiny_dir = export.export_saved_model(tiny, root / "tiny", labels=["jump", "run", "sit"], top_k=2)
    frames = rng.integers(0, 256, (1, 4, 40, 50, 3)).astype(np.uint8)
    run("tiny_classify", tiny_dir, "classify", {"frames": frames})
    expected["tiny_classify"] = _logits(tiny, preprocess_frames(frames, size=32, short_side=37))

    results = _run_checker(root, runs)
    jpeg_body = client.rest_request(jpeg[:, :32], "classify_encoded")
    sizes = {"raw": len(json.dumps(body)), "jpeg": len(json.dumps(jpeg_body))}
    return {"i3d": i3d, "two_stream": two_dir, "results": results, "expected": expected, "body": body, "sizes": sizes}


# -- what the fresh TensorFlow-only process saw --------------------------------------------------------------


@pytest.mark.tf_only
def test_the_savedmodel_runs_without_keras_or_keras_i3d(served):
    assert served["results"]["imported"] == []


@pytest.mark.tf_only
def test_the_export_is_fused_by_default(served):
    """BatchNorm folded into the convolutions: no moving statistics left among the SavedModel's variables."""
    import tensorflow as tf

    names = [v.name for v in tf.saved_model.load(str(served["i3d"])).network_variables]
    assert len(names) == 2 * 58  # a kernel and a bias per convolution (57 units and the logits)
    assert not [name for name in names if "moving" in name or "beta" in name]


@pytest.mark.tf_only
def test_serving_default_reproduces_the_keras_logits(served):
    logits = served["results"]["i3d_default"]["outputs"]["logits"]
    assert _relative_error(logits, served["expected"]["i3d_default"]) <= 1e-4
    probabilities = np.asarray(served["results"]["i3d_default"]["outputs"]["probabilities"])
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


@pytest.mark.tf_only
def test_classify_names_playing_cricket_for_the_sample_clip(served):
    outputs = served["results"]["i3d_cricket"]["outputs"]
    assert outputs["labels"][0][0] == "playing cricket"
    assert outputs["scores"][0][0] > 0.9
    assert len(outputs["labels"][0]) == 5 and outputs["scores"][0] == sorted(outputs["scores"][0], reverse=True)
    assert np.asarray(outputs["logits"]).shape == (1, 400)


@pytest.mark.tf_only
@pytest.mark.parametrize("form", ["encoded_cricket", "encoded_rest"])
def test_classify_encoded_names_playing_cricket_for_the_clip_s_jpeg_frames(served, form):
    outputs = served["results"][form]["outputs"]
    assert outputs["labels"][0][0] == "playing cricket"
    assert outputs["scores"][0][0] > 0.9


@pytest.mark.tf_only
def test_classify_encoded_png_frames_answer_as_the_raw_frames(served):
    """PNG is lossless: the same logits as ``classify`` on the uint8 frames; the JPEG request is far smaller."""
    results = served["results"]
    png, raw = results["encoded_png"]["outputs"]["logits"], results["i3d_classify"]["outputs"]["logits"]
    assert _relative_error(png, raw) == 0
    assert served["sizes"]["raw"] > 10 * served["sizes"]["jpeg"]  # 32 frames of 224x224 as REST JSON


@pytest.mark.tf_only
@pytest.mark.parametrize(
    "name,message",
    [
        ("sizes", "classify_encoded: every frame must have the same size; got 180x240 after 224x224."),
        ("bytes", "Unknown image file format."),
        ("empty", "classify_encoded: `encoded` holds no frames; send (batch, frames) images."),
    ],
)
def test_bad_encoded_requests_fail_with_a_message_naming_the_problem(served, name, message):
    result = served["results"][f"bad_encoded_{name}"]
    assert "error" in result, result
    assert message in result["error"]


@pytest.mark.tf_only
def test_classify_preprocesses_in_the_graph_as_preprocess_frames_does(served):
    outputs = served["results"]["i3d_classify"]["outputs"]
    assert np.asarray(outputs["logits"]).shape == (2, 400)
    assert _relative_error(outputs["logits"], served["expected"]["i3d_classify"]) <= 1e-4
    from keras_i3d.preprocessing import load_labels

    labels = load_labels("kinetics400")
    assert [[labels[i] for i in row] for row in outputs["class_ids"]] == outputs["labels"]


@pytest.mark.tf_only
def test_tf_serving_s_session_path_runs_classify(served):
    outputs = served["results"]["session_cricket"]["outputs"]
    assert outputs["labels"][0][0] == "playing cricket"
    expected = served["results"]["i3d_rest"]["outputs"]["logits"]
    assert _relative_error(outputs["logits"], expected) <= 1e-5


@pytest.mark.tf_only
@pytest.mark.parametrize(
    "name,message",
    [
        ("rank", "[8,64,64,3] is not compatible with expected shape [?,?,?,?,3]"),
        ("channels", "[1,8,64,64,4] is not compatible with expected shape [?,?,?,?,3]"),
        ("no_frames", "classify: `frames` has no frames, shape (1, 0, 64, 64, 3)"),
    ],
)
def test_tf_serving_s_session_path_refuses_bad_requests_clearly(served, name, message):
    result = served["results"][f"bad_session_{name}"]
    assert "error" in result, result
    assert message in result["error"]


@pytest.mark.tf_only
@pytest.mark.parametrize("form", ["rest", "grpc"])
def test_client_requests_reach_the_signature(served, form):
    outputs = served["results"][f"i3d_{form}"]["outputs"]
    assert outputs["labels"][0][0] == "playing cricket"


@pytest.mark.tf_only
@pytest.mark.parametrize(
    "name,message",
    [
        ("rank", "Shape of tensor frames [8,64,64,3] is not compatible with expected shape [?,?,?,?,3]"),
        ("channels", "Shape of tensor frames [1,8,64,64,4] is not compatible with expected shape [?,?,?,?,3]"),
        ("no_frames", "classify: `frames` has no frames, shape (1, 0, 64, 64, 3); I3D needs at least 1."),
        ("small", "classify: `frames` frames are too small, shape (1, 8, 16, 64, 3); they must be at least 32x32"),
        ("empty_batch", "classify: `frames` is an empty batch, shape (0, 8, 64, 64, 3); send at least one clip."),
        ("clip_size", "Shape of tensor clips [1,8,112,112,3] is not compatible with expected shape [?,?,224,224,3]"),
        ("clip_rank", "Shape of tensor clips [1,8,224,224] is not compatible"),
        ("clip_nan", "serving_default: `clips` has NaN or infinite values"),
        ("clip_no_frames", "serving_default: `clips` has no frames, shape (1, 0, 224, 224, 3)"),
        ("two_batch", "classify: `rgb` and `flow` must have the same batch size; got 2 and 1."),
        (
            "two_frames",
            "`flow` must have as many frames as `rgb`, or one less (flow between consecutive frames); "
            "got 6 flow and 9 rgb frames.",
        ),
        ("two_nan", "classify: `flow` has NaN or infinite values"),
    ],
)
def test_bad_requests_fail_with_a_message_naming_the_problem(served, name, message):
    result = served["results"][f"bad_{name}"]
    assert "error" in result, result
    assert message in result["error"]


@pytest.mark.tf_only
def test_a_model_built_for_fixed_frames_is_served_for_any(served):
    logits = served["results"]["fixed_default"]["outputs"]["logits"]
    assert _relative_error(logits, served["expected"]["fixed_default"]) <= 1e-4


@pytest.mark.tf_only
def test_two_stream_signatures(served):
    results, expected = served["results"], served["expected"]
    assert _relative_error(results["two_default"]["outputs"]["logits"], expected["two_default"]) <= 1e-4
    outputs = results["two_classify"]["outputs"]
    assert _relative_error(outputs["logits"], expected["two_classify"]) <= 1e-4
    assert np.asarray(outputs["labels"]).shape == (1, 3)


@pytest.mark.tf_only
def test_labels_are_embedded(served):
    outputs = served["results"]["tiny_classify"]["outputs"]
    assert _relative_error(outputs["logits"], served["expected"]["tiny_classify"]) <= 1e-4
    order = np.argsort(-np.asarray(outputs["logits"][0]))[:2]
    assert outputs["labels"][0] == [["jump", "run", "sit"][i] for i in order]


@pytest.mark.tf_only
def test_saved_model_cli_lists_dynamic_batch_and_frames(served):
    cli = Path(sys.executable).with_name("saved_model_cli")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [str(cli), "show", "--all", "--dir", str(served["i3d"])], capture_output=True, text=True, env=env, check=True
    )
    text = result.stdout
    default = text[text.index("signature_def['serving_default']") :]
    classify = text[text.index("signature_def['classify']") : text.index("signature_def['serving_default']")]
    assert "inputs['clips'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, -1, 224, 224, 3)" in default
    assert "inputs['frames'] tensor_info:\n        dtype: DT_UINT8\n        shape: (-1, -1, -1, -1, 3)" in classify
    for output in ("labels", "scores", "class_ids", "logits"):
        assert f"outputs['{output}']" in classify
    assert "outputs['probabilities']" in default
    assert "outputs['labels'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1, 5)" in classify


# -- the example client ---------------------------------------------------------------------------------


@pytest.mark.backend_independent
def test_rest_and_grpc_requests_decode_back_to_the_input():
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    client = _client()
    frames = np.random.default_rng(3).integers(0, 256, (2, 3, 40, 50, 3)).astype(np.uint8)
    body = json.loads(json.dumps(client.rest_request(frames)))
    assert body["signature_name"] == "classify"
    np.testing.assert_array_equal(np.asarray(body["instances"], np.uint8), frames)
    request = predict_pb2.PredictRequest.FromString(client.grpc_request(frames, model="i3d").SerializeToString())
    assert (request.model_spec.name, request.model_spec.signature_name) == ("i3d", "classify")
    decoded = tf.make_ndarray(request.inputs["frames"])
    assert decoded.dtype == np.uint8
    np.testing.assert_array_equal(decoded, frames)
    streams = {"rgb": frames, "flow": np.zeros((2, 3, 40, 50, 2), np.float32)}
    body = client.rest_request(streams)
    assert [sorted(row) for row in body["instances"]] == [["flow", "rgb"]] * 2
    np.testing.assert_array_equal(np.asarray([row["rgb"] for row in body["instances"]], np.uint8), frames)


@pytest.mark.backend_independent
def test_rest_client_posts_to_the_predict_endpoint():
    import http.server
    import threading

    seen = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            seen["path"] = self.path
            seen["body"] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            answer = json.dumps({"predictions": [{"labels": ["playing cricket"], "scores": [0.99]}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = _client()
        body = client.rest_request(np.zeros((1, 2, 32, 32, 3), np.uint8))
        predictions = client.send_rest(f"http://127.0.0.1:{server.server_port}", body, model="i3d")
    finally:
        server.shutdown()
    assert seen["path"] == "/v1/models/i3d:predict" and seen["body"] == body
    assert predictions == [{"labels": ["playing cricket"], "scores": [0.99]}]


@pytest.mark.backend_independent
def test_grpc_client_calls_predict():
    from concurrent import futures

    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    seen = {}

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 - gRPC API
            seen["request"] = request
            response = predict_pb2.PredictResponse()
            response.outputs["labels"].CopyFrom(tf.make_tensor_proto(np.array([[b"playing cricket"]])))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        client = _client()
        frames = np.ones((1, 2, 32, 32, 3), np.uint8)
        outputs = client.send_grpc(f"127.0.0.1:{port}", client.grpc_request(frames, model="i3d"))
    finally:
        server.stop(None)
    np.testing.assert_array_equal(tf.make_ndarray(seen["request"].inputs["frames"]), frames)
    assert outputs["labels"].tolist() == [[b"playing cricket"]]


# -- the export route of JAX and PyTorch ----------------------------------------------------------------------


@pytest.mark.jax_only
@pytest.mark.torch_only
def test_export_route_of_this_backend(tmp_path):
    """From JAX or PyTorch: an I3D with its labels exported, served by TensorFlow alone, same logits.

    (On TensorFlow the shared ``served`` export above covers this, with DeepMind's weights.)
    """
    import keras_i3d

    rng = np.random.default_rng(11)
    i3d = keras_i3d.I3D(weights=None, input_shape=(None, 32, 32, 3), classes=5, classifier_activation=None)
    i3d_dir = export.export_saved_model(i3d, tmp_path / "i3d", labels=list("abcde"), top_k=2)
    assert i3d_dir == tmp_path / "i3d" / "1"
    work = tmp_path / "inputs"
    work.mkdir()
    clip = rng.uniform(-1, 1, (1, 8, 32, 32, 3)).astype(np.float32)
    frames = rng.integers(0, 256, (1, 4, 40, 50, 3)).astype(np.uint8)
    np.save(work / "clip.npy", clip)
    np.save(work / "frames.npy", frames)
    runs = [
        {"name": "i3d_default", "saved_model": str(i3d_dir), "signature": "serving_default",
         "inputs": {"clips": str(work / "clip.npy")}},
        {"name": "i3d_classify", "saved_model": str(i3d_dir), "signature": "classify",
         "inputs": {"frames": str(work / "frames.npy")}},
    ]  # fmt: skip
    results = _run_checker(tmp_path, runs)
    assert results["imported"] == []
    assert _relative_error(results["i3d_default"]["outputs"]["logits"], _logits(i3d, clip)) <= 1e-4
    outputs = results["i3d_classify"]["outputs"]
    expected = _logits(i3d, preprocess_frames(frames, size=32, short_side=37))
    assert _relative_error(outputs["logits"], expected) <= 1e-4
    assert len(outputs["labels"][0]) == 2 and set(outputs["labels"][0]) <= set("abcde")


# -- versions, atomicity, arguments ------------------------------------------------------------------------


@pytest.mark.backend_independent
def test_versions_count_up_and_are_never_overwritten(tmp_path):
    model = _tiny()
    labels = ["a", "b", "c"]
    assert export.export_saved_model(model, tmp_path, labels=labels, verify=False) == tmp_path / "1"
    (tmp_path / "7").mkdir()
    (tmp_path / "notes").mkdir()
    assert export.export_saved_model(model, tmp_path, labels=labels, verify=False) == tmp_path / "8"
    before = sorted(p.name for p in (tmp_path / "1").rglob("*"))
    with pytest.raises(ExportError, match="exists; versions are never overwritten"):
        export.export_saved_model(model, tmp_path, version=1, labels=labels)
    assert sorted(p.name for p in (tmp_path / "1").rglob("*")) == before
    assert export.export_saved_model(model, tmp_path, version=3, labels=labels) == tmp_path / "3"
    assert export.existing_versions(tmp_path) == [1, 3, 7, 8]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1", "3", "7", "8", "notes"]  # no temporaries left
    with pytest.raises(ValueError, match="is a version folder; pass its parent"):
        export.export_saved_model(model, tmp_path / "1", labels=labels)


@pytest.mark.backend_independent
def test_a_failed_export_leaves_no_version_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "VERIFY_TOLERANCE", -1.0)  # every comparison fails
    with pytest.raises(ExportError, match="differ from the model's"):
        export.export_saved_model(_tiny(), tmp_path, labels=["a", "b", "c"])
    assert list(tmp_path.iterdir()) == []


class Unregistered(keras.layers.Layer):
    """A custom layer Keras cannot rebuild from its config (not registered as serializable)."""

    def call(self, x):
        return x


def test_a_model_tensorflow_cannot_rebuild_fails_clearly(tmp_path):
    inputs = keras.Input((None, 32, 32, 3))
    x = Unregistered(name="custom")(inputs)
    x = keras.layers.GlobalAveragePooling3D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="Logits")(x))
    with pytest.raises(ExportError, match="Unregistered|custom"):
        export.export_saved_model(model, tmp_path, labels=["a", "b"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"top_k": 0}, "`top_k` must be an int from 1 to the 3 classes"),
        ({"top_k": 4}, "`top_k` must be an int from 1 to the 3 classes"),
        ({"labels": ["a", "b"]}, "`labels` has 2 names; the model has 3 classes"),
        ({"labels": "abc"}, "`labels` must be a sequence of str"),
        ({"labels": None}, "The model has 3 classes, not Kinetics': pass `labels`"),
        ({"version": 0}, "`version` must be a whole number from 1 to 9223372036854775807"),
        ({"version": "2"}, "`version` must be a whole number from 1"),
        ({"short_side": 16}, "`short_side` must be an int of at least the clip size \\(32\\)"),
        ({"logits_layer": "Nope"}, "no layer named 'Nope'"),
    ],
)
@pytest.mark.backend_independent
def test_bad_arguments(tmp_path, kwargs, match):
    kwargs = {"labels": ["a", "b", "c"], **kwargs}
    with pytest.raises(ValueError, match=match):
        export.export_saved_model(_tiny(), tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()


@pytest.mark.backend_independent
def test_features_only_models_are_refused():
    import keras_i3d

    model = keras_i3d.I3D(weights=None, include_top=False, input_shape=(None, 32, 32, 3))
    with pytest.raises(ValueError, match="no layer named 'Logits'.*include_top=False"):
        export.serving_options(model)


@pytest.mark.backend_independent
def test_without_tensorflow_export_names_the_extra(tmp_path):
    script = blocking.script_prefix("tensorflow", hide=True) + (
        "import keras\n"
        "from keras_i3d.serving.export import export_saved_model\n"
        "from keras_i3d.errors import MissingExtraError\n"
        "i = keras.Input((None, 32, 32, 3))\n"
        "x = keras.layers.GlobalAveragePooling3D()(i)\n"
        "m = keras.Model(i, keras.layers.Dense(2, name='Logits')(x))\n"
        "try:\n"
        f"    export_saved_model(m, {str(tmp_path / 'm')!r}, labels=['a', 'b'])\n"
        "except MissingExtraError as e:\n"
        "    print(e)\n"
    )
    env = dict(os.environ, KERAS_BACKEND="jax")  # a backend that does not need TensorFlow
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == (
        'Exporting a SavedModel needs TensorFlow, which is not installed: pip install "keras-i3d[serving]"'
    )
    assert not (tmp_path / "m").exists()
    assert issubclass(MissingExtraError, ImportError)


# -- the command ----------------------------------------------------------------------------------------------


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_cli_export(tmp_path, capsys, converted_rgb):
    from keras_i3d.cli.app import main

    assert main(["export", "--out", str(tmp_path / "i3d"), "--version", "4", "--top-k", "3", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        str(tmp_path / "i3d" / "4"),
        "  SavedModel:",
        "    serving_default: clips float32 (-1, -1, 224, 224, 3) -> logits, probabilities",
        "    classify: frames uint8 (-1, -1, -1, -1, 3) -> labels, scores, class_ids, logits (top 3)",
        "    classify_encoded: encoded string (-1, -1) JPEG or PNG frames -> labels, scores, class_ids, logits (top 3)",
    ]
    assert (tmp_path / "i3d" / "4" / "saved_model.pb").is_file()
    assert main(["export", "--out", str(tmp_path / "i3d"), "--version", "4"]) == 2
    assert "i3d/4 exists; versions are never overwritten" in capsys.readouterr().err


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "argv,message",
    [
        (["--top-k", "0"], "--top-k must be at least 1"),
        (["--version", "0"], "--version must be at least 1"),
        (["--version", str(2**63)], "must be a whole number from 1 to 9223372036854775807"),
        (["--model", "m.keras", "--weights", "kinetics400_rgb"], "--model is a whole model"),
        (["--labels", "missing.txt"], "Cannot read --labels missing.txt"),
        (["--weights", "kinetics400_flow"], "is a flow preset; pass --stream flow"),
    ],
)
def test_cli_export_refuses_bad_options(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, "export", "--out", "out", *argv)
    assert status == 2 and message in err
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.backend_independent
def test_cli_exports_a_whole_model_with_its_labels(tmp_path, capsys):
    from keras_i3d.cli.app import main

    _tiny().save(tmp_path / "tiny.keras")
    (tmp_path / "labels.txt").write_text("jump\nrun\n")
    argv = ["export", "--model", str(tmp_path / "tiny.keras"), "--out", str(tmp_path / "m"), "--quiet"]
    assert main([*argv, "--labels", str(tmp_path / "labels.txt")]) == 2
    assert "`labels` has 2 names; the model has 3 classes" in capsys.readouterr().err
    (tmp_path / "labels.txt").write_text("jump\nrun\nsit\n")
    assert main([*argv, "--labels", str(tmp_path / "labels.txt")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(tmp_path / "m" / "1") and out[3].endswith("(top 3)")
    assert main(argv) == 2
    assert "(keras-i3d export --labels FILE, one per line)" in capsys.readouterr().err


@pytest.mark.backend_independent
def test_export_onto_a_full_disk_is_one_line_and_publishes_nothing(tmp_path):
    """Disk-full and file-size errors in export were raw TensorFlow tracebacks."""
    import resource
    import signal

    _tiny().save(tmp_path / "tiny.keras")
    (tmp_path / "labels.txt").write_text("jump\nrun\nsit\n")

    def limit() -> None:  # in the child: writes past 20 kB fail with EFBIG instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    done = subprocess.run(
        [sys.executable, "-m", "keras_i3d", "export", "--model", str(tmp_path / "tiny.keras"), "--out",
         str(tmp_path / "out"), "--labels", str(tmp_path / "labels.txt"), "--quiet"],
        capture_output=True, text=True, preexec_fn=limit, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(done.stderr.strip().splitlines()) == 1 and "File too large" in done.stderr
    assert "Nothing was published." in done.stderr and list((tmp_path / "out").iterdir()) == []
