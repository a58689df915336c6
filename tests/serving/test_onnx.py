"""ONNX export (keras_i3d.serving.export.export_onnx / export_model), Triton's config, the one-folder repository.

Every exported file is run by onnxruntime in a fresh process where Keras,
TensorFlow, JAX, PyTorch and keras_i3d cannot be imported
(tests/support/onnx_checker.py), and compared with the Keras model on the
backend that built it.
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

import keras_i3d
from keras_i3d.errors import ExportError, MissingExtraError
from keras_i3d.serving import export, triton
from tests.support import SUPPORT_DIR, helpers
from tests.support.cli import run_cli

CHECKER = SUPPORT_DIR / "onnx_checker.py"
#: The clip shapes the checks run: batch 2 x 16 frames, and odd and even lengths the export never saw.
SHAPES = ((2, 16), (1, 40), (1, 79))


def _run_onnx_alone(root: Path, runs: list[dict]) -> dict:
    """Runs ``runs`` (``{"name", "model", "inputs": {name: array}}``) in one framework-free process."""
    work = root / "onnx_inputs"
    work.mkdir(exist_ok=True)
    job = []
    for run in runs:
        inputs = {}
        for key, value in run["inputs"].items():
            path = work / f"{run['name']}_{key}.npy"
            np.save(path, value)
            inputs[key] = str(path)
        job.append({"name": run["name"], "model": str(run["model"]), "inputs": inputs})
    (root / "onnx_job.json").write_text(json.dumps({"runs": job}))
    env = dict(os.environ)
    env.pop("KERAS_BACKEND", None)
    result = subprocess.run(
        [sys.executable, str(CHECKER), str(root / "onnx_job.json"), str(root / "onnx_result.json")],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads((root / "onnx_result.json").read_text())


def _relative_error(got, expected) -> float:
    expected = np.asarray(expected)
    return float(np.abs(np.asarray(got) - expected).max() / np.abs(expected).max())


def _logits(model, inputs):
    sub = keras.Model(model.inputs, model.get_layer("Logits").output)
    if isinstance(inputs, dict):  # by stream, in the model's input order
        inputs = [inputs["rgb" if t.shape[-1] == 3 else "flow"] for t in model.inputs]
    else:  # the structure `sub` was built on (a list of inputs): no Keras warning about it
        inputs = [inputs]
    return keras.ops.convert_to_numpy(sub(inputs, training=False))


def _tiny(classes=3, size=32):
    inputs = keras.Input((None, size, size, 3), name="inputs")
    x = keras.layers.Conv3D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling3D(name="pool")(x)
    x = keras.layers.Dense(classes, name="Logits")(x)
    return keras.Model(inputs, x, name="tiny")


def _op_types(path: Path) -> set[str]:
    import onnx

    return {node.op_type for node in onnx.load(str(path)).graph.node}


# -- exports made on each backend -------------------------------------------------------------------------------


def test_onnx_from_this_backend_reproduces_keras_at_any_batch_and_frame_count(tmp_path):
    """From TensorFlow, JAX or PyTorch: ONNX with Triton's config, run by onnxruntime alone, = Keras to 1e-4.

    On TensorFlow the as-built graph is exported (``fuse=False``); on JAX and PyTorch the default fused
    model. Both are compared with the as-built model. (tf2onnx folds BatchNorm into the convolutions
    itself, so both files hold only Conv, Relu, MaxPool and the head: no BatchNorm arithmetic.)
    """
    rng = np.random.default_rng(3)
    model = keras_i3d.I3D(weights=None, input_shape=(None, 64, 64, 3), classes=6, classifier_activation=None)
    helpers.randomize_batch_norm(model)
    fuse = keras.backend.backend() != "tensorflow"
    version = export.export_onnx(model, tmp_path / "i3d", labels=list("abcdef"), fuse=fuse)
    assert version == tmp_path / "i3d" / "1"
    assert sorted(p.name for p in version.iterdir()) == ["model.onnx"]
    assert sorted(p.name for p in (tmp_path / "i3d").iterdir()) == ["1", "config.pbtxt", "labels.txt"]
    assert (tmp_path / "i3d" / "labels.txt").read_text() == "a\nb\nc\nd\ne\nf\n"
    assert not _op_types(version / "model.onnx") & {"BatchNormalization", "Sqrt"}

    clips = {shape: rng.uniform(-1, 1, (*shape, 64, 64, 3)).astype(np.float32) for shape in SHAPES}
    onnx_file = version / "model.onnx"
    runs = [{"name": f"{b}x{t}", "model": onnx_file, "inputs": {"clips": x}} for (b, t), x in clips.items()]
    bad = {
        "rank": np.zeros((8, 64, 64, 3), np.float32),
        "channels": np.zeros((1, 8, 64, 64, 2), np.float32),
        "size": np.zeros((1, 8, 32, 32, 3), np.float32),
    }
    runs += [{"name": f"bad_{name}", "model": onnx_file, "inputs": {"clips": x}} for name, x in bad.items()]
    results = _run_onnx_alone(tmp_path, runs)
    assert results["imported"] == []
    signature = results["signatures"][str(version / "model.onnx")]
    assert signature == {
        "inputs": {"clips": ["batch", "frames", 64, 64, 3]},
        "outputs": {"logits": ["batch", 6], "probabilities": ["batch", 6]},
    }
    for (b, t), x in clips.items():
        outputs = results[f"{b}x{t}"]["outputs"]
        assert _relative_error(outputs["logits"], _logits(model, x)) <= 1e-4, (b, t)
        np.testing.assert_allclose(np.sum(outputs["probabilities"], axis=-1), 1.0, rtol=1e-5)
    assert "Invalid rank for input: clips Got: 4 Expected: 5" in results["bad_rank"]["error"]
    for name in ("channels", "size"):
        assert "INVALID_ARGUMENT" in results[f"bad_{name}"]["error"]
        assert "Got invalid dimensions for input: clips" in results[f"bad_{name}"]["error"]

    config = triton.check_triton_config((tmp_path / "i3d" / "config.pbtxt").read_text())
    assert config.platform == "onnxruntime_onnx"
    assert [(i.name, list(i.dims)) for i in config.input] == [("clips", [-1, -1, 64, 64, 3])]
    assert [(o.name, list(o.dims)) for o in config.output] == [("logits", [-1, 6]), ("probabilities", [-1, 6])]


@pytest.mark.torch_only
def test_a_two_stream_model_exports_with_two_inputs(tmp_path):
    """Two inputs, ``rgb`` and ``flow``; onnxruntime alone = the Keras two-stream logits (PyTorch's route)."""
    rng = np.random.default_rng(5)
    two = keras_i3d.TwoStreamI3D(rgb_weights=None, flow_weights=None, size=32, classes=4)
    version = export.export_onnx(two, tmp_path / "two", labels=list("wxyz"))
    inputs = {
        "rgb": rng.uniform(-1, 1, (2, 9, 32, 32, 3)).astype(np.float32),
        "flow": rng.uniform(-1, 1, (2, 9, 32, 32, 2)).astype(np.float32),
    }
    results = _run_onnx_alone(tmp_path, [{"name": "two", "model": version / "model.onnx", "inputs": inputs}])
    assert results["signatures"][str(version / "model.onnx")]["inputs"] == {
        "rgb": ["batch", "frames", 32, 32, 3],
        "flow": ["batch", "frames", 32, 32, 2],
    }
    assert _relative_error(results["two"]["outputs"]["logits"], _logits(two, inputs)) <= 1e-4
    config = triton.check_triton_config((tmp_path / "two" / "config.pbtxt").read_text())
    assert [(i.name, list(i.dims)) for i in config.input] == [
        ("rgb", [-1, -1, 32, 32, 3]),
        ("flow", [-1, -1, 32, 32, 2]),
    ]


# -- one command, one folder, both servers (DeepMind's weights) ------------------------------------------------


@pytest.mark.tf_only
@pytest.mark.requires_data
def test_cli_writes_one_folder_that_tf_serving_and_triton_both_serve(tmp_path, capsys, kinetics400_rgb_model):
    """``export --format both --triton``: SavedModel + model.onnx + config.pbtxt, fused; the ONNX file = Keras.

    DeepMind's weights, fused by default, through onnxruntime alone: the as-built Keras model's
    logits at 2 x 16, 40 and 79 frames, the independent reference's on the cricket clip, "playing cricket".
    (The SavedModel's signatures are checked on the shared export of test_export.py.)
    """
    from keras_i3d.cli.app import main

    out = tmp_path / "repository" / "i3d"
    assert main(["export", "--out", str(out), "--format", "both", "--triton", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        str(out / "1"),
        "  SavedModel:",
        "    serving_default: clips float32 (-1, -1, 224, 224, 3) -> logits, probabilities",
        "    classify: frames uint8 (-1, -1, -1, -1, 3) -> labels, scores, class_ids, logits (top 5)",
        "    classify_encoded: encoded string (-1, -1) JPEG or PNG frames -> labels, scores, class_ids, logits (top 5)",
        "  ONNX (model.onnx): clips float32 (batch, frames, 224, 224, 3) -> logits, probabilities",
        f"  Triton: {out / 'config.pbtxt'} (platform onnxruntime_onnx)",
    ]
    assert sorted(p.name for p in out.iterdir()) == ["1", "config.pbtxt", "labels.txt"]
    assert {"saved_model.pb", "variables", "model.onnx"} <= {p.name for p in (out / "1").iterdir()}
    assert not _op_types(out / "1" / "model.onnx") & {"BatchNormalization", "Sqrt"}
    labels = (out / "labels.txt").read_text().splitlines()
    assert len(labels) == 400 and labels[0] == "abseiling"
    config = triton.check_triton_config((out / "config.pbtxt").read_text())
    assert config.output[1].label_filename == "labels.txt"

    clip = helpers.reference_input()  # DeepMind's cricket clip, (1, 79, 224, 224, 3)
    clips = {"2x16": np.concatenate([clip[:, :16], clip[:, 30:46]]), "1x40": clip[:, 20:60], "1x79": clip}
    runs = [{"name": name, "model": out / "1" / "model.onnx", "inputs": {"clips": x}} for name, x in clips.items()]
    results = _run_onnx_alone(tmp_path, runs)
    assert results["imported"] == []
    for name, x in clips.items():
        assert _relative_error(results[name]["outputs"]["logits"], _logits(kinetics400_rgb_model, x)) <= 1e-4, name
    cricket = np.asarray(results["1x79"]["outputs"]["logits"])
    assert _relative_error(cricket, helpers.reference_logits().reshape(cricket.shape)) <= 1e-4
    assert labels[int(np.argmax(cricket))] == "playing cricket"


# -- Triton's config ---------------------------------------------------------------------------------------------


@pytest.mark.backend_independent
def test_triton_config_forms():
    text = triton.triton_config("savedmodel", {"clips": 3}, 224, 400, max_batch_size=8)
    config = triton.check_triton_config(text)
    assert config.platform == "tensorflow_savedmodel" and config.max_batch_size == 8
    assert list(config.input[0].dims) == [-1, 224, 224, 3]  # the batch axis is Triton's
    assert list(config.output[0].dims) == [400]
    assert config.HasField("dynamic_batching")
    assert not config.name  # Triton takes the folder's name
    with pytest.raises(ValueError, match="max_batch_size"):
        triton.triton_config("onnx", {"clips": 3}, 224, 400, max_batch_size=-1)
    with pytest.raises(ValueError, match="platform_format"):
        triton.triton_config("tflite", {"clips": 3}, 224, 400)
    with pytest.raises(ExportError, match="not valid for Triton's ModelConfig schema"):
        triton.check_triton_config('platform: "onnxruntime_onnx"\nmax_batch_size: "eight"\n')
    with pytest.raises(ExportError, match="names no platform"):
        triton.check_triton_config("max_batch_size: 0\n")


@pytest.mark.backend_independent
def test_triton_layout_of_an_as_built_savedmodel(tmp_path):
    """``--triton`` with the SavedModel alone: ``<version>/model.savedmodel/``; ``--no-fuse`` keeps BatchNorm."""
    from keras_i3d.utils.tf_loader import import_tensorflow

    model = keras_i3d.I3D(weights=None, input_shape=(None, 32, 32, 3), classes=3, classifier_activation=None)
    version = export.export_saved_model(model, tmp_path / "i3d", labels=["a", "b", "c"], triton=True, fuse=False)
    assert sorted(p.name for p in version.iterdir()) == ["model.savedmodel"]
    assert 'platform: "tensorflow_savedmodel"' in (tmp_path / "i3d" / "config.pbtxt").read_text()
    loaded = import_tensorflow("test").saved_model.load(str(version / "model.savedmodel"))
    names = [v.name for v in loaded.network_variables]
    assert sum("moving_mean" in name for name in names) == 57  # every unit's BatchNorm, as built


# -- what is refused, and what a failure leaves -------------------------------------------------------------------


@pytest.mark.backend_independent
def test_a_failed_onnx_check_publishes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "run_onnx", lambda path, clip: {"logits": np.full((1, 3), 9.0, np.float32)})
    with pytest.raises(ExportError, match=r"ONNX file \(onnxruntime\)'s logits differ from the model's"):
        export.export_model(_tiny(), tmp_path / "tiny", labels=["a", "b", "c"], triton=True)
    assert list((tmp_path / "tiny").iterdir()) == []  # no version, no config, no scratch


@pytest.mark.backend_independent
def test_onnx_versions_are_never_overwritten(tmp_path):
    export.export_onnx(_tiny(), tmp_path / "tiny", labels=["a", "b", "c"], version=3, triton=False, verify=False)
    with pytest.raises(ExportError, match="exists; versions are never overwritten"):
        export.export_onnx(_tiny(), tmp_path / "tiny", labels=["a", "b", "c"], version=3)
    with pytest.raises(ValueError, match="is a version folder; pass its parent"):
        export.export_onnx(_tiny(), tmp_path / "tiny" / "3", labels=["a", "b", "c"])
    with pytest.raises(ValueError, match="`formats` must be one or both of"):
        export.export_model(_tiny(), tmp_path / "tiny", ("tflite",), labels=["a", "b", "c"])


@pytest.mark.backend_independent
def test_missing_converters_name_the_extra(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tf2onnx" else real(name))
    with pytest.raises(MissingExtraError, match=r'needs tf2onnx.*pip install "keras-i3d\[onnx\]"'):
        export.export_onnx(_tiny(), tmp_path / "tiny", labels=["a", "b", "c"])
    for name in ("tritonclient", "tritonclient.grpc", "tritonclient.grpc.model_config_pb2"):
        monkeypatch.setitem(sys.modules, name, None)  # imports of them raise ImportError
    with pytest.raises(MissingExtraError, match=r"keras-i3d\[triton\]"):
        triton.check_triton_config('platform: "onnxruntime_onnx"\n')
    assert not (tmp_path / "tiny").exists() or list((tmp_path / "tiny").iterdir()) == []


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "argv,message",
    [
        (["--format", "tflite"], "invalid choice: 'tflite'"),
        (["--max-batch-size", "-1"], "--max-batch-size must be at least 0"),
        (["--opset", "0"], "--opset must be at least 1"),
    ],
)
def test_cli_export_refuses_bad_onnx_options(tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli(capsys, "export", "--out", "m", *argv)
    assert status == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()
