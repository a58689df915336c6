"""Faults in weights files, configs, caches and local checkpoints.

Nothing corrupt is trusted, nothing half-written stays.

Numbers refer to the findings of the hardening issue (items 4, 6, 10, 11). After
each failure the test lists the folders involved: nothing may be left there.
Conversion faults: ``test_conversion_faults.py``; atomic files: ``tests/utils/test_files_faults.py``.

The tests that load weights into a model run on PyTorch only (the quickest backend; CI budget): what
they check is how files, digests and caches are handled, NumPy and h5py on every backend; each
backend loads weights into models in tests/applications (presets, weights files, legacy files).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

import keras_i3d
from keras_i3d.errors import WeightsError
from keras_i3d.utils import files, paths
from keras_i3d.utils.files import sha256_file, sidecar_path, write_sidecar
from keras_i3d.weights import fetch as pretrained
from keras_i3d.weights.files import config_path, read_config
from tests.support import helpers
from tests.support.cache import copy_weights
from tests.support.helpers import temp_files
from weights_conversion.__main__ import main as conversion_main


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


# -- 4. weights=<path> and the cache are verified against the most trusted digest --


def _forge_sidecar_drop_config_digest(path: Path) -> None:
    write_sidecar(path, sha256_file(path))
    drop_from_config(path, "weights_digest")


def _drop_sidecar_and_preset(path: Path) -> None:
    sidecar_path(path).unlink()
    drop_from_config(path, "preset")  # not a registered preset any more: only the config's digest is left


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
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
def test_corrupted_weights_file_fails_the_most_trusted_digest(converted_rgb, tmp_path, forge, match):
    path = copy_weights(converted_rgb, tmp_path)
    corrupt(path)
    if forge is not None:
        forge(path)
    with pytest.raises(WeightsError, match=match):
        keras_i3d.I3D(weights=str(path))


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
@pytest.mark.requires_data
def test_cache_with_forged_sidecar_is_discarded_and_rebuilt(converted_rgb, fresh_cache):
    path = copy_weights(converted_rgb, fresh_cache)
    corrupt(path)
    write_sidecar(path, sha256_file(path))
    with pytest.warns(UserWarning, match="Discarding cached weights.*registry"):
        again = pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert sha256_file(again) == sha256_file(converted_rgb)
    assert temp_files(fresh_cache) == []


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
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
def test_configs_with_bad_fields_name_the_file(converted_rgb, tmp_path, config, match):
    path = copy_weights(converted_rgb, tmp_path)
    files.write_json_atomic(config_path(path), config)
    with pytest.raises(WeightsError, match=match):
        keras_i3d.I3D(weights=str(path))


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
@pytest.mark.requires_data
def test_config_that_contradicts_the_tensors_gets_a_short_message(converted_rgb, tmp_path):
    path = copy_weights(converted_rgb, tmp_path)
    files.write_json_atomic(config_path(path), {"channels": 2, "classes": 400, "stream": "flow"})
    with pytest.raises(WeightsError, match="not the I3D its config describes: 2 channels") as info:
        keras_i3d.I3D(weights=str(path), input_shape=(None, None, None, 2))
    assert len(str(info.value)) < 600


# -- 6. what cannot be read is discarded, even with a matching sidecar --


@pytest.mark.backend_independent
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


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
@pytest.mark.requires_data
def test_cache_file_that_is_not_hdf5_is_discarded(fresh_cache, tmp_path):
    path = fresh_cache / "i3d_kinetics400_rgb.weights.h5"
    fresh_cache.mkdir(parents=True)
    path.write_bytes(b"garbage" * 1000)
    write_sidecar(path, sha256_file(path))
    with pytest.warns(UserWarning, match="Discarding cached weights"):
        again = pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert again == path and path.stat().st_size > 1_000_000


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
def test_interrupted_overwrite_leaves_the_old_file_consistent(tmp_path, monkeypatch):
    from keras_i3d.model.architecture import weights_holder
    from keras_i3d.weights import files as weights_files

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


# -- 10. damaged checkpoints: a sentence, and the other ways are still tried --


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
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


@pytest.mark.backend_independent
def test_data_folder_that_is_a_file(tmp_path, fresh_cache, monkeypatch, capsys):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "file"))
    with pytest.raises(WeightsError, match=r"2\. local DeepMind data: \$KINETICS_I3D_DATA=.* is a file, not a folder"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    with pytest.raises(SystemExit):
        conversion_main(["--preset", "kinetics400_rgb", "--data-dir", str(tmp_path / "file")])
    err = capsys.readouterr().err
    assert "--data-dir" in err and "is not a folder" in err and err.count("\n") == 1


@pytest.mark.backend_independent
def test_keras_home_under_a_regular_file(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "file" / "keras"))
    with pytest.raises(WeightsError, match="the cache cannot be written: .* is a file, not a folder"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
def test_cache_entry_that_is_a_directory(fresh_cache):
    (fresh_cache / "i3d_kinetics400_rgb.weights.h5").mkdir(parents=True)
    with pytest.raises(WeightsError, match="is a directory, not a weights file; remove it"):
        keras_i3d.I3D(weights="kinetics400_rgb")


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_sidecar_that_is_a_directory(converted_rgb, fresh_cache):
    path = copy_weights(converted_rgb, fresh_cache)
    sidecar_path(path).unlink()
    sidecar_path(path).mkdir()
    with pytest.raises(WeightsError, match=r"\.sha256 is not a file"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert sidecar_path(path).is_dir()  # a folder is the user's; never removed


@pytest.mark.backend_independent
@pytest.mark.parametrize("variable", [paths.WEIGHTS_URL_ENV, paths.CHECKPOINT_URL_ENV])
def test_urls_that_are_not_urls(fresh_cache, no_local_data, monkeypatch, variable):
    monkeypatch.setenv(variable, "notaurl")
    with pytest.raises(WeightsError, match=rf"\${variable}='notaurl' is not a URL"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert temp_files(fresh_cache) == []


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
@pytest.mark.requires_data
def test_read_only_keras_home_with_a_valid_cache_is_used(converted_rgb, fresh_cache, monkeypatch):
    copy_weights(converted_rgb, fresh_cache)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode & os.W_OK else real_access(p, mode))
    assert pretrained.resolve_preset("kinetics400_rgb", progress=False) == fresh_cache / converted_rgb.name
    with pytest.raises(WeightsError, match="cannot be written: Cannot write into folder"):
        pretrained.resolve_preset("kinetics600_rgb", progress=False)


@pytest.mark.torch_only  # file handling, the same on every backend (see the module docstring)
def test_weights_digest_is_unchanged_by_the_input_check_layer():
    """The in-graph check has no variables: weights files and digests stay as they were."""
    from keras_i3d.model.architecture import weights_holder

    layer = weights_holder(3, 400).get_layer("clip_shape_check")
    assert layer.weights == []
    assert np.all([v.path.split("/")[0] != "clip_shape_check" for v in weights_holder(3, 400).weights])
