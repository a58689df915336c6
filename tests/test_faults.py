"""Faults in files, weights, conversions and processes: nothing corrupt is trusted, nothing half-written stays.

Numbers refer to the findings of the hardening issue (items 4, 6-11). After
each failure the test lists the folders involved: nothing may be left there.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import keras_i3d
from keras_i3d import cli, pretrained
from keras_i3d.checkpoints import convert_checkpoint
from keras_i3d.errors import CheckpointError, FileAccessError, WeightsError
from keras_i3d.utils import files, paths
from keras_i3d.utils.files import sha256_file, sidecar_path, write_sidecar
from keras_i3d.weights_files import config_path, read_config
from tests import helpers
from weights_conversion.__main__ import main as conversion_main

REPO = Path(__file__).resolve().parent.parent
RGB_SCRATCH = "checkpoints/rgb_scratch/model.ckpt"


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(paths.WEIGHTS_URL_ENV, raising=False)
    return paths.cache_dir()


@pytest.fixture
def no_local_data(monkeypatch, tmp_path):
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "no-data"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A converted kinetics400_rgb file with its sidecar and config, outside any cache."""
    if helpers.data_dir() is None or not (helpers.data_dir() / "checkpoints").is_dir():
        pytest.skip("needs DeepMind's data")
    out = tmp_path_factory.mktemp("converted") / "i3d_kinetics400_rgb.weights.h5"
    convert_checkpoint(helpers.data_dir() / RGB_SCRATCH, out, preset="kinetics400_rgb", progress=False)
    return out


def copy_weights(source: Path, folder: Path) -> Path:
    """Copies a weights file with its sidecar and config into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in (source, sidecar_path(source), config_path(source)):
        shutil.copy(path, folder / path.name)
    return folder / source.name


def corrupt(path: Path, count: int = 4) -> None:
    """Flips ``count`` bytes in the middle of ``path`` (the tensor data of a weights file)."""
    data = bytearray(path.read_bytes())
    for i in range(count):
        data[len(data) // 2 + 4096 * i] ^= 0xFF
    path.write_bytes(bytes(data))


def drop_from_config(path: Path, key: str) -> None:
    """Removes ``key`` from the config JSON beside a weights file."""
    config = read_config(path)
    config.pop(key)
    files.write_json_atomic(config_path(path), config)


def temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp" in p.name] if folder.exists() else []


# -- 4. weights=<path> and the cache are verified against the most trusted digest --


def _forge_sidecar_drop_config_digest(path: Path) -> None:
    write_sidecar(path, sha256_file(path))
    drop_from_config(path, "weights_digest")


def _drop_sidecar_and_preset(path: Path) -> None:
    sidecar_path(path).unlink()
    drop_from_config(path, "preset")  # not a registered preset any more: only the config's digest is left


@pytest.mark.requires_data
@pytest.mark.parametrize(
    "forge,match",
    [
        (None, r"does not match its sidecar .*\.sha256"),
        (_forge_sidecar_drop_config_digest, "the registry says"),
        (_drop_sidecar_and_preset, r"weights digest is .* but i3d_kinetics400_rgb.config.json says"),
    ],
    ids=["sidecar", "registry-over-forged-sidecar", "config-without-sidecar"],
)
def test_corrupted_weights_file_fails_the_most_trusted_digest(converted, tmp_path, forge, match):
    path = copy_weights(converted, tmp_path)
    corrupt(path)
    if forge is not None:
        forge(path)
    with pytest.raises(WeightsError, match=match):
        keras_i3d.I3D(weights=str(path))


@pytest.mark.requires_data
def test_cache_with_forged_sidecar_is_discarded_and_rebuilt(converted, fresh_cache):
    path = copy_weights(converted, fresh_cache)
    corrupt(path)
    write_sidecar(path, sha256_file(path))
    with pytest.warns(UserWarning, match="Discarding cached weights.*registry"):
        again = pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert sha256_file(again) == sha256_file(converted)
    assert temp_files(fresh_cache) == []


@pytest.mark.parametrize(
    "config,match",
    [
        ({"channels": "three", "classes": 400}, "'channels' must be a positive int; got 'three'"),
        ({"channels": 3, "classes": 400, "format": "v2"}, "invalid 'format'"),
        ({"channels": -3, "classes": 400}, "'channels' must be a positive int"),
        ({"channels": 3, "classes": 0}, "'classes' must be a positive int or null"),
        (
            {"channels": 3, "classes": 400, "preset": "kinetics400_flow", "source": "flow_scratch"},
            "says it holds preset 'kinetics400_flow' \\(2 channels",
        ),
    ],
)
@pytest.mark.requires_data
def test_configs_with_bad_fields_name_the_file(converted, tmp_path, config, match):
    path = copy_weights(converted, tmp_path)
    files.write_json_atomic(config_path(path), config)
    with pytest.raises(WeightsError, match=match):
        keras_i3d.I3D(weights=str(path))


@pytest.mark.requires_data
def test_config_that_contradicts_the_tensors_gets_a_short_message(converted, tmp_path):
    path = copy_weights(converted, tmp_path)
    files.write_json_atomic(config_path(path), {"channels": 2, "classes": 400, "stream": "flow"})
    with pytest.raises(WeightsError, match="not the I3D its config describes: 2 channels") as info:
        keras_i3d.I3D(weights=str(path), input_shape=(None, None, None, 2))
    assert len(str(info.value)) < 600


# -- 6. what cannot be read is discarded, even with a matching sidecar --


@pytest.mark.requires_data
def test_mirror_file_that_is_not_hdf5_is_never_cached(fresh_cache, no_local_data, tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    junk = mirror / "i3d_kinetics400_rgb.weights.h5"
    junk.write_bytes(b"<html>not weights</html>" * 100)
    (mirror / (junk.name + ".sha256")).write_text(f"{sha256_file(junk)}  {junk.name}\n")
    monkeypatch.setenv(paths.WEIGHTS_URL_ENV, mirror.as_uri())
    with pytest.raises(WeightsError, match=r"3\. converted-weights mirror: Cannot load weights file"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert helpers.files_under(fresh_cache) == []


@pytest.mark.requires_data
def test_cache_file_that_is_not_hdf5_is_discarded(fresh_cache, tmp_path):
    path = fresh_cache / "i3d_kinetics400_rgb.weights.h5"
    fresh_cache.mkdir(parents=True)
    path.write_bytes(b"garbage" * 1000)
    write_sidecar(path, sha256_file(path))
    with pytest.warns(UserWarning, match="Discarding cached weights"):
        again = pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert again == path and path.stat().st_size > 1_000_000


# -- 7. the converter publishes only what passed, and refuses meaningless settings --


@pytest.mark.requires_data
def test_failed_parity_writes_nothing(tmp_path):
    out = tmp_path / "out" / "x.weights.h5"
    with pytest.raises(keras_i3d.ConversionError, match="Parity check failed"):
        convert_checkpoint(helpers.data_dir() / RGB_SCRATCH, out, preset="kinetics400_rgb", validate=True, tolerance=0)
    assert helpers.files_under(tmp_path) == []


@pytest.mark.parametrize("tolerance", [float("nan"), float("inf"), -1.0])
def test_meaningless_tolerance_is_refused(tmp_path, tolerance, capsys):
    with pytest.raises(ValueError, match="tolerance must be"):
        convert_checkpoint(tmp_path / "x", tmp_path / "x.weights.h5", tolerance=tolerance)
    argv = ["--preset", "kinetics400_rgb", "--tolerance", str(tolerance), "--output", str(tmp_path / "y.weights.h5")]
    assert conversion_main(argv) == 2
    assert "tolerance must be" in capsys.readouterr().err
    assert helpers.files_under(tmp_path) == []


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


@pytest.mark.requires_data
def test_sigkill_leftovers_are_swept_by_the_next_run(tmp_path):
    out = tmp_path / "i3d_kinetics400_rgb.weights.h5"
    process = _conversion(out)
    assert _kill_when_writing(process, tmp_path, signal.SIGKILL)
    assert temp_files(tmp_path), "SIGKILL cannot be caught: the temporary file stays until the next run"
    assert conversion_main(_conversion_argv(out)) == 0
    assert temp_files(tmp_path) == []
    assert read_config(out)["weights_digest"] == keras_i3d.get_preset("kinetics400_rgb").weights_digest


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


def test_interrupted_overwrite_leaves_the_old_file_consistent(tmp_path, monkeypatch):
    from keras_i3d import weights_files
    from keras_i3d.architecture import weights_holder

    holder = weights_holder(3, 10)
    out = tmp_path / "x.weights.h5"
    config = {"architecture": "i3d", "channels": 3, "classes": 10}
    weights_files.write_weights(holder, out, config)
    before = {path: path.read_bytes() for path in (out, sidecar_path(out), config_path(out))}
    holder.get_layer("Logits_Conv3d_0c_1x1_conv_3d").bias.assign(np.ones(10, "float32"))

    def interrupted(*args, **kwargs):  # Ctrl-C after the new sidecar, before the new config and file
        raise KeyboardInterrupt

    monkeypatch.setattr(weights_files, "write_json_atomic", interrupted)
    with pytest.raises(KeyboardInterrupt):
        weights_files.write_weights(holder, out, config)
    assert {path: path.read_bytes() for path in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in before)


def test_only_stale_temps_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = files._host_id()
    stale = tmp_path / f".out.txt.{dead.pid}@{host}.abc123.tmp"
    live = tmp_path / f".out.txt.{os.getppid()}@{host}.def456.tmp"
    foreign_old = tmp_path / ".out.txt.1@00000000.ghi789.tmp"
    foreign_new = tmp_path / ".out.txt.1@00000000.jkl012.tmp"
    other = tmp_path / ".other.txt.999999@{host}.x.tmp"
    for path in (stale, live, foreign_old, foreign_new, other):
        path.write_text("partial")
    old = time.time() - files.FOREIGN_TEMP_AGE - 60
    os.utime(foreign_old, (old, old))
    files.write_text_atomic(tmp_path / "out.txt", "done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.txt", live.name, foreign_new.name, other.name])


# -- 9. files get the umask's normal mode --


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_umask_mode(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        files.write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == mode


@pytest.mark.requires_data
def test_converted_weights_are_readable_by_others(converted):
    for path in (converted, sidecar_path(converted), config_path(converted)):
        assert path.stat().st_mode & 0o777 == files.default_file_mode(), path  # not mkstemp's 0600


# -- 10. damaged checkpoints: a sentence, and the other ways are still tried --


@pytest.mark.requires_data
def test_damaged_local_checkpoint_falls_through_with_reasons(tmp_path, fresh_cache, monkeypatch):
    data = tmp_path / "data" / "checkpoints" / "rgb_scratch"
    data.mkdir(parents=True)
    source = helpers.data_dir() / "checkpoints" / "rgb_scratch"
    shutil.copy(source / "model.ckpt.index", data)
    with open(source / "model.ckpt.data-00000-of-00001", "rb") as f:
        (data / "model.ckpt.data-00000-of-00001").write_bytes(f.read(1000))
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "data"))
    with pytest.raises(WeightsError) as info:
        keras_i3d.I3D(weights="kinetics400_rgb")
    message = str(info.value)
    assert "2. local DeepMind data:" in message and "bytes" in message
    assert "4. DeepMind's original checkpoint:" in message
    assert helpers.files_under(fresh_cache) == []


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


def test_output_that_is_a_directory(tmp_path):
    (tmp_path / "x.weights.h5").mkdir()
    with pytest.raises(FileAccessError, match="it is a directory"):
        convert_checkpoint(tmp_path / "nowhere", tmp_path / "x.weights.h5")


def test_output_under_a_regular_file(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileAccessError, match=r"file is a file, not a folder"):
        convert_checkpoint(tmp_path / "nowhere", tmp_path / "file" / "sub" / "x.weights.h5")
    assert (
        cli.main(["convert", "--preset", "kinetics400_rgb", "--output", str(tmp_path / "file" / "x.weights.h5")]) == 2
    )
    assert "is a file, not a folder" in capsys.readouterr().err


def test_unwritable_folder(tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode & os.W_OK else real_access(p, mode))
    with pytest.raises(FileAccessError, match="Cannot write into folder .*: permission denied"):
        files.write_text_atomic(tmp_path / "a.txt", "x")
    assert helpers.files_under(tmp_path) == []


def test_data_folder_that_is_a_file(tmp_path, fresh_cache, monkeypatch, capsys):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "file"))
    with pytest.raises(WeightsError, match=r"2\. local DeepMind data: \$KINETICS_I3D_DATA=.* is a file, not a folder"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    with pytest.raises(SystemExit):
        conversion_main(["--preset", "kinetics400_rgb", "--data-dir", str(tmp_path / "file")])
    err = capsys.readouterr().err
    assert "--data-dir" in err and "is not a folder" in err and err.count("\n") == 1


def test_convert_all_into_an_unusable_folder_stops_before_any_work(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert conversion_main(["--all", "--output-dir", str(tmp_path / "file")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_keras_home_under_a_regular_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "file" / "keras"))
    with pytest.raises(WeightsError, match="the cache cannot be written: .* is a file, not a folder"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)


def test_cache_entry_that_is_a_directory(fresh_cache):
    (fresh_cache / "i3d_kinetics400_rgb.weights.h5").mkdir(parents=True)
    with pytest.raises(WeightsError, match="is a directory, not a weights file; remove it"):
        keras_i3d.I3D(weights="kinetics400_rgb")


@pytest.mark.requires_data
def test_sidecar_that_is_a_directory(converted, fresh_cache):
    path = copy_weights(converted, fresh_cache)
    sidecar_path(path).unlink()
    sidecar_path(path).mkdir()
    with pytest.raises(WeightsError, match=r"\.sha256 is not a file"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert sidecar_path(path).is_dir()  # a folder is the user's; never removed


@pytest.mark.parametrize("variable", [paths.WEIGHTS_URL_ENV, paths.CHECKPOINT_URL_ENV])
def test_urls_that_are_not_urls(fresh_cache, no_local_data, monkeypatch, variable):
    monkeypatch.setenv(variable, "notaurl")
    with pytest.raises(WeightsError, match=rf"\${variable}='notaurl' is not a URL"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert temp_files(fresh_cache) == []


@pytest.mark.requires_data
def test_read_only_keras_home_with_a_valid_cache_is_used(converted, fresh_cache, monkeypatch):
    copy_weights(converted, fresh_cache)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode & os.W_OK else real_access(p, mode))
    assert pretrained.resolve_preset("kinetics400_rgb", progress=False) == fresh_cache / converted.name
    with pytest.raises(WeightsError, match="cannot be written: Cannot write into folder"):
        pretrained.resolve_preset("kinetics600_rgb", progress=False)


def test_weights_digest_is_unchanged_by_the_input_check_layer():
    """The in-graph check has no variables: weights files and digests stay as they were."""
    from keras_i3d.architecture import weights_holder

    layer = weights_holder(3, 400).get_layer("clip_shape_check")
    assert layer.weights == []
    assert np.all([v.path.split("/")[0] != "clip_shape_check" for v in weights_holder(3, 400).weights])
