"""keras_i3d.inflated_layers: 3D layers padded SAME in time and VALID in space."""

import keras
import numpy as np
import pytest

from keras_i3d.inflation.layers import (
    TimeSameAveragePooling3D,
    TimeSameConv3D,
    TimeSameMaxPooling3D,
    time_same_frames,
    time_same_padding,
)

L = keras.layers


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def test_time_same_padding_is_tensorflows():
    assert time_same_padding(10, 3, 1) == (1, 1)
    assert time_same_padding(10, 4, 1) == (1, 2)  # the odd frame goes at the end
    assert time_same_padding(64, 7, 2) == (2, 3)
    assert time_same_padding(5, 1, 2) == (0, 0)
    assert time_same_padding(5, 3, 1, dilation=2) == (2, 2)
    assert time_same_frames(7, 2) == 4 and time_same_frames(None, 2) is None


@pytest.mark.parametrize(("frames", "kernel", "stride"), [(7, 3, 1), (8, 4, 2), (5, 7, 2), (1, 3, 1)])
def test_conv_is_a_same_conv_in_time_and_valid_in_space(frames, kernel, stride):
    x = np.random.default_rng(0).standard_normal((2, frames, 9, 8, 3)).astype("float32")
    layer = TimeSameConv3D(4, (kernel, 3, 3), strides=(stride, 2, 1), padding="valid", use_bias=True)
    out = _numpy(layer(x))
    before, after = time_same_padding(frames, kernel, stride)
    padded = np.pad(x, ((0, 0), (before, after), (0, 0), (0, 0), (0, 0)))
    plain = L.Conv3D(4, (kernel, 3, 3), strides=(stride, 2, 1), padding="valid")
    plain.build(padded.shape)
    plain.set_weights(layer.get_weights())
    np.testing.assert_allclose(out, _numpy(plain(padded)), rtol=1e-5, atol=1e-5)
    assert out.shape == (2, -(-frames // stride), 4, 6, 4)
    assert layer.compute_output_shape((None, None, 9, 8, 3)) == (None, None, 4, 6, 4)
    assert layer.compute_output_shape((None, frames, 9, 8, 3)) == (None, -(-frames // stride), 4, 6, 4)


def test_max_pool_never_picks_padding_and_avg_pool_leaves_it_out():
    x = -np.abs(np.random.default_rng(1).standard_normal((1, 5, 6, 6, 2))).astype("float32") - 1
    out = _numpy(TimeSameMaxPooling3D((3, 2, 2), strides=(1, 2, 2), padding="valid")(x))
    assert out.shape == (1, 5, 3, 3, 2) and out.max() < -1  # zero padding would have won
    ones = np.ones((1, 5, 6, 6, 2), "float32")
    np.testing.assert_allclose(_numpy(TimeSameAveragePooling3D((3, 3, 3), strides=1, padding="valid")(ones)), 1.0)
    # Frame 0's window holds frames 0 and 1 only: their mean, not a third of a zero frame.
    avg = _numpy(TimeSameAveragePooling3D((3, 1, 1), strides=1, padding="valid")(x))
    np.testing.assert_allclose(avg[:, 0], x[:, :2].mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(avg[:, 2], x[:, 1:4].mean(axis=1), rtol=1e-5)


@pytest.mark.parametrize("cls", [TimeSameConv3D, TimeSameMaxPooling3D, TimeSameAveragePooling3D])
def test_config_round_trip_and_padding_must_be_valid(cls, tmp_path):
    args = (2, (3, 3, 3)) if cls is TimeSameConv3D else ((3, 3, 3),)
    layer = cls(*args, padding="valid", name="layer")
    inputs = keras.Input((None, 8, 8, 2))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert type(again.get_layer("layer")) is cls
    x = np.random.default_rng(2).standard_normal((1, 4, 8, 8, 2)).astype("float32")
    np.testing.assert_allclose(_numpy(again(x)), _numpy(model(x)), atol=1e-6)
    with pytest.raises(ValueError, match="`padding` must be 'valid'"):
        cls(*args, padding="same")
