"""The I3D builder: keras.applications arguments, the model contract, bad arguments."""

import functools

import keras
import numpy as np
import pytest

import keras_i3d
from tests.support import helpers

SMALL = (8, 64, 64, 3)


@pytest.fixture(scope="module")
def random_model():
    return keras_i3d.I3D(weights=None, input_shape=(None, None, None, 3))


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


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(input_shape=(0, 224, 224, 3)), "at least 1 frame"),
        (dict(input_shape=(16, 16, 224, 3)), "at least 32x32"),
        (dict(input_shape=(16, 224, 8, 3)), "at least 32x32"),
        (dict(input_shape=(16, 224, 224, 2)), "takes 3 input channels"),
        (dict(input_shape=(224, 224, 3)), "frames, height, width, channels"),
        (dict(weights="kinetics400_flow", input_shape=(16, 224, 224, 3)), "takes 2 input channels"),
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


def _random_model(classes=7):
    keras.utils.set_random_seed(0)
    model = keras_i3d.I3D(weights=None, input_shape=(None, None, None, 3), classes=classes, dropout_rate=0.2)
    # Non-trivial BN statistics, so a lost variable would show.
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(rng.normal(size=layer.moving_mean.shape).astype("float32") * 0.1)
    return model


def test_model_contract(tmp_path):
    helpers.run_model_test(
        _random_model(), SMALL, (7,), tmp_path, endpoints={"Mixed_5c": (None, None, None, 1024), "Logits": (7,)}
    )


def test_model_contract_features(tmp_path):
    model = keras_i3d.I3D(weights=None, include_top=False, input_shape=SMALL, pooling="avg")
    helpers.run_model_test(model, SMALL, (1024,), tmp_path, endpoints={"Mixed_4f": (2, 4, 4, 832)})


def test_weights_file_contract(tmp_path):
    helpers.run_weights_file_test(_random_model(), functools.partial(keras_i3d.I3D, classes=7), tmp_path)
