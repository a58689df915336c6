"""The graph: endpoints and names as upstream's, TF SAME padding in every backend."""

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.model.architecture import BRANCH_2_3X3_NAMES, MIXED_FILTERS, VALID_ENDPOINTS, weights_holder

ENDPOINT_SHAPES_224 = {  # (frames=64) -> DeepMind's documented shapes
    "Conv3d_1a_7x7": (32, 112, 112, 64),
    "MaxPool3d_2a_3x3": (32, 56, 56, 64),
    "Conv3d_2b_1x1": (32, 56, 56, 64),
    "Conv3d_2c_3x3": (32, 56, 56, 192),
    "MaxPool3d_3a_3x3": (32, 28, 28, 192),
    "Mixed_3b": (32, 28, 28, 256),
    "Mixed_3c": (32, 28, 28, 480),
    "MaxPool3d_4a_3x3": (16, 14, 14, 480),
    "Mixed_4b": (16, 14, 14, 512),
    "Mixed_4c": (16, 14, 14, 512),
    "Mixed_4d": (16, 14, 14, 512),
    "Mixed_4e": (16, 14, 14, 528),
    "Mixed_4f": (16, 14, 14, 832),
    "MaxPool3d_5a_2x2": (8, 7, 7, 832),
    "Mixed_5b": (8, 7, 7, 832),
    "Mixed_5c": (8, 7, 7, 1024),
    "Logits": (400,),
    "Predictions": (400,),
}


def test_every_endpoint_is_a_named_layer_with_upstream_shape():
    model = keras_i3d.I3D(weights=None, input_shape=(64, 224, 224, 3))
    assert set(ENDPOINT_SHAPES_224) == set(VALID_ENDPOINTS)
    for name, shape in ENDPOINT_SHAPES_224.items():
        assert tuple(model.get_layer(name).output.shape[1:]) == shape, name
    assert model.count_params() == 12_704_544  # 12.3M trainable + BN statistics


def test_layer_names_follow_deepmind_scopes():
    model = keras_i3d.I3D(weights=None, include_top=True)
    names = {layer.name for layer in model.layers}
    assert "Mixed_5b_Branch_2_Conv3d_0a_3x3_conv_3d" in names  # upstream's quirky name
    assert "Mixed_5c_Branch_2_Conv3d_0b_3x3_batch_norm" in names
    assert "Logits_Conv3d_0c_1x1_conv_3d" in names
    assert not any("/" in n or "." in n for n in names)
    bn = model.get_layer("Conv3d_1a_7x7_batch_norm")
    assert bn.epsilon == 1e-3 and not bn.scale and bn.center


def _tf_same_conv_reference(x, kernel, stride):
    """1D-per-axis TF 'SAME' padding (extra pad at the end), then VALID correlation."""
    pads = []
    for n, k, s in zip(x.shape[1:4], kernel.shape[:3], stride, strict=True):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    xp = np.pad(x, [(0, 0)] + pads + [(0, 0)])
    outs = [-(-n // s) for n, s in zip(x.shape[1:4], stride, strict=True)]
    y = np.zeros((x.shape[0], *outs, kernel.shape[-1]), np.float64)
    kt, kh, kw = kernel.shape[:3]
    for i in range(outs[0]):
        for j in range(outs[1]):
            for k in range(outs[2]):
                patch = xp[
                    :,
                    i * stride[0] : i * stride[0] + kt,
                    j * stride[1] : j * stride[1] + kh,
                    k * stride[2] : k * stride[2] + kw,
                ]
                y[:, i, j, k] = np.tensordot(patch, kernel, axes=([1, 2, 3, 4], [0, 1, 2, 3]))
    return y


@pytest.mark.parametrize("size", [(7, 9, 10), (8, 11, 12), (5, 6, 7)])
def test_convolutions_use_tensorflow_same_padding(size):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1,) + size + (2,)).astype("float32")
    layer = keras.layers.Conv3D(3, (7, 7, 7), strides=(2, 2, 2), padding="same", use_bias=False)
    y = keras.ops.convert_to_numpy(layer(x))
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    np.testing.assert_allclose(y, _tf_same_conv_reference(x, kernel, (2, 2, 2)), atol=1e-4)


def test_max_pool_same_padding_ignores_padding():
    x = -np.arange(1, 1 + 5 * 5 * 5, dtype="float32").reshape(1, 5, 5, 5, 1)
    y = keras.ops.convert_to_numpy(keras.layers.MaxPooling3D((2, 2, 2), (2, 2, 2), padding="same")(x))
    # TF SAME for k=2, s=2, n=5 pads one element at the end; the last window sees x[4] alone.
    assert y.shape == (1, 3, 3, 3, 1)
    assert y[0, 2, 2, 2, 0] == x[0, 4, 4, 4, 0]
    assert y[0, 0, 0, 0, 0] == x[0, 0, 0, 0, 0]


def test_block_table_is_upstreams():
    assert list(MIXED_FILTERS) == [e for e in VALID_ENDPOINTS if e.startswith("Mixed")]
    assert BRANCH_2_3X3_NAMES == {"Mixed_5b": "Conv3d_0a_3x3"}


def test_weights_holder_takes_any_size():
    holder = weights_holder(2, 10)
    assert tuple(holder.input.shape) == (None, None, None, None, 2)
    assert tuple(holder.output.shape) == (None, 10)
    assert tuple(weights_holder(3, None).output.shape) == (None, None, None, None, 1024)
