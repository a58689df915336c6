"""Locations: the library reads the environment only, never a checkout's layout."""

import pytest

from keras_i3d.utils import paths

pytestmark = pytest.mark.backend_independent


def test_data_folder_comes_from_the_environment_only(tmp_path, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path))
    assert paths.find_data_dir() == tmp_path
    assert paths.checkpoint_prefix("rgb_scratch") == tmp_path / "checkpoints" / "rgb_scratch" / "model.ckpt"
    monkeypatch.delenv("KINETICS_I3D_DATA")
    assert paths.find_data_dir() is None  # even with ../shared/kinetics-i3d beside the checkout
    assert paths.checkpoint_prefix("rgb_scratch") is None
    monkeypatch.setenv("KINETICS_I3D_DATA", "")
    assert paths.find_data_dir() is None


def test_local_data_file(tmp_path, monkeypatch):
    (tmp_path / "clip.gif").write_bytes(b"x")
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path))
    assert paths.local_data_file("clip.gif") == tmp_path / "clip.gif"
    assert paths.local_data_file("other.gif") is None


def test_urls(monkeypatch):
    monkeypatch.delenv("KINETICS_I3D_CHECKPOINT_URL", raising=False)
    assert paths.checkpoint_base_url() == "https://raw.githubusercontent.com/google-deepmind/kinetics-i3d/master/data"
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", "file:///mirror/data/")
    assert paths.checkpoint_base_url() == "file:///mirror/data"
    monkeypatch.delenv("KERAS_I3D_WEIGHTS_URL", raising=False)
    assert paths.weights_base_url() is None


def test_cache_folders_follow_keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert paths.cache_dir() == tmp_path / "kh" / "models" / "keras_i3d"
    assert paths.data_cache_dir() == tmp_path / "kh" / "models" / "keras_i3d" / "deepmind"
