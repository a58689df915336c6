"""Preset resolution: cache -> convert on demand -> download with sha256."""

import shutil
import warnings

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d import weights as weights_lib
from keras_i3d._files import sha256_file
from tests import helpers


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return weights_lib.cache_dir()


@pytest.fixture
def converted(tmp_path_factory):
    """A converted kinetics400_rgb file outside any cache."""
    from keras_i3d.checkpoints import convert_checkpoint

    out = tmp_path_factory.mktemp("mirror") / "i3d_kinetics400_rgb.weights.h5"
    convert_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", out, progress=False)
    return out


def test_convert_on_demand_then_cache_hit(fresh_cache, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(helpers.data_dir()))
    path = weights_lib.resolve_preset("kinetics400_rgb", progress=False)
    assert path == fresh_cache / "i3d_kinetics400_rgb.weights.h5"
    assert (fresh_cache / "i3d_kinetics400_rgb.weights.h5.sha256").exists()
    assert not [p for p in fresh_cache.iterdir() if ".tmp" in p.name]
    # Second time: served from the cache, even with no data folder.
    monkeypatch.setenv("KINETICS_I3D_DATA", str(fresh_cache / "nowhere"))
    assert weights_lib.resolve_preset("kinetics400_rgb", progress=False) == path


def test_truncated_cache_file_is_discarded_and_rebuilt(fresh_cache, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(helpers.data_dir()))
    path = weights_lib.resolve_preset("kinetics400_rgb", progress=False)
    good = sha256_file(path)
    with open(path, "r+b") as f:
        f.truncate(1000)
    with pytest.warns(UserWarning, match="Discarding cached weights"):
        again = weights_lib.resolve_preset("kinetics400_rgb", progress=False)
    assert sha256_file(again) == good


def test_no_way_to_get_weights_lists_all_three(fresh_cache, monkeypatch, tmp_path):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "empty"))
    monkeypatch.delenv("KERAS_I3D_WEIGHTS_URL", raising=False)
    with pytest.raises(weights_lib.WeightsError) as info:
        keras_i3d.I3D(weights="kinetics600_rgb", classes=600)
    message = str(info.value)
    assert "1. cache" in message and "2. convert" in message and "3. download" in message
    assert "KERAS_I3D_WEIGHTS_URL" in message


def test_index_only_checkpoint_is_reported(fresh_cache, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(helpers.data_dir()))
    monkeypatch.delenv("KERAS_I3D_WEIGHTS_URL", raising=False)
    with pytest.raises(weights_lib.WeightsError, match="no data file"):
        weights_lib.resolve_preset("kinetics400_flow", progress=False)


def test_download_verifies_sha256(fresh_cache, monkeypatch, tmp_path, converted):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "empty"))
    monkeypatch.setenv("KERAS_I3D_WEIGHTS_URL", converted.parent.as_uri())
    preset = keras_i3d.get_preset("kinetics400_rgb")
    if preset.sha256 != sha256_file(converted):  # a Keras/h5py version that writes other bytes
        monkeypatch.setattr(
            weights_lib.presets_lib,
            "PRESETS",
            {
                **weights_lib.presets_lib.PRESETS,
                preset.name: type(preset)(**{**preset.__dict__, "sha256": sha256_file(converted)}),
            },
        )
    path = weights_lib.resolve_preset("kinetics400_rgb", progress=False)
    assert sha256_file(path) == sha256_file(converted)


def test_download_with_wrong_sha256_leaves_nothing(fresh_cache, monkeypatch, tmp_path, converted):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "empty"))
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(converted, mirror / "i3d_kinetics600_rgb.weights.h5")
    (mirror / "i3d_kinetics600_rgb.weights.h5.sha256").write_text("0" * 64 + "\n")
    monkeypatch.setenv("KERAS_I3D_WEIGHTS_URL", mirror.as_uri())
    with pytest.raises(weights_lib.WeightsError, match="sha256 mismatch"):
        weights_lib.resolve_preset("kinetics600_rgb", progress=False)
    assert not fresh_cache.exists() or not list(fresh_cache.iterdir())


def test_weights_from_a_file_path(converted):
    model = keras_i3d.I3D(weights=str(converted), include_top=False, input_shape=(8, 64, 64, 3))
    expected = helpers.checkpoint_layout("rgb_scratch")  # names only; values via the reader
    assert "RGB/inception_i3d/Conv3d_1a_7x7/conv_3d/w" in expected
    from keras_i3d.checkpoints import read_checkpoint

    ckpt = read_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", progress=False)
    np.testing.assert_array_equal(
        np.asarray(model.get_layer("Conv3d_1a_7x7_conv_3d").kernel), ckpt.tensors["Conv3d_1a_7x7/conv_3d/w"]
    )


def test_bad_weights_files(tmp_path, converted):
    with pytest.raises(weights_lib.WeightsError, match="does not exist"):
        keras_i3d.I3D(weights=str(tmp_path / "missing.weights.h5"))
    broken = tmp_path / "broken.weights.h5"
    broken.write_bytes(converted.read_bytes()[:5000])
    with pytest.raises(weights_lib.WeightsError, match="Cannot read"):
        keras_i3d.I3D(weights=str(broken))
    with pytest.raises(ValueError, match="expect 3 input channels"):
        keras_i3d.I3D(weights=str(converted), input_shape=(None, 224, 224, 2))
    with pytest.raises(weights_lib.WeightsError, match="400 classes"):
        keras_i3d.I3D(weights=str(converted), classes=10)


def test_unknown_preset_lists_presets():
    with pytest.raises(ValueError, match="kinetics400_rgb.*kinetics600_rgb"):
        weights_lib.resolve_preset("kinetics700_rgb")


def test_no_warning_on_clean_cache(fresh_cache, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(helpers.data_dir()))
    weights_lib.resolve_preset("kinetics400_rgb", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        weights_lib.resolve_preset("kinetics400_rgb", progress=False)


def test_hand_copied_cache_file_is_verified_by_the_registry(fresh_cache, monkeypatch, tmp_path, converted):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "empty"))
    monkeypatch.delenv("KERAS_I3D_WEIGHTS_URL", raising=False)
    fresh_cache.mkdir(parents=True)
    target = fresh_cache / "i3d_kinetics400_rgb.weights.h5"
    shutil.copy(converted, target)
    preset = keras_i3d.get_preset("kinetics400_rgb")
    if sha256_file(converted) != preset.sha256:
        pytest.skip("this Keras/h5py writes other bytes than the registered file")
    assert weights_lib.resolve_preset("kinetics400_rgb", progress=False) == target
    assert (fresh_cache / "i3d_kinetics400_rgb.weights.h5.sha256").read_text().split()[0] == preset.sha256


def test_unverifiable_cache_file_is_discarded(fresh_cache, monkeypatch, tmp_path, converted):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "empty"))
    monkeypatch.delenv("KERAS_I3D_WEIGHTS_URL", raising=False)
    fresh_cache.mkdir(parents=True)
    target = fresh_cache / "i3d_kinetics600_rgb.weights.h5"
    shutil.copy(converted, target)  # no sidecar, and no registered hash for this preset
    with pytest.warns(UserWarning, match="unverifiable"), pytest.raises(weights_lib.WeightsError):
        weights_lib.resolve_preset("kinetics600_rgb", progress=False)
    assert not target.exists()


def test_pretrained_model_keeps_the_default_initializer_in_its_config(converted):
    model = keras_i3d.I3D(weights=str(converted), include_top=False, input_shape=(8, 64, 64, 3))
    layer = model.get_layer("Mixed_4f_Branch_1_Conv3d_0b_3x3_conv_3d")
    assert layer.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert np.abs(np.asarray(keras.ops.convert_to_numpy(layer.kernel))).sum() > 0
