"""Faults in conversions: the converter publishes only what passed; signals leave nothing half-written.

Numbers refer to the findings of the hardening issue (items 7, 8, 9, 10, 11).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import keras_i3d
from keras_i3d import cli
from keras_i3d.errors import CheckpointError, FileAccessError
from keras_i3d.utils import files
from keras_i3d.utils.files import sha256_file, sidecar_path
from keras_i3d.weights.checkpoints import convert_checkpoint
from keras_i3d.weights.files import config_path, read_config
from tests.support import REPO_ROOT, helpers
from tests.support.helpers import temp_files
from weights_conversion.__main__ import main as conversion_main

REPO = REPO_ROOT


RGB_SCRATCH = "checkpoints/rgb_scratch/model.ckpt"


# -- 7. the converter publishes only what passed, and refuses meaningless settings --


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_failed_parity_writes_nothing(tmp_path):
    out = tmp_path / "out" / "x.weights.h5"
    with pytest.raises(keras_i3d.ConversionError, match="Parity check failed"):
        convert_checkpoint(helpers.data_dir() / RGB_SCRATCH, out, preset="kinetics400_rgb", validate=True, tolerance=0)
    assert helpers.files_under(tmp_path) == []


@pytest.mark.backend_independent
@pytest.mark.parametrize("tolerance", [float("nan"), float("inf"), -1.0])
def test_meaningless_tolerance_is_refused(tmp_path, tolerance, capsys):
    with pytest.raises(ValueError, match="tolerance must be"):
        convert_checkpoint(tmp_path / "x", tmp_path / "x.weights.h5", tolerance=tolerance)
    argv = ["--preset", "kinetics400_rgb", "--tolerance", str(tolerance), "--output", str(tmp_path / "y.weights.h5")]
    assert conversion_main(argv) == 2
    assert "tolerance must be" in capsys.readouterr().err
    assert helpers.files_under(tmp_path) == []


@pytest.mark.backend_independent
def test_convert_all_with_no_checkpoints_writes_no_manifest(tmp_path, no_local_data, capsys):
    assert conversion_main(["--all", "--output-dir", str(tmp_path / "out"), "--no-parity"]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert helpers.files_under(tmp_path) == []


# -- 8. signals: SIGTERM/SIGHUP clean up; after SIGKILL the next run sweeps --


def _conversion(out: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "weights_conversion", "--checkpoint", str(helpers.data_dir() / RGB_SCRATCH)]
    command += ["--preset", "kinetics400_rgb", "--output", str(out), "--no-parity"]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when_writing(process: subprocess.Popen, folder: Path, signum: int) -> bool:
    """Sends ``signum`` as soon as a temporary file appears in ``folder``; False if none did."""
    while process.poll() is None:
        if temp_files(folder):
            process.send_signal(signum)
            process.wait(timeout=60)
            return True
        time.sleep(0.001)
    return False


@pytest.mark.backend_independent
@pytest.mark.requires_data
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_during_a_write_leave_nothing_half_written(tmp_path, signum):
    out = tmp_path / "i3d_kinetics400_rgb.weights.h5"
    process = _conversion(out)
    assert _kill_when_writing(process, tmp_path, signum), "the conversion never wrote a temporary file"
    assert temp_files(tmp_path) == []
    left = helpers.files_under(tmp_path)
    if left:  # the signal came as the last rename happened: then the whole, verified file
        assert left == sorted([out, sidecar_path(out), config_path(out)])
        assert sha256_file(out) == files.read_sidecar(out) == read_config(out)["sha256"]
    # Died of the signal, as without keras_i3d; or, on a loaded machine, the signal landed after
    # the last rename while the process was already exiting, and the whole file is there.
    assert process.returncode == -signum or (process.returncode == 0 and left), process.stderr.read().decode()[-3000:]


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_sigkill_leftovers_are_swept_by_the_next_run(tmp_path):
    out = tmp_path / "i3d_kinetics400_rgb.weights.h5"
    process = _conversion(out)
    assert _kill_when_writing(process, tmp_path, signal.SIGKILL)
    assert temp_files(tmp_path), "SIGKILL cannot be caught: the temporary file stays until the next run"
    assert conversion_main(_conversion_argv(out)) == 0
    assert temp_files(tmp_path) == []
    assert read_config(out)["weights_digest"] == keras_i3d.get_preset("kinetics400_rgb").weights_digest


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_sigkill_at_a_random_point_then_a_normal_run(tmp_path):
    seed = int(time.time())
    delay = random.Random(seed).uniform(0.5, 8.0)
    out = tmp_path / "i3d_kinetics400_rgb.weights.h5"
    process = _conversion(out)
    time.sleep(delay)
    process.kill()
    process.wait(timeout=60)
    assert conversion_main(_conversion_argv(out)) == 0, f"seed {seed}"
    assert temp_files(tmp_path) == [], f"seed {seed}"
    assert sha256_file(out) == files.read_sidecar(out)
    assert read_config(out)["weights_digest"] == keras_i3d.get_preset("kinetics400_rgb").weights_digest


def _conversion_argv(out: Path) -> list[str]:
    checkpoint = str(helpers.data_dir() / RGB_SCRATCH)
    return ["--checkpoint", checkpoint, "--preset", "kinetics400_rgb", "--output", str(out), "--no-parity"]


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_converted_weights_are_readable_by_others(converted_rgb):
    for path in (converted_rgb, sidecar_path(converted_rgb), config_path(converted_rgb)):
        assert path.stat().st_mode & 0o777 == files.default_file_mode(), path  # not mkstemp's 0600


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "content,match",
    [(b"", "truncated|empty|too short"), (b"x" * 100, "not a TensorFlow checkpoint index|magic|sstable")],
)
def test_foreign_checkpoint_files_get_a_sentence(tmp_path, content, match):
    (tmp_path / "model.ckpt.index").write_bytes(content)
    (tmp_path / "model.ckpt.data-00000-of-00001").write_bytes(b"")
    with pytest.raises(CheckpointError, match=match):
        convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "out.weights.h5")
    assert not (tmp_path / "out.weights.h5").exists()


# -- 11. filesystem problems are named, not raw --


@pytest.mark.backend_independent
def test_output_that_is_a_directory(tmp_path):
    (tmp_path / "x.weights.h5").mkdir()
    with pytest.raises(FileAccessError, match="it is a directory"):
        convert_checkpoint(tmp_path / "nowhere", tmp_path / "x.weights.h5")


@pytest.mark.backend_independent
def test_output_under_a_regular_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileAccessError, match=r"file is a file, not a folder"):
        convert_checkpoint(tmp_path / "nowhere", tmp_path / "file" / "sub" / "x.weights.h5")
    assert (
        cli.main(["convert", "--preset", "kinetics400_rgb", "--output", str(tmp_path / "file" / "x.weights.h5")]) == 2
    )
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.backend_independent
def test_convert_all_into_an_unusable_folder_stops_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert conversion_main(["--all", "--output-dir", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
