"""Weights files: config JSON beside them, digests, and the guess for foreign files."""

import json

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.errors import WeightsError
from keras_i3d.model.architecture import weights_holder
from keras_i3d.utils.files import read_sidecar, sha256_file
from keras_i3d.weights.files import (
    config_path,
    describe_weights_file,
    read_config,
    weights_digest,
    write_weights,
)


@pytest.fixture(scope="module")
def holder():
    keras.utils.set_random_seed(3)
    model = weights_holder(2, 10)
    for variable in model.weights:
        variable.assign(np.random.default_rng(len(variable.path)).normal(size=variable.shape).astype("float32"))
    return model


def test_write_weights_writes_sidecar_and_config(holder, tmp_path):
    out = tmp_path / "flow.weights.h5"
    config = write_weights(holder, out, {"architecture": "i3d", "channels": 2, "classes": 10, "stream": "flow"})
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "flow.config.json",
        "flow.weights.h5",
        "flow.weights.h5.sha256",
    ]
    assert read_sidecar(out) == sha256_file(out) == config["sha256"]
    assert json.loads(config_path(out).read_text()) == config == read_config(out)
    info = describe_weights_file(out)
    assert (info.channels, info.classes, info.stream, info.from_config) == (2, 10, "flow", True)
    assert info.weights_digest == weights_digest(holder)


def test_digest_ignores_the_file_layout_but_not_the_values(holder, tmp_path):
    holder.save_weights(tmp_path / "a.weights.h5")
    again = weights_holder(2, 10)
    again.load_weights(tmp_path / "a.weights.h5")
    assert weights_digest(again) == weights_digest(holder)
    variable = again.get_layer("Mixed_4c_Branch_1_Conv3d_0b_3x3_batch_norm").moving_variance
    value = keras.ops.convert_to_numpy(variable).copy()
    value[7] = np.nextafter(value[7], np.float32(np.inf))  # one ulp
    variable.assign(value)
    assert weights_digest(again) != weights_digest(holder)


def test_foreign_files_are_described_from_shapes(holder, tmp_path):
    holder.save_weights(tmp_path / "foreign.weights.h5")
    info = describe_weights_file(tmp_path / "foreign.weights.h5")
    assert (info.channels, info.classes, info.from_config, info.weights_digest) == (2, 10, False, None)
    features = keras_i3d.I3D(weights=None, include_top=False, input_shape=(None, None, None, 3))
    features.save_weights(tmp_path / "features.weights.h5")
    assert describe_weights_file(tmp_path / "features.weights.h5").classes is None


def test_bad_configs_and_files(holder, tmp_path):
    out = tmp_path / "x.weights.h5"
    holder.save_weights(out)
    config_path(out).write_text("{not json")
    with pytest.raises(WeightsError, match="Cannot read .*x.config.json"):
        describe_weights_file(out)
    config_path(out).write_text(json.dumps({"channels": 3}))
    with pytest.raises(WeightsError, match="not a keras_i3d weights config"):
        describe_weights_file(out)
    config_path(out).write_text(json.dumps({"channels": 3, "classes": 10, "format": 99}))
    with pytest.raises(WeightsError, match="upgrade keras_i3d"):
        describe_weights_file(out)
    config_path(out).write_text(json.dumps({"channels": 3, "classes": 10, "architecture": "resnet50_3d"}))
    with pytest.raises(WeightsError, match="not I3D"):
        describe_weights_file(out)
    (tmp_path / "other.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(WeightsError, match="truncated or not HDF5"):
        describe_weights_file(tmp_path / "other.weights.h5")
    with pytest.raises(ValueError, match="must end in '.weights.h5'"):
        write_weights(holder, tmp_path / "x.h5", {})


def test_config_decides_over_shapes(holder, tmp_path):
    """Loading trusts the config; a file whose config disagrees with its tensors fails to load, clearly."""
    out = tmp_path / "x.weights.h5"
    write_weights(holder, out, {"architecture": "i3d", "channels": 3, "classes": 10})
    assert describe_weights_file(out).channels == 3
    with pytest.raises(WeightsError, match="Cannot load weights file"):
        keras_i3d.I3D(weights=str(out), classes=10)
