"""The keras-i3d command."""

import os
import shutil
import subprocess
import sys

import pytest

from keras_i3d import cli, presets
from keras_i3d.utils.files import git_blob_id
from tests.support import REPO_ROOT, blocking, helpers
from tests.support.cache import seed_cache
from tests.support.cli import run_cli


@pytest.mark.backend_independent
def test_presets_table(capsys):
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "kinetics400_rgb" in out and "rgb_scratch" in out and "68.4 / 88.0" in out
    assert "kinetics600_rgb" in out and "not published" in out


def test_command_prints_no_framework_startup_lines():
    result = subprocess.run([sys.executable, "-m", "keras_i3d", "presets"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.splitlines()[0].startswith("preset")


# The command's reading, ranking and printing are Python; each backend's model is held to the reference logits
# in tests/applications/test_parity.py. Once, on PyTorch (CI budget).
@pytest.mark.torch_only
@pytest.mark.requires_data
def test_classify_the_sample_clip(capsys, converted_rgb):
    gif = helpers.data_dir() / "v_CricketShot_g04_c01_rgb.gif"
    assert cli.main(["classify", str(gif), "--top", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].endswith("playing cricket")


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_classify_without_input_fetches_the_sample_clip(deepmind_server, monkeypatch, tmp_path, capsys, converted_rgb):
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    seed_cache(converted_rgb)  # the session's converted weights in this empty cache...
    cached = helpers.data_dir()
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "data"))
    (tmp_path / "data" / "checkpoints").mkdir(parents=True)
    (tmp_path / "data" / "checkpoints" / "rgb_scratch").symlink_to(cached / "checkpoints" / "rgb_scratch")
    assert cli.main(["classify", "--top", "1"]) == 0  # ...but the clip is downloaded
    assert capsys.readouterr().out.strip().endswith("playing cricket")
    assert deepmind_server.requests == ["v_CricketShot_g04_c01_rgb.gif"]


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_download_data_folder(deepmind_server, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    assert cli.main(["download", "kinetics400_rgb", "--data-dir", str(tmp_path / "mirror"), "--quiet"]) == 0
    for relative in [*presets.SAMPLE_FILES, *presets.get_preset("kinetics400_rgb").checkpoint_files]:
        assert git_blob_id(tmp_path / "mirror" / relative) == presets.deepmind_files()[relative]
    assert len(capsys.readouterr().out.splitlines()) == 4


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_download_into_the_cache_then_a_copied_cache_runs_the_demo_offline(
    deepmind_server, monkeypatch, tmp_path, capsys
):
    """The documented offline recipe: download --samples, copy models/keras_i3d/, no network, make demo."""
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.delenv("KINETICS_I3D_DATA")
    assert cli.main(["download", "kinetics400_rgb", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "kh" / "models" / "keras_i3d" / "i3d_kinetics400_rgb.weights.h5") in out
    assert "sample clip" not in out  # not asked for
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", "http://127.0.0.1:9/")  # the network is gone
    assert cli.main(["download", "kinetics400_rgb", "--quiet"]) == 0  # cached: nothing else fetched, exit 0
    status, _, err = run_cli(capsys, "download", "--samples", "--quiet")
    assert status == 2 and "To fix:" in err and "keras-i3d download --samples" in err
    demo = [sys.executable, str(REPO_ROOT / "examples" / "classify_cricket.py")]
    offline = {k: v for k, v in os.environ.items() if k != "KINETICS_I3D_DATA"}
    done = subprocess.run(demo, capture_output=True, text=True, env=offline, check=False, timeout=600)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(done.stderr.strip().splitlines()) <= 3 and "To fix:" in done.stderr  # a paragraph, not 87 lines
    # On a connected machine: the samples too; then only the one folder is copied.
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    assert cli.main(["download", "kinetics400_rgb", "--samples", "--quiet"]) == 0
    assert "sample clip (flow)" in capsys.readouterr().out
    shutil.copytree(tmp_path / "kh" / "models" / "keras_i3d", tmp_path / "offline" / "models" / "keras_i3d")
    offline.update(KERAS_HOME=str(tmp_path / "offline"), KINETICS_I3D_CHECKPOINT_URL="http://127.0.0.1:9/")
    done = subprocess.run(demo, capture_output=True, text=True, env=offline, check=False, timeout=600)
    assert done.returncode == 0 and "1. playing cricket" in done.stdout, done.stderr[-3000:]


@pytest.mark.backend_independent
def test_download_needs_presets(capsys):
    assert cli.main(["download"]) == 2
    assert "--all" in capsys.readouterr().err
    assert cli.main(["download", "kinetics700"]) == 2
    assert "Unknown I3D preset" in capsys.readouterr().err


@pytest.mark.backend_independent
def test_errors_are_reported_not_raised(tmp_path, capsys):
    status = cli.main(
        ["convert", "--checkpoint", str(tmp_path / "nope" / "model.ckpt"), "--output", str(tmp_path / "x.weights.h5"),
         "--preset", "kinetics400_rgb"]
    )  # fmt: skip
    assert status == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.backend_independent
def test_unknown_subcommand_exits():
    with pytest.raises(SystemExit):
        cli.main(["frobnicate"])


RUN_MAIN = "import sys\nfrom keras_i3d.cli import main\nsys.exit(main(sys.argv[1:]))\n"


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("argv", "status", "expected"),
    [
        (["--help"], 0, "usage: keras-i3d [-h] [--version]"),
        (["--version"], 0, "keras-i3d 0."),
        (["presets"], 0, "kinetics400_rgb "),
        (["classify", "--help"], 0, "--model MODEL"),
        (["finetune", "--help"], 0, "--lr LR"),
        (["classify", "--top", "0", "v.mp4"], 2, "--top must be at least 1; got 0."),
        (["bench", "--steps", "0"], 2, "--steps must be positive; got 0."),
        (["dataset", "a", "b", "--fps", "-1"], 2, "--fps must be positive; got -1.0."),
        (["nonsense"], 2, "invalid choice: 'nonsense'"),
    ],
)
def test_help_version_presets_and_usage_errors_start_no_framework(argv, status, expected):
    """They took 7-9 s each: the framework was imported before the arguments were read."""
    script = blocking.script_prefix("keras", "tensorflow", "jax", "torch", "numpy") + RUN_MAIN
    done = subprocess.run(
        [sys.executable, "-c", script, *argv], capture_output=True, text=True, cwd=REPO_ROOT, check=False, timeout=60
    )
    assert done.returncode == status, done.stderr[-2000:]
    assert expected in (done.stdout if status == 0 else done.stderr)
    assert "blocked by the test" not in done.stderr


@pytest.mark.jax_only  # Keras imports TensorFlow (its data adapters) on JAX and PyTorch when a model first runs
def test_classify_on_another_backend_prints_no_tensorflow_lines(tmp_path, converted_rgb):
    """`keras-i3d classify` on JAX printed TensorFlow's absl and cudart start-up lines."""
    import numpy as np

    np.save(tmp_path / "clip.npy", np.zeros((8, 224, 224, 3), "float32"))
    done = subprocess.run(
        [sys.executable, "-m", "keras_i3d", "classify", str(tmp_path / "clip.npy"), "--top", "1", "--quiet"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == "" and len(done.stdout.splitlines()) == 1, done.stderr[-3000:]


@pytest.mark.backend_independent
def test_flow_starts_no_tensorflow(tmp_path):
    """Every command imported TensorFlow (~3 s) for a model; `flow` runs none (OpenCV's TV-L1)."""
    script = blocking.script_prefix("tensorflow") + RUN_MAIN
    done = subprocess.run(
        [sys.executable, "-c", script, "flow", str(tmp_path / "missing.mp4")],
        capture_output=True, text=True, cwd=REPO_ROOT, check=False, timeout=120,
        env={**os.environ, "KERAS_BACKEND": "torch"},
    )  # fmt: skip
    assert done.returncode == 1 and "missing.mp4" in done.stderr, done.stderr[-2000:]
    assert "blocked by the test" not in done.stderr
