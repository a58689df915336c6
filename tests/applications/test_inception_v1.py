"""keras_i3d.InceptionV1: the 2D Inception-v1 (GoogLeNet with batch norm) that I3D inflates from."""

import functools

import keras
import numpy as np
import pytest

from keras_i3d import InceptionV1
from keras_i3d.errors import WeightsError
from tests.support import helpers


# Not on JAX (CI budget: its eager call compiles op by op, ~50 s on 2 cores): JAX builds and runs
# Inception-v1 in test_input_tensor_and_free_sizes and in tests/inflation, and runs I3D's contract.
@pytest.mark.tf_only
@pytest.mark.torch_only
def test_builder_contract(tmp_path):
    model = InceptionV1(classes=7, input_shape=(64, 64, 3))
    helpers.randomize_batch_norm(model)
    endpoints = {"Conv3d_1a_7x7": (32, 32, 64), "MaxPool3d_2a_3x3": (16, 16, 64), "Mixed_5c": (2, 2, 1024)}
    helpers.run_model_test(model, (64, 64, 3), (7,), tmp_path, endpoints=endpoints)
    build = functools.partial(InceptionV1, classes=7, input_shape=(64, 64, 3))
    helpers.run_weights_file_test(model, build, tmp_path)
    probabilities = keras.ops.convert_to_numpy(model(np.zeros((2, 64, 64, 3), "float32")))  # the contract's batch:
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)  # no new shapes to compile on JAX


def test_names_are_i3d_scopes():
    model = InceptionV1(include_top=False, input_shape=(32, 32, 3))
    names = [layer.name for layer in model.layers]
    assert names[:4] == ["inputs", "Conv3d_1a_7x7_conv_3d", "Conv3d_1a_7x7_batch_norm", "Conv3d_1a_7x7"]
    assert "Mixed_5b_Branch_2_Conv3d_0a_3x3_conv_3d" in names  # upstream's (and TF-slim's) quirk
    bn = model.get_layer("Mixed_3b_Branch_0_Conv3d_0a_1x1_batch_norm")
    assert (bn.scale, bn.epsilon, bn.momentum) == (False, 1e-3, 0.999)
    assert model.get_layer("Conv3d_1a_7x7_conv_3d").strides == (2, 2)
    assert model.output.shape == (None, 1, 1, 1024)


@pytest.mark.parametrize(
    ("pooling", "shape"), [("avg", (None, 1024)), ("max", (None, 1024)), (None, (None, 7, 7, 1024))]
)
def test_pooling(pooling, shape):
    assert InceptionV1(include_top=False, pooling=pooling).output.shape == shape


def test_input_tensor_and_free_sizes():
    inputs = keras.Input((None, None, 3))
    model = InceptionV1(input_tensor=inputs, classes=5, classifier_activation=None)
    assert model.input is inputs
    assert keras.ops.convert_to_numpy(model(np.zeros((2, 50, 70, 3), "float32"))).shape == (2, 5)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"input_shape": (224, 224)}, ValueError, r"\(height, width, channels\)"),
        ({"input_shape": (224, 224, None)}, ValueError, "channel dimension"),
        ({"input_shape": (0, 224, 3)}, ValueError, "positive ints"),
        ({"classes": 0}, ValueError, "`classes` must be a positive int"),
        ({"pooling": "avg"}, ValueError, "only applies with include_top=False"),
        ({"dropout_rate": 1.0}, ValueError, "dropout_rate"),
        ({"weights": "missing.weights.h5"}, WeightsError, "does not exist"),
    ],
)
def test_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        InceptionV1(**kwargs)
