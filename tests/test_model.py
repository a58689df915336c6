"""Architecture: endpoints, shapes, head semantics, TF SAME padding, bad inputs."""

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.layers import LogitsPooling
from keras_i3d.model import VALID_ENDPOINTS

SMALL = (8, 64, 64, 3)

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


@pytest.fixture(scope="module")
def random_model():
    return keras_i3d.I3D(weights=None, input_shape=(None, None, None, 3))


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


@pytest.mark.parametrize("frames", [1, 7, 16, 79])
def test_any_frame_count(random_model, frames):
    x = np.random.default_rng(frames).uniform(-1, 1, (1, frames, 64, 64, 3)).astype("float32")
    y = np.asarray(random_model.predict(x, verbose=0))
    assert y.shape == (1, 400) and np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(), 1.0, rtol=1e-5)


@pytest.mark.parametrize("pooling,shape", [(None, (1, 1, 2, 2, 1024)), ("avg", (1, 1024)), ("max", (1, 1024))])
def test_pooling(pooling, shape):
    model = keras_i3d.I3D(include_top=False, weights=None, input_shape=SMALL, pooling=pooling)
    assert tuple(model.output.shape) == (None,) + shape[1:]
    y = model.predict(np.zeros((1,) + SMALL, "float32"), verbose=0)
    assert y.shape == shape


def test_odd_spatial_sizes_and_flow_channels():
    model = keras_i3d.I3D(weights=None, input_shape=(None, None, None, 2), classes=10, classifier_activation=None)
    y = model.predict(np.zeros((2, 9, 45, 71, 2), "float32"), verbose=0)
    assert y.shape == (2, 10)


def _upstream_head(features, kernel, bias):
    """DeepMind's Logits block, literally: avg_pool (2,7,7) VALID, 1x1x1 conv, mean over time."""
    b, t, h, w, c = features.shape
    kt, kh, kw = min(2, t), min(7, h), min(7, w)
    pooled = np.stack(
        [
            np.stack(
                [
                    np.stack(
                        [
                            features[:, i : i + kt, j : j + kh, k : k + kw].mean(axis=(1, 2, 3))
                            for k in range(w - kw + 1)
                        ],
                        1,
                    )
                    for j in range(h - kh + 1)
                ],
                1,
            )
            for i in range(t - kt + 1)
        ],
        1,
    )  # (b, t', h', w', c)
    logits = pooled @ kernel.reshape(c, -1) + bias
    return logits.mean(axis=(1, 2, 3))


@pytest.mark.parametrize("shape", [(3, 7, 7), (8, 7, 7), (1, 7, 7), (2, 3, 9), (5, 10, 8)])
def test_logits_head_equals_upstream_pooling(shape):
    rng = np.random.default_rng(0)
    features = rng.standard_normal((2,) + shape + (16,)).astype("float32")
    kernel = rng.standard_normal((1, 1, 1, 16, 5)).astype("float32")
    bias = rng.standard_normal(5).astype("float32")
    pooled = keras.ops.convert_to_numpy(LogitsPooling((2, 7, 7))(features))
    assert pooled.shape == (2, 1, 1, 1, 16)
    ours = pooled.reshape(2, 16) @ kernel.reshape(16, 5) + bias
    np.testing.assert_allclose(ours, _upstream_head(features, kernel, bias), rtol=1e-5, atol=1e-5)


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


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(input_shape=(0, 224, 224, 3)), "at least 1 frame"),
        (dict(input_shape=(16, 16, 224, 3)), "at least 32x32"),
        (dict(input_shape=(16, 224, 8, 3)), "at least 32x32"),
        (dict(input_shape=(16, 224, 224, 2)), "expect 3 input channels"),
        (dict(input_shape=(224, 224, 3)), "frames, height, width, channels"),
        (dict(weights="kinetics400_flow", input_shape=(16, 224, 224, 3)), "expect 2 input channels"),
        (dict(weights="kinetics400_rgb", classes=10), "has 400 classes"),
        (dict(weights="no_such_preset"), "Unknown I3D preset"),
        (dict(weights=None, pooling="mean", include_top=False), "`pooling`"),
        (dict(weights=None, pooling="avg"), "only applies with include_top=False"),
        (dict(weights=None, dropout_rate=1.0), "dropout_rate"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, match):
    kwargs.setdefault("weights", "kinetics400_rgb")
    with pytest.raises(ValueError, match=match):
        keras_i3d.I3D(**kwargs)


def test_input_tensor():
    inputs = keras.Input((8, 64, 64, 3))
    model = keras_i3d.I3D(weights=None, input_tensor=inputs, include_top=False, pooling="avg")
    assert model.inputs[0] is inputs or tuple(model.inputs[0].shape) == (None, 8, 64, 64, 3)
    assert tuple(model.output.shape) == (None, 1024)


def test_dropout_is_part_of_the_head():
    model = keras_i3d.I3D(weights=None, input_shape=SMALL, dropout_rate=0.5, classifier_activation=None)
    assert model.get_layer("Logits_dropout").rate == 0.5
    x = np.ones((1,) + SMALL, "float32")
    np.testing.assert_allclose(
        model.predict(x, verbose=0), keras.ops.convert_to_numpy(model(x, training=False)), atol=1e-5
    )
