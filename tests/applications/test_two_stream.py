"""TwoStreamI3D (RGB + flow, logits summed) and the flow presets."""

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d import I3D, TwoStreamI3D
from keras_i3d.errors import InputError
from tests.support import helpers

SHAPES = {"rgb": (6, 64, 64, 3), "flow": (4, 64, 64, 2)}


@pytest.fixture(scope="module")
def small_two_stream():
    keras.utils.set_random_seed(1)
    return TwoStreamI3D(rgb_weights=None, flow_weights=None, classes=7, classifier_activation=None, size=64)


# The streams' sum is one Add: checked on JAX, compiled, where the contract below does not run (CI budget);
# TensorFlow and PyTorch run the two-stream model in the contract.
@pytest.mark.jax_only
def test_logits_are_the_sum_of_the_streams(small_two_stream):
    rng = np.random.default_rng(0)
    x = {name: rng.uniform(-1, 1, (2, *shape)).astype("float32") for name, shape in SHAPES.items()}
    joint = np.asarray(small_two_stream.predict(x, verbose=0))
    rgb = np.asarray(small_two_stream.get_layer("RGB").predict(x["rgb"], verbose=0))
    flow = np.asarray(small_two_stream.get_layer("Flow").predict(x["flow"], verbose=0))
    assert joint.shape == (2, 7)
    np.testing.assert_allclose(joint, rgb + flow, rtol=1e-5, atol=1e-5)
    assert np.abs(rgb).max() > 1e-3 and np.abs(flow).max() > 1e-3  # both streams contribute


# Not on JAX (CI budget: its eager call compiles both streams op by op, ~45 s): JAX runs the two-stream model
# compiled in test_logits_are_the_sum_of_the_streams above, and I3D's eager contract.
@pytest.mark.tf_only
@pytest.mark.torch_only
def test_softmax_head_and_the_model_contract(tmp_path):
    model = TwoStreamI3D(rgb_weights=None, flow_weights=None, classes=5, size=64)
    assert [layer.name for layer in model.layers] == ["rgb", "flow", "RGB", "Flow", "Logits", "Predictions"]
    helpers.run_model_test(model, SHAPES, (5,), tmp_path, batch_size=1)
    restored = keras_i3d.load_model(tmp_path / "model.keras")
    assert isinstance(restored, keras_i3d.I3DModel) and set(restored.clip_shape) == {"rgb", "flow"}


def test_stream_names_follow_deepmind_scopes(small_two_stream):
    rgb, flow = small_two_stream.get_layer("RGB"), small_two_stream.get_layer("Flow")
    assert rgb.inputs[0].shape[-1] == 3 and flow.inputs[0].shape[-1] == 2
    assert "Mixed_5b" in {layer.name for layer in flow.layers}


@pytest.mark.parametrize(
    "x,match",
    [
        (np.zeros((1, 6, 64, 64, 3), "float32"), "takes a dict of clips with keys 'rgb', 'flow'"),
        ({"rgb": np.zeros((1, 6, 64, 64, 3), "float32")}, "got keys \\['rgb'\\]"),
        ({"rgb": np.zeros((1, 6, 64, 64, 3), "float32"), "flow": np.zeros((1, 6, 64, 64, 3), "float32")},
         "'flow' input: The model takes 2 input channels"),
        ({"rgb": np.zeros((1, 6, 32, 32, 3), "float32"), "flow": np.zeros((1, 6, 64, 64, 2), "float32")},
         "'rgb' input: .*64 x 64"),
        ({"rgb": np.zeros((2, 6, 64, 64, 3), "float32"), "flow": np.zeros((1, 6, 64, 64, 2), "float32")},
         "batch sizes differ"),
    ],
)  # fmt: skip
def test_bad_inputs_name_the_stream(small_two_stream, x, match):
    with pytest.raises(InputError, match=match):
        small_two_stream.predict(x, verbose=0)


def test_presets_must_agree_on_classes():
    with pytest.raises(ValueError, match="different numbers of classes"):
        TwoStreamI3D(rgb_weights="kinetics600_rgb", flow_weights="kinetics400_flow")


@pytest.mark.requires_data
@pytest.mark.parametrize(
    "preset,source", [("kinetics400_flow", "flow_scratch"), ("kinetics400_flow_imagenet", "flow_imagenet")]
)
def test_flow_presets_load_from_a_synthetic_checkpoint(tmp_path, monkeypatch, preset, source):
    """The flow checkpoints' data is not here: a checkpoint with their exact names and shapes stands in."""
    data = tmp_path / "data"
    values = helpers.write_synthetic_checkpoint(
        data / "checkpoints" / source / "model.ckpt", helpers.checkpoint_layout(source)
    )
    (data / "v_CricketShot_g04_c01_flow.gif").symlink_to(helpers.data_dir() / "v_CricketShot_g04_c01_flow.gif")
    monkeypatch.setenv("KINETICS_I3D_DATA", str(data))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    model = I3D(weights=preset, classifier_activation=None)
    assert model.inputs[0].shape[-1] == 2
    kernel = keras.ops.convert_to_numpy(model.get_layer("Conv3d_1a_7x7_conv_3d").kernel)
    (name,) = [n for n in values if n.endswith("Conv3d_1a_7x7/conv_3d/w")]
    np.testing.assert_array_equal(kernel, values[name])
    assert (tmp_path / "kh" / "models").exists() or list((tmp_path / "kh").rglob(f"{preset}*.weights.h5"))
    joint = TwoStreamI3D(rgb_weights=None, flow_weights=preset, classifier_activation=None)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(joint.get_layer("Flow").get_layer("Conv3d_1a_7x7_conv_3d").kernel), kernel
    )
