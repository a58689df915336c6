"""Converter: synthetic checkpoints with upstream's exact layouts, and failures."""

import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d import checkpoints
from keras_i3d._files import sha256_file
from keras_i3d.model import scope_to_layer_name
from tests import helpers

OTHER_CHECKPOINTS = {  # source -> preset
    "rgb_imagenet": "kinetics400_rgb_imagenet",
    "flow_scratch": "kinetics400_flow",
    "flow_imagenet": "kinetics400_flow_imagenet",
    "rgb_scratch_kin600": "kinetics600_rgb",
}
_ATTR = {"w": "kernel", "b": "bias", "beta": "beta", "moving_mean": "moving_mean", "moving_variance": "moving_variance"}


def _model_value(model, checkpoint_name):
    relative = checkpoint_name.split("inception_i3d/")[-1]
    scope, var = relative.rsplit("/", 1)
    layer = model.get_layer(scope_to_layer_name(scope))
    return keras.ops.convert_to_numpy(getattr(layer, _ATTR[var]))


@pytest.mark.parametrize("source", sorted(OTHER_CHECKPOINTS))
def test_upstream_layouts_convert_and_land_by_name(tmp_path, source):
    layout = helpers.checkpoint_layout(source)
    values = helpers.write_synthetic_checkpoint(tmp_path / source / "model.ckpt", layout)
    preset = keras_i3d.get_preset(OTHER_CHECKPOINTS[source])
    output = tmp_path / "out.weights.h5"
    digest = checkpoints.convert_checkpoint(tmp_path / source / "model.ckpt", output, preset=preset.name)
    assert (tmp_path / "out.weights.h5.sha256").read_text().split()[0] == digest
    model = keras_i3d.I3D(weights=str(output), classes=preset.classes, classifier_activation=None)
    model_vars = {n: v for n, v in values.items() if not n.endswith("/Momentum")}
    assert len(model_vars) == 230  # 58 conv kernels + 57 x 3 BN + logits bias
    for name, value in model_vars.items():
        np.testing.assert_array_equal(
            _model_value(model, name), value.reshape(_model_value(model, name).shape), err_msg=name
        )
    assert tuple(model.input.shape)[-1] == preset.channels


def test_wrong_stream_is_refused(tmp_path):
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", helpers.checkpoint_layout("flow_scratch"))
    with pytest.raises(checkpoints.ConversionError, match="flow checkpoint .* rgb preset"):
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5", preset="kinetics400_rgb")
    assert not list(tmp_path.glob("*.weights.h5*"))


def test_wrong_classes_are_refused(tmp_path):
    layout = helpers.checkpoint_layout("rgb_scratch_kin600")
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", layout)
    with pytest.raises(checkpoints.ConversionError, match="600 classes"):
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5", preset="kinetics400_rgb")


def test_missing_and_unknown_variables_are_listed(tmp_path):
    layout = helpers.checkpoint_layout("rgb_imagenet")
    layout.pop("RGB/inception_i3d/Mixed_4c/Branch_1/Conv3d_0b_3x3/conv_3d/w")
    layout["RGB/inception_i3d/Mixed_9z/Branch_0/Conv3d_0a_1x1/conv_3d/w"] = ([1, 1, 1, 4, 4], "float32")
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", layout)
    with pytest.raises(checkpoints.ConversionError) as info:
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5")
    message = str(info.value)
    assert "Mixed_9z/Branch_0/Conv3d_0a_1x1/conv_3d/w" in message
    assert "Mixed_4c_Branch_1_Conv3d_0b_3x3_conv_3d/kernel" in message
    assert not (tmp_path / "x.weights.h5").exists()


def test_shape_mismatch_is_listed(tmp_path):
    layout = helpers.checkpoint_layout("rgb_imagenet")
    layout["RGB/inception_i3d/Mixed_3b/Branch_0/Conv3d_0a_1x1/conv_3d/w"] = ([1, 1, 1, 192, 65], "float32")
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", layout)
    with pytest.raises(checkpoints.ConversionError, match="shape mismatches"):
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5")


def test_missing_checkpoint_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        checkpoints.read_checkpoint(tmp_path / "model.ckpt")
    index_only = helpers.data_dir() / "checkpoints" / "flow_scratch" / "model.ckpt"
    with pytest.raises(FileNotFoundError, match="no data file"):
        checkpoints.read_checkpoint(index_only)


def test_real_checkpoint_reads_and_ignores_nothing():
    ckpt = checkpoints.read_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", progress=False)
    assert ckpt.scope == "RGB" and ckpt.stream == "rgb" and ckpt.classes == 400
    assert len(ckpt.tensors) == 230 and ckpt.ignored == []


def test_output_name_must_be_keras_weights(tmp_path):
    with pytest.raises(ValueError, match=".weights.h5"):
        checkpoints.convert_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", tmp_path / "x.h5")


def test_weights_conversion_tool_checks_parity(tmp_path):
    data = helpers.data_dir()
    out = tmp_path / "k400.weights.h5"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "weights_conversion",
            "--checkpoint",
            str(data / "checkpoints" / "rgb_scratch" / "model.ckpt"),
            "--preset",
            "kinetics400_rgb",
            "--output",
            str(out),
            "--data-dir",
            str(data),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "playing cricket" in result.stdout and "max abs diff vs reference" in result.stdout
    assert f"sha256 {sha256_file(out)}" in result.stdout


def test_cli_convert_alias_rejects_wrong_stream(tmp_path):
    from keras_i3d import cli

    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", helpers.checkpoint_layout("flow_imagenet"))
    output = tmp_path / "x.weights.h5"

    def convert(preset):
        return cli.main(["convert", "--checkpoint", str(tmp_path / "model.ckpt"), "--output", str(output),
                         "--preset", preset])  # fmt: skip

    assert convert("kinetics400_rgb_imagenet") == 2 and not output.exists()
    assert convert("kinetics400_flow_imagenet") == 0 and output.exists()
