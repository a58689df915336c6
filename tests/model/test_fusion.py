"""fuse_for_inference and its layers: the same function, faster."""

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.model.architecture import VALID_ENDPOINTS
from keras_i3d.model.fused_layers import FusedConv3D, SeparableMaxPooling3D
from keras_i3d.model.fusion import fuse_for_inference
from tests.support import helpers


def _with_random_statistics(model: keras.Model, seed: int = 0) -> keras.Model:
    """Gives every BatchNorm a non-trivial offset, mean and variance (so folding is really tested)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            _with_random_statistics(layer, seed + 1)
        elif isinstance(layer, keras.layers.BatchNormalization):
            beta, mean, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.normal(0, 0.2, beta.shape).astype("float32"),
                    rng.normal(0, 0.2, mean.shape).astype("float32"),
                    rng.uniform(0.3, 3.0, variance.shape).astype("float32"),
                ]
            )
    return model


def _relative(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.fixture(scope="module")
def model():
    return _with_random_statistics(
        keras_i3d.I3D(weights=None, input_shape=(None, 64, 64, 3), classifier_activation=None)
    )


@pytest.mark.parametrize("implementation", ["conv3d", "frames"])
def test_fused_model_computes_the_same_logits_and_endpoints(model, implementation):
    fused = fuse_for_inference(model, implementation)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 11, 64, 64, 3)).astype("float32")  # odd frames
    assert _relative(fused.predict_on_batch(x), model.predict_on_batch(x)) < 1e-5
    assert isinstance(fused, keras_i3d.I3DModel) and not fused.trainable
    layers = {layer.name: layer for layer in fused.layers}
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in fused.layers)
    assert sum(isinstance(layer, FusedConv3D) for layer in fused.layers) == 58  # 57 units and the classifier
    for endpoint in VALID_ENDPOINTS[:-1]:  # Predictions: logits model
        assert endpoint in layers, endpoint
    assert isinstance(layers["Conv3d_1a_7x7"], FusedConv3D) and layers["Conv3d_1a_7x7"].activation == "relu"
    assert layers["Logits_Conv3d_0c_1x1_conv_3d"].activation is None
    pool = SeparableMaxPooling3D if implementation == "frames" else keras.layers.MaxPooling3D
    assert isinstance(layers["MaxPool3d_4a_3x3"], pool)
    # Endpoints compute what the original's do.
    for endpoint in ("Conv3d_1a_7x7", "Mixed_4f"):
        sub = keras.Model(fused.input, layers[endpoint].output)
        ref = keras.Model(model.input, model.get_layer(endpoint).output)
        assert _relative(sub.predict_on_batch(x), ref.predict_on_batch(x)) < 1e-5
    # The original is untouched.
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) and model.trainable


# Not on JAX (CI budget: its eager call compiles the fused graph op by op, ~50 s): JAX runs fused models
# compiled, above and in tests/applications/test_parity.py; the layers' configs are Python.
@pytest.mark.tf_only
@pytest.mark.torch_only
def test_fused_model_keeps_the_model_contract(model, tmp_path):
    fused = fuse_for_inference(model, "frames")
    helpers.run_model_test(fused, (6, 64, 64, 3), (400,), tmp_path, batch_size=1)


@pytest.mark.parametrize(
    ("kernel", "strides", "shape"),
    [((7, 7, 7), (2, 2, 2), (9, 37, 30, 3)), ((3, 3, 3), (1, 1, 1), (5, 9, 8, 6)), ((1, 1, 1), (1, 1, 1), (4, 5, 6, 5)),
     ((3, 1, 2), (2, 1, 3), (7, 10, 11, 4)), ((2, 3, 3), (1, 2, 2), (1, 7, 7, 2))],
)  # fmt: skip
def test_fused_conv_implementations_agree_with_a_plain_convolution(kernel, strides, shape):
    rng = np.random.default_rng(2)
    x = rng.uniform(-1, 1, (2, *shape)).astype("float32")
    conv = keras.layers.Conv3D(5, kernel, strides, padding="same", use_bias=True, bias_initializer="random_normal")
    expected = keras.ops.convert_to_numpy(conv(x))
    # "frames" in the backend's layout (auto) and in channels-last, which every backend's CPU takes.
    for implementation, layout in (("conv3d", "auto"), ("frames", "auto"), ("frames", "channels_last")):
        fused = FusedConv3D(5, kernel, strides, activation=None, implementation=implementation, frames_layout=layout)
        fused.build(x.shape)
        fused.set_weights(conv.get_weights())
        got = keras.ops.convert_to_numpy(fused(x))
        assert got.shape == expected.shape == (2, *fused.compute_output_shape(x.shape)[1:])
        np.testing.assert_allclose(got, expected, atol=2e-5, err_msg=f"{implementation} {layout}")


def test_the_frames_layout_is_a_checked_argument_kept_in_the_config():
    layer = FusedConv3D(4, (3, 3, 3), implementation="frames", frames_layout="channels_last")
    assert FusedConv3D.from_config(layer.get_config()).frames_layout == "channels_last"
    assert FusedConv3D(4).frames_layout == "auto"  # configs saved before the argument existed load as auto
    with pytest.raises(ValueError, match="frames_layout"):
        FusedConv3D(4, frames_layout="NCHW")


@pytest.mark.parametrize(
    ("pool", "strides", "padding", "shape"),
    [((3, 3, 3), (1, 1, 1), "same", (5, 7, 6, 3)), ((1, 3, 3), (1, 2, 2), "same", (4, 9, 10, 2)),
     ((3, 3, 3), (2, 2, 2), "same", (7, 11, 9, 2)), ((2, 2, 2), (2, 2, 2), "same", (3, 5, 4, 1)),
     ((2, 3, 2), (1, 2, 2), "valid", (5, 9, 8, 2))],
)  # fmt: skip
def test_separable_max_pooling_is_exactly_max_pooling(pool, strides, padding, shape):
    x = np.random.default_rng(3).normal(size=(2, *shape)).astype("float32") - 5  # all negative: padding must not win
    expected = keras.ops.convert_to_numpy(keras.layers.MaxPooling3D(pool, strides, padding=padding)(x))
    layer = SeparableMaxPooling3D(pool, strides, padding=padding)
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_array_equal(got, expected)
    assert tuple(layer.compute_output_shape(x.shape)) == expected.shape


# Fusing each stream of a nested model is graph surgery in Python; each backend runs fused models above.
@pytest.mark.torch_only
def test_two_stream_model_is_fused_stream_by_stream():
    two = keras_i3d.TwoStreamI3D(rgb_weights=None, flow_weights=None, frames=8, size=64, classes=5)
    _with_random_statistics(two)
    fused = fuse_for_inference(two)
    rng = np.random.default_rng(4)
    x = {
        "rgb": rng.uniform(-1, 1, (1, 8, 64, 64, 3)).astype("float32"),
        "flow": rng.uniform(-1, 1, (1, 8, 64, 64, 2)).astype("float32"),
    }
    assert _relative(fused.predict_on_batch(x), two.predict_on_batch(x)) < 1e-5
    assert [layer.name for layer in fused.layers] == [layer.name for layer in two.layers]
    for stream in fused.layers:
        if isinstance(stream, keras.Model):
            assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in stream.layers)


def test_bfloat16_fused_model_is_close(model):
    fused = fuse_for_inference(model, dtype="bfloat16")
    assert {keras.backend.standardize_dtype(w.dtype) for w in fused.weights} == {"bfloat16"}
    x = np.random.default_rng(5).uniform(-1, 1, (1, 8, 64, 64, 3)).astype("float32")
    out = np.asarray(fused.predict_on_batch(x), np.float32)
    assert 1e-4 < _relative(out, model.predict_on_batch(x)) < 0.05  # really bfloat16, and still close
    mixed = fuse_for_inference(model, dtype="mixed_bfloat16")  # float32 weights, bfloat16 arithmetic
    assert {keras.backend.standardize_dtype(w.dtype) for w in mixed.weights} == {"float32"}
    out = np.asarray(mixed.predict_on_batch(x), np.float32)
    assert 1e-4 < _relative(out, model.predict_on_batch(x)) < 0.05


def test_fuse_refuses_what_it_cannot_rebuild(model):
    with pytest.raises(ValueError, match="implementation"):
        fuse_for_inference(model, "winograd")
    with pytest.raises(ValueError, match="dtype"):
        fuse_for_inference(model, dtype="int8")
    sequential = keras.Sequential([keras.Input((4, 32, 32, 3)), keras.layers.Conv3D(2, 3)])
    with pytest.raises(ValueError, match="functional"):
        fuse_for_inference(sequential)
    with pytest.raises(ValueError, match="implementation"):
        FusedConv3D(4, implementation="fast")
    with pytest.raises(ValueError, match="padding"):
        SeparableMaxPooling3D(padding="causal")


@pytest.mark.backend_independent
def test_fusion_draws_no_random_kernels(model, monkeypatch):
    """Random kernels that fusion overwrites cost JAX a compiled program per shape: 53 s, now 3.7 s."""
    drawn = []
    original = keras.initializers.GlorotUniform.__call__

    def counting(self, *args, **kwargs):
        drawn.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(keras.initializers.GlorotUniform, "__call__", counting)
    fused = fuse_for_inference(model)
    assert drawn == []
    layer = fused.get_layer("Conv3d_1a_7x7")
    assert layer.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"  # the config, as before
    clone = FusedConv3D.from_config(layer.get_config())
    clone.build((None, 4, 32, 32, 3))
    assert len(drawn) == 1  # a layer built from the config alone does draw them
