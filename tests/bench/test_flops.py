"""The analytic operation count behind the benchmark's TFLOP/s and MFU."""

import keras
import pytest

import keras_i3d
from keras_i3d.bench.flops import forward_flops, layer_macs, model_macs
from keras_i3d.model.fusion import fuse_for_inference


@pytest.fixture(scope="module")
def model_64():
    return keras_i3d.I3D(weights=None, input_shape=(64, 224, 224, 3))


def test_i3d_at_64_frames_is_111_gmac(model_64):
    counts = model_macs(model_64)
    assert len(counts) == 58  # 57 units and the classifier
    assert 110.9e9 < sum(counts.values()) < 111.4e9  # the published ~111 GMAC (222 GFLOP) per 64-frame clip
    assert forward_flops(model_64) == 2 * sum(counts.values())


def test_layers_match_a_hand_count(model_64):
    counts = model_macs(model_64)
    # Conv3d_1a_7x7: 64 frames / 2, 224 / 2 -> 32 x 112 x 112 outputs, 64 filters over 7*7*7*3 inputs.
    assert counts["Conv3d_1a_7x7_conv_3d"] == 32 * 112 * 112 * 64 * (7 * 7 * 7 * 3)
    # Conv3d_2c_3x3: 32 x 56 x 56 outputs, 192 filters over 3*3*3*64.
    assert counts["Conv3d_2c_3x3_conv_3d"] == 32 * 56 * 56 * 192 * (27 * 64)
    # Mixed_3b Branch_0: 1x1x1, 192 -> 64 channels on 32 x 28 x 28.
    assert counts["Mixed_3b_Branch_0_Conv3d_0a_1x1_conv_3d"] == 32 * 28 * 28 * 64 * 192
    # Mixed_5b's Branch_2 3x3x3 (named 0a upstream): 32 -> 128 channels on 8 x 7 x 7.
    assert counts["Mixed_5b_Branch_2_Conv3d_0a_3x3_conv_3d"] == 8 * 7 * 7 * 128 * (27 * 32)
    # The classifier: one position after the head's pooling, 1024 -> 400.
    assert counts["Logits_Conv3d_0c_1x1_conv_3d"] == 1024 * 400


def test_the_count_scales_and_survives_fusion():
    small = keras_i3d.I3D(weights=None, input_shape=(16, 224, 224, 3))
    macs = sum(model_macs(small).values())
    assert 27.7e9 < macs < 27.9e9  # a quarter of 64 frames, less SAME padding's edge effects
    assert sum(model_macs(fuse_for_inference(small)).values()) == macs


def test_dense_layers_count_and_unknown_shapes_refuse():
    inputs = keras.Input((10,))
    dense = keras.layers.Dense(3)
    keras.Model(inputs, dense(inputs))
    assert layer_macs(dense) == 30
    free = keras_i3d.I3D(weights=None)  # (None, 224, 224, 3)
    with pytest.raises(ValueError, match="fixed clip shape"):
        model_macs(free)
