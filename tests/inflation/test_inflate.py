"""keras_i3d.inflate: 2D Keras CNNs to 3D, Inception-v1 to exactly I3D, inflated weights files."""

import functools
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d import InceptionV1, InflationError, inflate, inflate_kernel, load_inflated, save_inflated_weights
from keras_i3d.errors import WeightsError
from keras_i3d.inflation.inflate import I3D_TIME_KERNELS, I3D_TIME_STRIDES, i3d_differences
from keras_i3d.inflation.layers import TimeSameAveragePooling3D, TimeSameConv3D, TimeSameMaxPooling3D
from keras_i3d.model.architecture import VALID_ENDPOINTS
from keras_i3d.weights.checkpoints import assign_checkpoint, read_checkpoint
from tests.support import EXAMPLES_DIR, helpers

L = keras.layers


def _numpy(x):
    return keras.ops.convert_to_numpy(x)


def _clip(frames=8, size=32, channels=3, batch=1, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, frames, size, size, channels)).astype("float32")


@pytest.fixture(scope="module")
def inception():
    """A random 2D Inception-v1 (400 classes, random batch norm) and its inflation."""
    model_2d = InceptionV1(classes=400, classifier_activation=None, input_shape=(32, 32, 3))
    helpers.randomize_batch_norm(model_2d)
    return model_2d, inflate(model_2d)


# Tests marked "backend-independent subject" run on PyTorch only (the quickest backend; CI budget): their
# subject is the NumPy weight mapping and the inflation rules, the same on every backend; each backend
# builds and runs inflated models in test_inflated_inception_contract, the MobileNetV3Small case and the
# layer zoo below.


# -- kernels ------------------------------------------------------------------


def test_inflate_kernel_repeats_and_divides():
    kernel = np.random.default_rng(0).standard_normal((3, 3, 2, 4)).astype("float32")
    inflated = inflate_kernel(kernel, 5)
    assert inflated.shape == (5, 3, 3, 2, 4) and inflated.dtype == np.float32
    for t in range(5):
        np.testing.assert_allclose(inflated[t], kernel / 5, rtol=1e-7)
    np.testing.assert_allclose(inflated.sum(axis=0), kernel, rtol=1e-6)
    np.testing.assert_array_equal(inflate_kernel(kernel, 1)[0], kernel)
    for bad in (0, -1, 2.0, True):
        with pytest.raises(InflationError, match="time_size"):
            inflate_kernel(kernel, bad)


# -- Inception-v1 -> I3D ---------------------------------------------------------


@pytest.mark.torch_only  # backend-independent subject (see the note above)
def test_inception_v1_inflates_to_exactly_i3d_and_loads_into_it(inception, tmp_path):
    _, model_3d = inception
    assert i3d_differences(model_3d) == []
    build = functools.partial(keras_i3d.I3D, classes=400, classifier_activation=None, input_shape=(None, 32, 32, 3))
    helpers.run_weights_file_test(model_3d, build, tmp_path, save=save_inflated_weights)
    config = json.loads((tmp_path / "model.config.json").read_text())
    assert (config["architecture"], config["channels"], config["classes"], config["stream"]) == ("i3d", 3, 400, "rgb")
    assert config["inflation"]["source"] == "inception_v1"
    reference = build(weights=str(tmp_path / "model.weights.h5"))
    # The same layers in the same order (I3D adds only its input check), the same weights, the same function.
    assert [layer.name for layer in model_3d.layers] == [
        layer.name for layer in reference.layers if layer.name != "clip_shape_check"
    ]
    assert [(w.path, tuple(w.shape)) for w in model_3d.weights] == [(w.path, tuple(w.shape)) for w in reference.weights]
    for endpoint in VALID_ENDPOINTS[:-1]:
        assert type(model_3d.get_layer(endpoint)) is type(reference.get_layer(endpoint)), endpoint
        assert model_3d.get_layer(endpoint).output.shape == reference.get_layer(endpoint).output.shape, endpoint
    x = _clip(16)
    np.testing.assert_allclose(_numpy(reference(x)), _numpy(model_3d(x)), rtol=1e-6, atol=1e-6)
    # DeepMind's time geometry, as recorded and as built.
    assert model_3d.inflation.time_strides["Conv3d_1a_7x7_conv_3d"] == 2
    assert model_3d.inflation.time_kernels["MaxPool3d_2a_3x3"] == 1
    assert model_3d.inflation.time_kernels["Logits_avg_pool"] == 2
    assert model_3d.get_layer("MaxPool3d_5a_2x2").pool_size == (2, 2, 2)
    assert {k: v for k, v in I3D_TIME_STRIDES.items() if v != 1} == {
        "Conv3d_1a_7x7_conv_3d": 2,
        "MaxPool3d_4a_3x3": 2,
        "MaxPool3d_5a_2x2": 2,
    }
    assert set(I3D_TIME_KERNELS) == set(model_3d.inflation.time_kernels)


@pytest.mark.torch_only  # backend-independent subject (see the note above)
def test_i3d_differences_notice_another_geometry(inception):
    model_2d, _ = inception
    other = inflate(model_2d, time_strides={"MaxPool3d_2a_3x3": 2})
    assert i3d_differences(other) == ["MaxPool3d_2a_3x3: strides (2, 2, 2), not (1, 2, 2)"]
    resnet = inflate(keras.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3)))
    assert i3d_differences(resnet) == [f"{resnet.name!r} has no layer 'Conv3d_1a_7x7_conv_3d'."]


@pytest.mark.requires_data
def test_inflated_inception_has_upstream_rgb_imagenet_layout(inception, tmp_path):
    # DeepMind's rgb_imagenet checkpoint is I3D inflated from ImageNet Inception-v1: every one of its
    # variables (names and shapes from the real index) has its weight here, and nothing is left over.
    _, model_3d = inception
    saved = model_3d.get_weights()  # the fixture is shared: put its weights back afterwards
    try:
        values = helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", helpers.checkpoint_layout("rgb_imagenet"))
        assign_checkpoint(model_3d, read_checkpoint(tmp_path / "model.ckpt", progress=False))
        kernel = values["RGB/inception_i3d/Mixed_5b/Branch_2/Conv3d_0a_3x3/conv_3d/w"]
        layer = model_3d.get_layer("Mixed_5b_Branch_2_Conv3d_0a_3x3_conv_3d")
        np.testing.assert_array_equal(_numpy(layer.kernel), kernel)
    finally:
        model_3d.set_weights(saved)


@pytest.mark.torch_only  # backend-independent subject (see the note above)
@pytest.mark.requires_data
@pytest.mark.large
def test_inflated_inception_with_rgb_scratch_reproduces_the_reference_logits():
    model_3d = inflate(InceptionV1(classes=400, classifier_activation=None))
    assign_checkpoint(model_3d, read_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", progress=False))
    logits = _numpy(model_3d.predict_on_batch(helpers.reference_input()))
    assert np.abs(logits[0] - helpers.reference_logits()).max() <= 1e-4


# -- the model contract -------------------------------------------------------------


# Not on JAX (CI budget: its eager call compiles op by op, ~35 s): JAX runs inflated models compiled in the
# MobileNetV3Small case and the layer zoo below, and I3D's (the same network's) eager contract.
@pytest.mark.tf_only
@pytest.mark.torch_only
def test_inflated_inception_contract(inception, tmp_path):
    _, model_3d = inception
    endpoints = {"Conv3d_1a_7x7": (None, 16, 16, 64), "Mixed_4f": (None, 2, 2, 832), "Mixed_5c": (None, 1, 1, 1024)}
    helpers.run_model_test(model_3d, (8, 32, 32, 3), (400,), tmp_path, endpoints=endpoints, atol=1e-4)


def _load_inflated(weights):
    return load_inflated(weights)


@pytest.mark.torch_only  # backend-independent subject (see the note above)
def test_inflated_resnet50_contract(tmp_path):
    model_2d = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)
    helpers.randomize_batch_norm(model_2d)
    model_3d = inflate(model_2d)
    assert isinstance(model_3d.get_layer("conv1_conv"), TimeSameConv3D)  # ZeroPadding2D + VALID 7x7
    assert model_3d.get_layer("conv1_conv").kernel_size == (7, 7, 7)
    assert model_3d.get_layer("conv1_pad").padding == ((0, 0), (3, 3), (3, 3))
    assert model_3d.get_layer("conv2_block1_2_conv").kernel_size == (3, 3, 3)
    assert model_3d.get_layer("conv2_block1_1_conv").kernel_size == (1, 1, 1)
    assert model_3d.get_layer("pool1_pool").pool_size == (1, 3, 3)
    assert model_3d.get_layer("conv1_bn").axis == 4
    endpoints = {"conv1_relu": (None, 16, 16, 64), "conv5_block3_out": (None, 1, 1, 2048), "avg_pool": (2048,)}
    helpers.run_model_test(model_3d, (4, 32, 32, 3), (10,), tmp_path, endpoints=endpoints, atol=1e-5)
    helpers.run_weights_file_test(model_3d, _load_inflated, tmp_path, save=save_inflated_weights)


def test_every_kernel_is_the_2d_kernel_inflated(inception):
    model_2d, model_3d = inception
    for layer in model_2d.layers:
        if isinstance(layer, L.Conv2D):
            inflated = _numpy(model_3d.get_layer(layer.name).kernel)
            expected = inflate_kernel(_numpy(layer.kernel), model_3d.inflation.time_kernels[layer.name])
            np.testing.assert_array_equal(inflated, expected, err_msg=layer.name)
        elif isinstance(layer, L.BatchNormalization):
            for a, b in zip(layer.weights, model_3d.get_layer(layer.name).weights, strict=True):
                np.testing.assert_array_equal(_numpy(a), _numpy(b))


# -- every supported layer ---------------------------------------------------------


def layer_zoo() -> keras.Model:
    """A 2D model of (almost) every layer `inflate` supports; the squeeze-excite block comes last."""
    inputs = keras.Input((24, 24, 3), name="image")
    x = L.Rescaling(0.5, offset=0.1, name="rescale")(inputs)
    x = L.ZeroPadding2D(1, name="pad")(x)
    x = L.Conv2D(8, 3, strides=2, padding="valid", name="stem")(x)
    x = L.BatchNormalization(axis=3, name="stem_bn")(x)
    x = L.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.Constant(0.2), name="stem_prelu")(x)
    a = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise")(x)
    a = L.ReLU(6.0, name="depthwise_relu")(a)
    a = L.Conv2D(8, 1, name="pointwise")(a)
    b = L.Conv2D(8, 3, dilation_rate=2, padding="same", use_bias=False, name="dilated")(x)
    b = L.LeakyReLU(0.1, name="leaky")(b)
    x = L.Add(name="add")([x, a])
    x = L.Concatenate(axis=3, name="concat")([x, b])
    x = L.LayerNormalization(axis=-1, name="ln")(x)
    m = L.MaxPooling2D(3, strides=1, padding="valid", name="max_valid")(x)
    v = L.AveragePooling2D(3, strides=1, padding="valid", name="avg_valid")(x)
    x = L.Subtract(name="subtract")([m, v])
    x = L.UpSampling2D(2, name="up")(x)
    x = L.Cropping2D(((1, 1), (2, 2)), name="crop")(x)
    x = L.SpatialDropout2D(0.1, name="spatial_dropout")(x)
    x = L.AveragePooling2D(2, padding="same", name="avg_same")(x)
    x = L.Conv2D(16, (1, 3), padding="same", activation="elu", name="factorised")(x)
    se = L.GlobalAveragePooling2D(name="se_pool")(x)
    se = L.Dense(4, activation="relu", name="se_reduce")(se)
    se = L.Dense(16, activation="sigmoid", name="se_expand")(se)
    se = L.Reshape((1, 1, 16), name="se_reshape")(se)
    x = L.Multiply(name="se_scale")([x, se])
    x = L.GlobalMaxPooling2D(name="global_max")(x)
    x = L.Dropout(0.2, name="dropout")(x)
    x = L.Dense(5, name="head")(x)
    outputs = L.Softmax(name="softmax")(x)
    model = keras.Model(inputs, outputs, name="zoo")
    helpers.randomize_batch_norm(model)
    return model


def test_layer_zoo_inflates_and_passes_the_boring_video_check(tmp_path):
    model_2d = layer_zoo()
    model_3d = inflate(model_2d, time_kernels={"max_valid": 3, "avg_valid": 3}, time_strides={"stem": 2})
    assert isinstance(model_3d.get_layer("stem"), TimeSameConv3D)
    assert isinstance(model_3d.get_layer("max_valid"), TimeSameMaxPooling3D)
    assert isinstance(model_3d.get_layer("avg_valid"), TimeSameAveragePooling3D)
    depthwise = model_3d.get_layer("depthwise")
    assert type(depthwise) is L.Conv3D and depthwise.groups == 8 and depthwise.filters == 16
    assert model_3d.get_layer("factorised").kernel_size == (1, 1, 3)
    assert model_3d.get_layer("se_reshape").target_shape == (1, 1, 1, 16)
    assert model_3d.get_layer("concat").axis == 4 and model_3d.get_layer("ln").axis == [-1]
    report = keras_i3d.boring_video_check(
        model_2d, model_3d, np.random.default_rng(1).uniform(-1, 1, (2, 24, 24, 3)), 12
    )
    assert report.passed, report.summary()
    compared = {c.name: c.frames for c in report.compared}
    # 12 frames -> 6 after the stem's time stride 2; TF SAME pads 0 frames before and 1 after: the last is affected.
    assert compared["stem"] == range(0, 5)
    assert compared["depthwise"] == range(1, 4)  # a SAME time kernel of 3 takes one more frame off each end
    # The pools' windows leave padding out, but take in the affected frames 0 and 4 beside 1 and 3.
    assert compared["max_valid"] == compared["avg_valid"] == range(2, 3)
    assert "se_scale" not in compared  # the squeeze pools every frame, affected ones too
    helpers.run_model_test(model_3d, (6, 24, 24, 3), (5,), tmp_path, atol=1e-5)


def test_time_kernels_of_one_leave_every_frame_unaffected():
    model_2d = layer_zoo()
    model_3d = inflate(model_2d, time_kernels=lambda layer: 1)
    report = keras_i3d.boring_video_check(
        model_2d, model_3d, np.random.default_rng(2).uniform(-1, 1, (2, 24, 24, 3)), 5
    )
    assert report.uncompared == [] and report.passed, report.summary()
    assert report.layers[-1].name == "softmax" and report.layers[-1].max_abs_diff < 1e-6


def test_sequential_with_flatten_needs_frames_and_tiles_the_dense_kernel():
    model_2d = keras.Sequential(
        [
            keras.Input((12, 12, 3)),
            L.Conv2D(4, 3, padding="same", name="conv"),
            L.MaxPooling2D(2, name="pool"),
            L.Flatten(name="flatten"),
            L.Dense(6, activation="relu", name="fc"),
            L.Dense(3, name="out"),
        ],
        name="vgg_like",
    )
    with pytest.raises(InflationError, match=r"'flatten' \(Flatten\).*pass `frames=`"):
        inflate(model_2d)
    model_3d = inflate(model_2d, frames=4, time_kernels={"conv": 1})
    assert isinstance(model_3d, keras.Model) and not isinstance(model_3d, keras.Sequential)
    assert tuple(model_3d.get_layer("fc").kernel.shape) == (4 * 6 * 6 * 4, 6)
    report = keras_i3d.boring_video_check(model_2d, model_3d, np.random.default_rng(3).uniform(-1, 1, (2, 12, 12, 3)))
    assert report.uncompared == [] and report.passed, report.summary()
    # With a time kernel of 3 the flattened frames include padded ones: the head is not comparable.
    report = keras_i3d.boring_video_check(model_2d, inflate(model_2d, frames=4), np.ones((1, 12, 12, 3)))
    assert report.uncompared == ["fc", "out"]


def test_nested_models_inflate_whole():
    inner = keras.Sequential(
        [keras.Input((16, 16, 4)), L.Conv2D(4, 3, padding="same", name="inner_conv")], name="inner"
    )
    inputs = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, padding="same", name="outer_conv")(inputs)
    x = inner(x)
    outputs = L.GlobalAveragePooling2D(name="gap")(x)
    model_2d = keras.Model(inputs, outputs, name="outer")
    model_3d = inflate(model_2d, time_kernels={"inner_conv": 5})
    assert model_3d.get_layer("inner").get_layer("inner_conv").kernel_size == (5, 3, 3)
    assert model_3d.inflation.time_kernels == {"outer_conv": 3, "inner/inner_conv": 5}
    report = keras_i3d.boring_video_check(
        model_2d, model_3d, np.random.default_rng(4).uniform(-1, 1, (1, 16, 16, 3)), 9
    )
    assert report.passed and [c.name for c in report.compared] == ["outer_conv", "inner/inner_conv", "inner"]
    assert report.compared[1].frames == report.compared[2].frames == range(3, 6)


# -- choices and errors --------------------------------------------------------------


@pytest.mark.torch_only  # backend-independent subject (see the note above)
def test_default_time_kernels_and_strides():
    model_3d = inflate(keras.applications.MobileNetV2(weights=None, alpha=0.35, input_shape=(32, 32, 3)))
    kernels = model_3d.inflation.time_kernels
    assert kernels["Conv1"] == 3 and kernels["expanded_conv_depthwise"] == 3 and kernels["block_1_expand"] == 1
    assert set(model_3d.inflation.time_strides.values()) == {1}
    assert model_3d.inflation.frames is None and model_3d.input.shape == (None, None, 32, 32, 3)


def test_policies_by_dict_and_function():
    model_2d = layer_zoo()
    model_3d = inflate(
        model_2d, time_kernels={"pointwise": 3}, time_strides=lambda layer: 2 if layer.name == "stem" else None
    )
    assert model_3d.get_layer("pointwise").kernel_size == (3, 1, 1)
    assert model_3d.get_layer("stem").strides == (2, 2, 2) and model_3d.get_layer("dilated").strides == (1, 1, 1)
    assert model_3d.inflation.time_kernels["stem"] == 3  # the default still applies to the others
    assert inflate(model_2d, frames=7).input.shape == (None, 7, 24, 24, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_kernels": {"nope": 3, "stem": 3}}, r"not convolutions or pools of 'zoo': \['nope'\]"),
        ({"time_kernels": {"head": 3}}, r"\['head'\]"),
        ({"time_kernels": {"stem": 0}}, r"time_kernels\['stem'\].*positive int; got 0"),
        ({"time_strides": lambda layer: 1.5}, r"time_strides\('.*'\).*got 1.5"),
        ({"time_kernels": 3}, "must be None, a dict of layer names or a function; got int"),
        ({"frames": 0}, "`frames` must be a positive int; got 0"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InflationError, match=match):
        inflate(layer_zoo(), **kwargs)


def _one_layer_model(layer, shape=(16, 16, 3)):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs), name="one")


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (
            L.SeparableConv2D(4, 3, name="sep"),
            r"'sep' \(SeparableConv2D\): it has no 3D counterpart.*Supported layers:",
        ),
        (L.Lambda(lambda x: x * 2, name="double"), r"'double' \(Lambda\)"),
        (L.UpSampling2D(2, interpolation="bilinear", name="up"), "only nearest interpolation"),
        (L.PReLU(name="prelu"), r"shares its slopes over height and width; shared_axes=\[\]"),
        (L.Reshape((48, 16), name="tokens"), r"'tokens' \(Reshape\).*no frame-by-frame meaning"),
        (L.Conv2D(4, 3, data_format="channels_first", name="cf"), "only channels_last models inflate"),
    ],
)
def test_layers_that_cannot_inflate_are_named(layer, match):
    with pytest.raises(InflationError, match=match):
        inflate(_one_layer_model(layer))


def test_models_that_cannot_inflate():
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(InflationError, match="subclassed Subclassed"):
        inflate(Subclassed())
    with pytest.raises(InflationError, match="takes a Keras model; got Conv2D"):
        inflate(L.Conv2D(2, 3))
    with pytest.raises(InflationError, match="has no input yet"):
        inflate(keras.Sequential([L.Conv2D(2, 3)]))


# -- weights files -----------------------------------------------------------------------


def test_inflated_weights_file_carries_the_architecture(tmp_path):
    model_3d = inflate(layer_zoo(), frames=6, time_kernels={"max_valid": 3})
    path = tmp_path / "zoo3d.weights.h5"
    config = save_inflated_weights(model_3d, path)
    assert config["architecture"] == "inflated" and config["classes"] is None and config["channels"] == 3
    assert config["inflation"]["frames"] == 6 and config["inflation"]["time_kernels"]["max_valid"] == 3
    assert (tmp_path / "zoo3d.config.json").is_file() and (tmp_path / "zoo3d.weights.h5.sha256").is_file()
    again = load_inflated(path)
    assert again.inflation == model_3d.inflation
    assert isinstance(again.get_layer("max_valid"), TimeSameMaxPooling3D)
    x = _clip(6, 24, batch=2)
    np.testing.assert_allclose(_numpy(again(x)), _numpy(model_3d(x)), atol=1e-7)
    with pytest.raises(WeightsError, match=r"'inflated' weights, not I3D.*keras_i3d.load_inflated"):
        keras_i3d.I3D(weights=str(path))


def test_load_inflated_verifies(tmp_path):
    model_3d = inflate(layer_zoo())
    path = tmp_path / "zoo.weights.h5"
    save_inflated_weights(model_3d, path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="does not match its sidecar"):
        load_inflated(path)
    plain = tmp_path / "plain.weights.h5"
    model_3d.save_weights(plain)
    with pytest.raises(WeightsError, match="no config JSON with a model architecture"):
        load_inflated(plain)
    with pytest.raises(WeightsError, match="does not exist"):
        load_inflated(tmp_path / "missing.weights.h5")
    with pytest.raises(ValueError, match="must end in '.weights.h5'"):
        save_inflated_weights(model_3d, tmp_path / "zoo.h5")
    assert not (tmp_path / "zoo.h5").exists()


def test_shared_layers_stay_shared():
    conv = L.Conv2D(3, 3, padding="same", name="shared")
    inputs = keras.Input((8, 8, 3))
    outputs = L.Add(name="add")([conv(inputs), conv(conv(inputs))])
    model_2d = keras.Model(inputs, outputs)
    model_3d = inflate(model_2d)
    assert len(model_3d.weights) == 2 and model_3d.get_layer("shared").kernel.shape == (3, 3, 3, 3, 3)
    report = keras_i3d.boring_video_check(model_2d, model_3d, np.random.default_rng(5).uniform(-1, 1, (1, 8, 8, 3)), 7)
    assert report.passed and [c.name for c in report.compared] == ["shared", "add"]


# A script in a subprocess on PyTorch, where it is fastest, whatever the run's backend: run once
# (its steps are tested per backend).
@pytest.mark.backend_independent
@pytest.mark.large
def test_the_example_runs(tmp_path):
    script = EXAMPLES_DIR / "inflate_resnet50.py"
    args = ["--weights", "none", "--size", "32", "--frames", "4", "--epochs", "1"]
    args += ["--train-per-class", "2", "--val-per-class", "1", "--workers", "1", "--out", str(tmp_path)]
    command = [sys.executable, str(script), *args]
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=900, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "inflated resnet50: 54 convolutions and pools, time kernels [1, 3, 7]" in result.stdout
    assert "174 of 174 layers compared, all within 1e-05" in result.stdout
    assert "validation accuracy per epoch: " in result.stdout
    assert load_inflated(tmp_path / "resnet50_3d_motion.weights.h5").inflation.source == "resnet50"


@pytest.mark.large
@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("MobileNetV3Small", 32),
        # The inflation rules are the same on every backend (NumPy kernels, keras.ops layers); MobileNetV3Small
        # checks each backend's run, these two the rules for their layers, once (CI budget).
        pytest.param("EfficientNetB0", 32, marks=pytest.mark.backend_independent),
        pytest.param("InceptionV3", 139, marks=pytest.mark.backend_independent),
    ],
)
def test_keras_applications_inflate_exactly_with_time_kernels_of_one(name, size):
    # With time kernels of 1 nothing is padded in time, so every layer of the whole network (squeeze-excite
    # blocks, keras.ops additions such as MobileNetV3's hard sigmoid, the classifier) must equal the 2D one.
    # (InceptionV3 at 139, not its minimum 75: Keras' AveragePooling3D with SAME padding fails on PyTorch
    # when a map is smaller than the window, 1x1 against 3x3 at 75; its AveragePooling2D does not.)
    model_2d = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), classes=10)
    helpers.randomize_batch_norm(model_2d)
    model_3d = inflate(model_2d, time_kernels=lambda layer: 1, frames=2)
    images = np.random.default_rng(6).uniform(0, 255, (1, size, size, 3))
    report = keras_i3d.boring_video_check(model_2d, model_3d, images)
    assert report.uncompared == [] and report.passed, report.summary()


def test_elementwise_keras_ops_inflate_and_others_are_named():
    inputs = keras.Input((8, 8, 3))
    x = L.Conv2D(3, 3, padding="same", name="conv")(inputs)
    model_2d = keras.Model(inputs, keras.ops.relu6(x + 3.0) / 6.0)  # MobileNetV3's hard sigmoid, as ops
    model_3d = inflate(model_2d)
    report = keras_i3d.boring_video_check(model_2d, model_3d, np.random.default_rng(7).uniform(-1, 1, (1, 8, 8, 3)), 5)
    # The operations are compared too: elementwise, they keep every frame that reaches them unaffected.
    assert report.passed and len(report.compared) == 4 and report.compared[0].name == "conv"
    assert {c.frames for c in report.compared} == {range(1, 4)}
    assert model_3d.output.shape == (None, None, 8, 8, 3)
    transposed = keras.Model(inputs, keras.ops.transpose(x, (0, 2, 1, 3)))
    with pytest.raises(InflationError, match=r"Cannot inflate operation '.*' \(Transpose\): only elementwise"):
        inflate(transposed)


def test_load_inflated_refuses_a_config_it_cannot_rebuild(tmp_path):
    path = tmp_path / "zoo.weights.h5"
    save_inflated_weights(inflate(layer_zoo()), path)
    config_file = tmp_path / "zoo.config.json"
    config = json.loads(config_file.read_text())
    config["keras_model"]["config"]["layers"][3].update(
        class_name="NoSuchLayer", registered_name="keras_i3d>NoSuchLayer"
    )
    config_file.write_text(json.dumps(config))
    with pytest.raises(WeightsError, match="Cannot rebuild the model described beside"):
        load_inflated(path)
