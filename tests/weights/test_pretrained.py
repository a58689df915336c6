"""Preset resolution: cache -> local data -> mirror -> DeepMind's originals, all verified."""

import json
import os
import shutil
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.errors import WeightsError
from keras_i3d.utils.files import sha256_file, write_sidecar
from keras_i3d.weights import fetch as pretrained
from keras_i3d.weights.checkpoints import read_checkpoint
from keras_i3d.weights.files import config_path
from tests.support import blocking, helpers
from tests.support.cache import seed_cache

pytestmark = pytest.mark.requires_data


def test_convert_on_demand_then_cache_hit(fresh_cache, monkeypatch):
    path = pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert path == fresh_cache / "i3d_kinetics400_rgb.weights.h5"
    assert (fresh_cache / "i3d_kinetics400_rgb.weights.h5.sha256").exists()
    config = json.loads((fresh_cache / "i3d_kinetics400_rgb.config.json").read_text())
    assert config["preset"] == "kinetics400_rgb" and config["channels"] == 3 and config["classes"] == 400
    assert config["weights_digest"] == keras_i3d.get_preset("kinetics400_rgb").weights_digest
    assert not [p for p in fresh_cache.iterdir() if p.name.startswith(".")]
    # Second time: served from the cache, even with no data folder.
    monkeypatch.setenv("KINETICS_I3D_DATA", str(fresh_cache / "nowhere"))
    assert pretrained.resolve_preset("kinetics400_rgb", progress=False) == path


@pytest.mark.backend_independent
def test_truncated_cache_file_is_discarded_and_rebuilt(fresh_cache, converted_rgb):
    path = seed_cache(converted_rgb, fresh_cache)
    assert pretrained.resolve_preset("kinetics400_rgb", progress=False) == path
    good = sha256_file(path)
    with open(path, "r+b") as f:
        f.truncate(1000)
    with pytest.warns(UserWarning, match="Discarding cached weights"):
        again = pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert sha256_file(again) == good


@pytest.mark.backend_independent
def test_cached_file_with_a_matching_forged_sidecar_fails_the_registry_digest(fresh_cache, converted_rgb):
    fresh_cache.mkdir(parents=True)
    target = fresh_cache / "i3d_kinetics400_rgb.weights.h5"
    # Other weights, with a sidecar "regenerated" to match them.
    model = keras_i3d.I3D(weights=str(converted_rgb), classifier_activation=None)
    model.get_layer("Logits_Conv3d_0c_1x1_conv_3d").bias.assign(np.zeros(400, "float32"))
    model.save_weights(target)
    write_sidecar(target, sha256_file(target))
    with pytest.warns(UserWarning, match="Discarding cached weights.*registry"):
        restored = keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)
    bias = keras.ops.convert_to_numpy(restored.get_layer("Logits_Conv3d_0c_1x1_conv_3d").bias)
    assert np.abs(bias).sum() > 0  # DeepMind's bias again, converted from the local checkpoint


@pytest.mark.backend_independent
def test_no_way_to_get_weights_lists_all_four(fresh_cache, no_local_data):
    with pytest.raises(WeightsError) as info:
        keras_i3d.I3D(weights="kinetics600_rgb", classes=600)
    message = str(info.value)
    for step in ("1. cache", "2. local DeepMind data", "3. converted-weights mirror", "4. DeepMind's original"):
        assert step in message
    assert "KERAS_I3D_WEIGHTS_URL is not set" in message and "refused" in message
    assert "keras-i3d download kinetics600_rgb" in message
    assert helpers.files_under(fresh_cache) == []


@pytest.mark.backend_independent
def test_index_only_local_checkpoint_is_reported(fresh_cache):
    with pytest.raises(WeightsError, match="2. local DeepMind data: .*no data file"):
        pretrained.resolve_preset("kinetics400_flow", progress=False)


@pytest.mark.backend_independent
def test_mirror_download_verifies_sha256_and_registry_digest(fresh_cache, monkeypatch, no_local_data, converted_rgb):
    monkeypatch.setenv("KERAS_I3D_WEIGHTS_URL", converted_rgb.parent.as_uri())
    path = pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert path == fresh_cache / "i3d_kinetics400_rgb.weights.h5"
    assert (
        json.loads(config_path(path).read_text())["weights_digest"]
        == keras_i3d.get_preset("kinetics400_rgb").weights_digest
    )


@pytest.mark.backend_independent
def test_mirror_with_wrong_sha256_leaves_nothing(fresh_cache, monkeypatch, tmp_path, no_local_data, converted_rgb):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(converted_rgb, mirror / "i3d_kinetics600_rgb.weights.h5")
    (mirror / "i3d_kinetics600_rgb.weights.h5.sha256").write_text("0" * 64 + "\n")
    monkeypatch.setenv("KERAS_I3D_WEIGHTS_URL", mirror.as_uri())
    with pytest.raises(WeightsError, match="3. converted-weights mirror: .* does not verify"):
        pretrained.resolve_preset("kinetics600_rgb", progress=False)
    assert helpers.files_under(fresh_cache) == []


@pytest.mark.backend_independent
def test_mirror_with_other_weights_fails_the_registry_digest(fresh_cache, monkeypatch, tmp_path, no_local_data):
    mirror = tmp_path / "mirror"
    model = keras_i3d.I3D(weights=None, input_shape=(None, None, None, 3), classifier_activation=None)
    model.save_weights(mirror / "i3d_kinetics400_rgb.weights.h5") if mirror.mkdir() is None else None
    write_sidecar(mirror / "i3d_kinetics400_rgb.weights.h5", sha256_file(mirror / "i3d_kinetics400_rgb.weights.h5"))
    monkeypatch.setenv("KERAS_I3D_WEIGHTS_URL", mirror.as_uri())
    with pytest.raises(WeightsError, match="3. converted-weights mirror: .* weights digest"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert helpers.files_under(fresh_cache) == []


# -- step 4: DeepMind's originals from a server laid out like their data/ folder ---


@pytest.fixture
def deepmind_only(fresh_cache, no_local_data, deepmind_server, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    return deepmind_server


_FRESH_PROCESS = r"""
import json, resource, sys, time

import keras
import numpy as np
from PIL import Image, ImageSequence

import keras_i3d

start = time.perf_counter()
model = keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)
first = time.perf_counter() - start
with Image.open(sys.argv[1]) as image:
    frames = np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(image)])
logits = np.asarray(model.predict(frames[None].astype("float32") / 255 * 2 - 1, verbose=0))[0]
start = time.perf_counter()
keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)
second = time.perf_counter() - start
print(json.dumps({
    "backend": keras.backend.backend(),
    "max_abs_diff": float(np.abs(logits - np.load(sys.argv[2])).max()),
    "tensorflow_imported": "tensorflow" in sys.modules,
    "first_s": first, "second_s": second,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


# On PyTorch, a backend that must not import TensorFlow (the path is the same on every backend: downloading,
# verifying and converting are NumPy; JAX imports no TensorFlow either, tests/cli/test_app.py). CI budget.
@pytest.mark.torch_only
def test_fresh_machine_downloads_verifies_converts_and_caches(deepmind_only, fresh_cache, tmp_path):
    """Empty cache, no data folder, TensorFlow unimportable (except on its own backend)."""
    backend = keras.backend.backend()
    script = tmp_path / "fresh.py"
    script.write_text((blocking.script_prefix("tensorflow") if backend != "tensorflow" else "") + _FRESH_PROCESS)
    env = {k: v for k, v in os.environ.items() if k != "KINETICS_I3D_DATA"}
    data = helpers.data_dir()
    result = subprocess.run(
        [sys.executable, str(script),
         str(data / "v_CricketShot_g04_c01_rgb.gif"), str(data / "reference" / "cricket_rgb_logits.npy")],
        capture_output=True, text=True, env=env, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(report)
    assert report["backend"] == backend
    assert report["max_abs_diff"] <= 1e-4
    assert report["tensorflow_imported"] == (backend == "tensorflow")
    # Both files fetched exactly once: the second I3D() came from the cache.
    preset = keras_i3d.get_preset("kinetics400_rgb")
    assert sorted(deepmind_only.requests) == sorted(preset.checkpoint_files)
    assert [p.name for p in helpers.files_under(fresh_cache)] == [
        "i3d_kinetics400_rgb.config.json",
        "i3d_kinetics400_rgb.weights.h5",
        "i3d_kinetics400_rgb.weights.h5.sha256",
    ]


@pytest.mark.backend_independent
def test_tampered_checkpoint_is_rejected_and_nothing_cached(deepmind_only, fresh_cache):
    deepmind_only.tamper("checkpoints/rgb_scratch/model.ckpt.data-00000-of-00001", position=123456)
    with pytest.raises(WeightsError) as info:
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    message = str(info.value)
    assert "4. DeepMind's original checkpoint" in message and "does not verify" in message
    assert keras_i3d.get_preset("kinetics400_rgb").data_blob_id in message
    assert helpers.files_under(fresh_cache) == []


@pytest.mark.backend_independent
def test_cut_off_checkpoint_download_leaves_nothing(deepmind_only, fresh_cache):
    deepmind_only.cut_off("checkpoints/rgb_scratch/model.ckpt.data-00000-of-00001")
    with pytest.raises(WeightsError, match="cut off"):
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
    assert helpers.files_under(fresh_cache) == []


@pytest.mark.backend_independent
def test_download_presets_prefetches_for_offline_use(deepmind_only, fresh_cache, monkeypatch):
    paths_by_name = pretrained.download_presets(["kinetics400_rgb"], progress=False)
    assert paths_by_name["kinetics400_rgb"].is_file()
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", "http://127.0.0.1:9/offline")
    model = keras_i3d.I3D(weights="kinetics400_rgb", include_top=False, input_shape=(8, 64, 64, 3))
    assert model.get_layer("Conv3d_1a_7x7_conv_3d").kernel.shape == (7, 7, 7, 3, 64)


# -- weights from files --------------------------------------------------------


def test_weights_from_a_file_path(converted_rgb):
    model = keras_i3d.I3D(weights=str(converted_rgb), include_top=False, input_shape=(8, 64, 64, 3))
    ckpt = read_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", progress=False)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model.get_layer("Conv3d_1a_7x7_conv_3d").kernel),
        ckpt.tensors["Conv3d_1a_7x7/conv_3d/w"],
    )


@pytest.mark.backend_independent
def test_bad_weights_files(tmp_path, converted_rgb):
    with pytest.raises(WeightsError, match="does not exist"):
        keras_i3d.I3D(weights=str(tmp_path / "missing.weights.h5"))
    broken = tmp_path / "broken.weights.h5"
    broken.write_bytes(converted_rgb.read_bytes()[:5000])
    with pytest.raises(WeightsError, match="Cannot read"):
        keras_i3d.I3D(weights=str(broken))
    with pytest.raises(ValueError, match="takes 3 input channels"):
        keras_i3d.I3D(weights=str(converted_rgb), input_shape=(None, 224, 224, 2))
    with pytest.raises(WeightsError, match="400 classes"):
        keras_i3d.I3D(weights=str(converted_rgb), classes=10)


@pytest.mark.backend_independent
def test_file_whose_values_differ_from_its_config_digest_is_refused(tmp_path, converted_rgb):
    copy = tmp_path / "copy.weights.h5"
    model = keras_i3d.I3D(weights=str(converted_rgb), classifier_activation=None)
    model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_batch_norm").beta.assign(np.ones(384, "float32"))
    model.save_weights(copy)
    shutil.copy(config_path(converted_rgb), config_path(copy))  # claims to be the converted weights
    with pytest.raises(WeightsError, match="does not verify: its weights digest"):
        keras_i3d.I3D(weights=str(copy))


@pytest.mark.backend_independent
def test_unknown_preset_lists_presets():
    with pytest.raises(ValueError, match="kinetics400_rgb.*kinetics600_rgb"):
        pretrained.resolve_preset("kinetics700_rgb")


def test_no_warning_on_clean_cache(fresh_cache, converted_rgb):
    seed_cache(converted_rgb, fresh_cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        pretrained.resolve_preset("kinetics400_rgb", progress=False)
        keras_i3d.I3D(weights="kinetics400_rgb", include_top=False, input_shape=(8, 64, 64, 3))


@pytest.mark.backend_independent
def test_cache_file_without_sidecar_is_discarded(fresh_cache, no_local_data, converted_rgb):
    fresh_cache.mkdir(parents=True)
    target = fresh_cache / "i3d_kinetics600_rgb.weights.h5"
    shutil.copy(converted_rgb, target)  # no sidecar: unverifiable
    with pytest.warns(UserWarning, match="no .sha256 sidecar"), pytest.raises(WeightsError):
        pretrained.resolve_preset("kinetics600_rgb", progress=False)
    assert not target.exists()


@pytest.mark.backend_independent
def test_pretrained_model_keeps_the_default_initializer_in_its_config(converted_rgb):
    model = keras_i3d.I3D(weights=str(converted_rgb), include_top=False, input_shape=(8, 64, 64, 3))
    layer = model.get_layer("Mixed_4f_Branch_1_Conv3d_0b_3x3_conv_3d")
    assert layer.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert np.abs(keras.ops.convert_to_numpy(layer.kernel)).sum() > 0


@pytest.mark.backend_independent
def test_fresh_machine_path_for_an_unscoped_600_class_layout(deepmind_only, fresh_cache, monkeypatch):
    """Step 4 on the Kinetics-600 layout (no scope, optimizer slots), served with its own blob ids."""
    import dataclasses

    from keras_i3d import presets as presets_lib
    from keras_i3d.utils.files import git_blob_id

    preset = presets_lib.get_preset("kinetics600_rgb")
    folder = deepmind_only.root / "checkpoints" / "rgb_scratch_kin600"
    (folder / "model.ckpt.index").unlink()  # the real index's link; replaced by a synthetic checkpoint
    values = helpers.write_synthetic_checkpoint(folder / "model.ckpt", helpers.checkpoint_layout(preset.source))
    ids = {name: git_blob_id(folder / name) for name in ("model.ckpt.index", "model.ckpt.data-00000-of-00001")}
    synthetic = dataclasses.replace(
        preset, index_blob_id=ids["model.ckpt.index"], data_blob_id=ids["model.ckpt.data-00000-of-00001"]
    )
    monkeypatch.setitem(presets_lib.PRESETS, preset.name, synthetic)
    model = keras_i3d.I3D(weights="kinetics600_rgb", classes=600, include_top=True)
    bias = keras.ops.convert_to_numpy(model.get_layer("Logits_Conv3d_0c_1x1_conv_3d").bias)
    np.testing.assert_array_equal(bias, values["Logits/Conv3d_0c_1x1/conv_3d/b"])
    assert sorted(deepmind_only.requests) == sorted(synthetic.checkpoint_files)
    assert (fresh_cache / "i3d_kinetics600_rgb.config.json").is_file()
