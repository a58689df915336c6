"""LogitsPooling: DeepMind's head pooling, literally, on any map size."""

import keras
import numpy as np
import pytest

from keras_i3d.model.layers import LogitsPooling


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


def test_config_round_trip_and_bad_pool_size():
    layer = LogitsPooling((2, 7, 7), name="p")
    assert LogitsPooling.from_config(layer.get_config()).pool_size == (2, 7, 7)
    with pytest.raises(ValueError, match="2 or 3 positive ints"):
        LogitsPooling((2, 7, 7, 1))
    with pytest.raises(ValueError, match="2 or 3 positive ints"):
        LogitsPooling((0, 7))


def test_2d_pool_size_pools_images_the_same_way():
    # The 2D head of Inception-v1: a (7, 7) window over images is the 3D pooling of one-frame clips.
    x = np.random.default_rng(3).standard_normal((2, 9, 8, 5)).astype("float32")
    images = keras.ops.convert_to_numpy(LogitsPooling((7, 7))(x))
    clips = keras.ops.convert_to_numpy(LogitsPooling((1, 7, 7))(x[:, None]))
    assert images.shape == (2, 1, 1, 5)
    np.testing.assert_allclose(images, clips[:, 0], rtol=1e-6, atol=1e-7)
    assert LogitsPooling((7, 7)).compute_output_shape((None, 9, 8, 5)) == (None, 1, 1, 5)
