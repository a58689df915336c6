"""Saving: .keras round trip and get_config/from_config on every backend."""

import keras
import numpy as np

import keras_i3d

SHAPE = (8, 64, 64, 3)


def _random_model():
    keras.utils.set_random_seed(0)
    model = keras_i3d.I3D(weights=None, input_shape=(None, None, None, 3), classes=7, dropout_rate=0.2)
    # Non-trivial BN statistics, so a lost variable would show.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.random.default_rng(1).normal(size=layer.moving_mean.shape) * 0.1)
    return model


def test_keras_file_round_trip(tmp_path):
    model = _random_model()
    x = np.random.default_rng(0).uniform(-1, 1, (2,) + SHAPE).astype("float32")
    expected = np.asarray(model.predict(x, verbose=0))
    model.save(tmp_path / "i3d.keras")
    restored = keras.saving.load_model(tmp_path / "i3d.keras")
    np.testing.assert_array_equal(np.asarray(restored.predict(x, verbose=0)), expected)
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]


def test_config_round_trip():
    model = _random_model()
    clone = keras.Model.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    x = np.random.default_rng(2).uniform(-1, 1, (1, 3, 40, 40, 3)).astype("float32")
    np.testing.assert_allclose(clone.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)
    assert clone.get_layer("Logits_avg_pool").pool_size == (2, 7, 7)


def test_weights_h5_round_trip(tmp_path):
    model = _random_model()
    model.save_weights(tmp_path / "w.weights.h5")
    again = keras_i3d.I3D(weights=str(tmp_path / "w.weights.h5"), classes=7)
    for a, b in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
