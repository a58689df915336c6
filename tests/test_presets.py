"""The preset registry."""

import pytest

import keras_i3d
from keras_i3d.presets import PRESETS
from tests import helpers


def test_every_preset_names_an_upstream_checkpoint():
    assert {p.source for p in PRESETS.values()} == set(helpers.SOURCES)
    for preset in PRESETS.values():
        assert (helpers.data_dir() / "checkpoints" / preset.source / "model.ckpt.index").exists()


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_metadata_matches_the_checkpoint_index(name):
    preset = keras_i3d.get_preset(name)
    layout = helpers.checkpoint_layout(preset.source)
    first = next(shape for n, (shape, _) in layout.items() if n.endswith("Conv3d_1a_7x7/conv_3d/w"))
    bias = next(shape for n, (shape, _) in layout.items() if n.endswith("Logits/Conv3d_0c_1x1/conv_3d/b"))
    assert first[3] == preset.channels
    assert bias == [preset.classes]
    assert preset.filename == f"i3d_{name}.weights.h5"


def test_published_accuracies():
    assert (PRESETS["kinetics400_rgb"].top1, PRESETS["kinetics400_rgb"].top5) == (68.4, 88.0)
    assert PRESETS["kinetics400_flow_imagenet"].top1 == 63.4
    assert PRESETS["kinetics600_rgb"].top1 is None


def test_unknown_preset():
    with pytest.raises(ValueError, match="Unknown I3D preset 'rgb'"):
        keras_i3d.get_preset("rgb")
