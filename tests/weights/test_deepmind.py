"""DeepMind's original files: blob ids, verified downloads from a local server."""

import pytest

from keras_i3d import presets
from keras_i3d.errors import DownloadError
from keras_i3d.utils.files import git_blob_id
from keras_i3d.weights import deepmind as deepmind_data
from keras_i3d.weights import fetch as pretrained
from tests.support import helpers

pytestmark = pytest.mark.requires_data

RGB_SCRATCH = presets.get_preset("kinetics400_rgb")


@pytest.mark.backend_independent
def test_registry_has_every_upstream_file():
    files = presets.deepmind_files()
    assert len(files) == 2 * len(presets.PRESETS) + 2
    for preset in presets.PRESETS.values():
        assert len(preset.index_blob_id) == 40 and len(preset.data_blob_id) == 40


@pytest.mark.backend_independent
def test_shared_files_match_their_blob_ids():
    data = helpers.data_dir()
    present = [relative for relative in presets.deepmind_files() if (data / relative).is_file()]
    # All five indexes, the rgb_scratch data file and both sample clips are here.
    assert len(present) == 8
    for relative in present:
        assert git_blob_id(data / relative) == presets.deepmind_files()[relative], relative


@pytest.fixture
def served(deepmind_server, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    return deepmind_server


@pytest.mark.backend_independent
def test_download_checkpoint_verifies_and_keeps_both_files(served, tmp_path):
    prefix = deepmind_data.download_checkpoint(RGB_SCRATCH, tmp_path / "ckpt", progress=False)
    assert prefix == tmp_path / "ckpt" / "model.ckpt"
    for relative, blob in RGB_SCRATCH.checkpoint_files.items():
        assert git_blob_id(tmp_path / "ckpt" / relative.rsplit("/", 1)[1]) == blob
    assert sorted(served.requests) == sorted(RGB_SCRATCH.checkpoint_files)


@pytest.mark.backend_independent
def test_flipped_byte_is_rejected_with_both_ids(served, tmp_path):
    relative = "checkpoints/rgb_scratch/model.ckpt.data-00000-of-00001"
    served.tamper(relative)
    actual = git_blob_id(served.root / relative)
    with pytest.raises(DownloadError) as info:
        deepmind_data.download_checkpoint(RGB_SCRATCH, tmp_path / "ckpt", progress=False)
    assert RGB_SCRATCH.data_blob_id in str(info.value) and actual in str(info.value)
    assert helpers.files_under(tmp_path / "ckpt") == [tmp_path / "ckpt" / "model.ckpt.index"]


@pytest.mark.backend_independent
def test_cut_off_download_leaves_nothing(served, tmp_path):
    served.cut_off("v_CricketShot_g04_c01_rgb.gif")
    with pytest.raises(DownloadError, match="cut off"):
        deepmind_data.download("v_CricketShot_g04_c01_rgb.gif", tmp_path / "out" / "clip.gif", progress=False)
    assert helpers.files_under(tmp_path / "out") == []


@pytest.mark.backend_independent
def test_unreachable_server(monkeypatch, tmp_path):
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", "http://127.0.0.1:9/data")
    with pytest.raises(DownloadError, match=r"127\.0\.0\.1:9/data/v_CricketShot_g04_c01_rgb\.gif: .*refused"):
        deepmind_data.download("v_CricketShot_g04_c01_rgb.gif", tmp_path / "clip.gif", progress=False)
    assert helpers.files_under(tmp_path) == []


@pytest.mark.backend_independent
def test_http_error_is_reported(served, tmp_path, monkeypatch):
    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", served.url + "/nowhere")
    with pytest.raises(DownloadError, match="HTTP 404"):
        deepmind_data.download("v_CricketShot_g04_c01_rgb.gif", tmp_path / "clip.gif", progress=False)


@pytest.mark.backend_independent
def test_sample_clip_prefers_the_local_folder(served):
    path = deepmind_data.sample_clip("rgb", progress=False)
    assert path == helpers.data_dir() / "v_CricketShot_g04_c01_rgb.gif"
    assert served.requests == []


@pytest.mark.backend_independent
def test_sample_clip_without_local_data_is_downloaded_once(served, monkeypatch, tmp_path):
    original = helpers.data_dir() / "v_CricketShot_g04_c01_flow.gif"
    monkeypatch.delenv("KINETICS_I3D_DATA")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    path = deepmind_data.sample_clip("flow", progress=False)
    assert path == tmp_path / "kh" / "models" / "keras_i3d" / "deepmind" / "v_CricketShot_g04_c01_flow.gif"
    assert git_blob_id(path) == presets.SAMPLE_FILES["v_CricketShot_g04_c01_flow.gif"]
    assert deepmind_data.sample_clip("flow", progress=False) == path
    assert served.requests == ["v_CricketShot_g04_c01_flow.gif"]
    path.write_bytes(b"corrupted")  # a damaged cache copy is fetched again
    assert git_blob_id(deepmind_data.sample_clip("flow", progress=False)) == git_blob_id(original)


@pytest.mark.backend_independent
def test_sample_clip_unavailable_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.delenv("KINETICS_I3D_DATA")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    with pytest.raises(DownloadError, match=r"not local \(\$KINETICS_I3D_DATA unset\) and could not be downloaded"):
        deepmind_data.sample_clip("rgb", progress=False)
    with pytest.raises(ValueError, match="'rgb' or 'flow'"):
        deepmind_data.sample_clip("depth")


@pytest.mark.backend_independent
def test_unknown_file_is_refused():
    with pytest.raises(KeyError, match="not one of DeepMind's"):
        deepmind_data.blob_id("checkpoints/evil/model.ckpt.index")


def test_download_data_folder_mirrors_deepmind_layout(served, tmp_path, monkeypatch):
    preset = RGB_SCRATCH
    relatives = ["v_CricketShot_g04_c01_rgb.gif", *preset.checkpoint_files]
    files = deepmind_data.download_data_folder(tmp_path / "mirror", relatives, progress=False)
    assert files == [tmp_path / "mirror" / r for r in relatives]
    requests = len(served.requests)
    deepmind_data.download_data_folder(tmp_path / "mirror", relatives, progress=False)
    assert len(served.requests) == requests  # verified copies are not fetched again
    # The folder works as a data folder.
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "mirror"))
    assert pretrained.resolve_preset("kinetics400_rgb", progress=False).is_file()
