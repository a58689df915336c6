"""Finding DeepMind's data folder."""

import pytest

from keras_i3d import data_paths


def test_environment_variable_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path))
    assert data_paths.find_data_dir() == tmp_path
    assert data_paths.checkpoint_prefix("rgb_scratch") == tmp_path / "checkpoints" / "rgb_scratch" / "model.ckpt"


def test_missing_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="KINETICS_I3D_DATA"):
        data_paths.require_data_dir()
