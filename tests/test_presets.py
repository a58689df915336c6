"""The preset registry."""

import pytest

import keras_i3d
from keras_i3d.presets import PRESETS
from keras_i3d.utils.files import git_blob_id
from tests.support import helpers

pytestmark = pytest.mark.backend_independent


@pytest.mark.requires_data
def test_every_preset_names_an_upstream_checkpoint():
    assert {p.source for p in PRESETS.values()} == set(helpers.SOURCES)
    for preset in PRESETS.values():
        assert (helpers.data_dir() / "checkpoints" / preset.source / "model.ckpt.index").exists()


@pytest.mark.requires_data
@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_metadata_matches_the_checkpoint_index(name):
    preset = keras_i3d.get_preset(name)
    layout = helpers.checkpoint_layout(preset.source)
    first = next(shape for n, (shape, _) in layout.items() if n.endswith("Conv3d_1a_7x7/conv_3d/w"))
    bias = next(shape for n, (shape, _) in layout.items() if n.endswith("Logits/Conv3d_0c_1x1/conv_3d/b"))
    assert first[3] == preset.channels
    assert bias == [preset.classes]
    assert preset.filename == f"i3d_{name}.weights.h5"
    assert list(preset.checkpoint_files) == [
        f"checkpoints/{preset.source}/model.ckpt.index",
        f"checkpoints/{preset.source}/model.ckpt.data-00000-of-00001",
    ]
    index = next(iter(preset.checkpoint_files))
    assert git_blob_id(helpers.data_dir() / index) == preset.index_blob_id


def test_published_accuracies():
    assert (PRESETS["kinetics400_rgb"].top1, PRESETS["kinetics400_rgb"].top5) == (68.4, 88.0)
    assert PRESETS["kinetics400_flow_imagenet"].top1 == 63.4
    assert PRESETS["kinetics600_rgb"].top1 is None


def test_unknown_preset():
    with pytest.raises(ValueError, match="Unknown I3D preset 'rgb'"):
        keras_i3d.get_preset("rgb")


def test_only_verifiable_digests_are_registered():
    """Blob ids for every published file; a content digest only where the data was here to compute it."""
    assert PRESETS["kinetics400_rgb"].weights_digest is not None
    assert all(p.weights_digest is None for n, p in PRESETS.items() if n != "kinetics400_rgb")
    assert len({p.data_blob_id for p in PRESETS.values()}) == len(PRESETS)
