"""I3D builder and load_model arguments: bad ones are refused with a clear message (hardening item 12)."""

from __future__ import annotations

import numpy as np
import pytest

import keras_i3d
from tests.support.bad_files import write_file


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "name,match",
    [
        ("missing.keras", "does not exist"),
        ("x.weights.h5", "I3D\\(weights=path\\)"),
        ("x.h5", "reads .keras files"),
        ("garbage.keras", "not a zip archive"),
    ],
)
def test_load_model_checks_the_path(tmp_path, name, match):
    if name != "missing.keras":
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ValueError, match=match):
        keras_i3d.load_model(tmp_path / name)
    with pytest.raises(ValueError, match="must be a path"):
        keras_i3d.load_model(5)


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "config",
    [
        {"class_name": "Functional", "config": 5},
        {"class_name": "keras_i3d>I3DModel", "config": {"layers": "x"}},
        [1, 2],
        {"class_name": "Functional", "config": {"layers": [{"class_name": "Dense"}]}},
    ],
)
def test_crafted_keras_files_get_one_line_naming_the_file(tmp_path, capsys, config):
    """A crafted or foreign .keras gave a raw TypeError through load_model and export --model."""
    import json
    import zipfile

    from tests.support.cli import run_cli

    path = tmp_path / "crafted.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        archive.writestr("config.json", json.dumps(config))
    with pytest.raises(ValueError, match=r"crafted.keras is not a Keras model keras_i3d can load: ") as info:
        keras_i3d.load_model(path)
    assert "\n" not in str(info.value) and type(info.value) is ValueError
    status, out, err = run_cli(capsys, "export", "--model", path, "--out", tmp_path / "out")
    assert status == 2 and out == "" and len(err.strip().splitlines()) == 1 and "crafted.keras is not" in err


# -- 12. builder arguments --


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(classes=0), "`classes` must be a positive int; got 0"),
        (dict(classes=True), "`classes` must be a positive int"),
        (dict(include_top="yes"), "`include_top` must be True or False"),
        (dict(dropout_rate="0.5"), "`dropout_rate`"),
        (dict(dropout_rate=float("nan")), "`dropout_rate`"),
        (dict(weights=3), "`weights` must be None, a preset name or a path"),
        (dict(input_shape=(None, 224, 224.0, 3)), "ints or None"),
        (dict(input_shape=5), "must be a tuple"),
        (dict(input_shape=(None, 224, 224, None)), "channel dimension"),
        (dict(input_shape=(None, 64, 64, 0)), "channel dimension of `input_shape` must be a positive int"),
    ],
)
def test_builder_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_i3d.I3D(**{"weights": None, **kwargs})


def test_numpy_input_tensor_gets_a_short_message():
    with pytest.raises(ValueError, match="must be a Keras tensor") as info:
        keras_i3d.I3D(weights=None, input_tensor=np.zeros((1, 8, 224, 224, 3), "float32"))
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: tmp / "missing.weights.h5", "does not exist"),
        (lambda tmp: _touch(tmp / "model.keras"), "keras_i3d.load_model"),
        (lambda tmp: _touch(tmp / "model.h5"), "must end in '.weights.h5'"),
        (lambda tmp: write_file(tmp / "junk.weights.h5", b"not hdf5"), "truncated or not HDF5"),
    ],
)
def test_bad_weights_paths(tmp_path, make, match):
    with pytest.raises(keras_i3d.WeightsError, match=match):
        keras_i3d.I3D(weights=str(make(tmp_path)))


def _touch(path):
    path.write_bytes(b"x")
    return path
