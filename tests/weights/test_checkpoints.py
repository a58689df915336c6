"""Converter: synthetic checkpoints with upstream's exact layouts, and failures."""

import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.errors import CheckpointError, ConversionError
from keras_i3d.model.architecture import scope_to_layer_name
from keras_i3d.utils.files import sha256_file
from keras_i3d.weights import checkpoints
from keras_i3d.weights.files import config_path, describe_weights_file
from tests.support import blocking, helpers

pytestmark = pytest.mark.requires_data

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
    result = checkpoints.convert_checkpoint(tmp_path / source / "model.ckpt", output, preset=preset.name)
    assert (tmp_path / "out.weights.h5.sha256").read_text().split()[0] == result.sha256 == sha256_file(output)
    info = describe_weights_file(output)
    assert info.from_config and (info.channels, info.classes, info.source) == (preset.channels, preset.classes, source)
    assert info.weights_digest == result.weights_digest and result.registered is None
    model = keras_i3d.I3D(weights=str(output), classes=preset.classes, classifier_activation=None)
    model_vars = {n: v for n, v in values.items() if not n.endswith("/Momentum")}
    assert len(model_vars) == 230  # 58 conv kernels + 57 x 3 BN + logits bias
    for name, value in model_vars.items():
        np.testing.assert_array_equal(
            _model_value(model, name), value.reshape(_model_value(model, name).shape), err_msg=name
        )
    assert tuple(model.input.shape)[-1] == preset.channels


@pytest.mark.backend_independent
def test_wrong_stream_is_refused(tmp_path):
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", helpers.checkpoint_layout("flow_scratch"))
    with pytest.raises(ConversionError, match="flow checkpoint .* rgb preset"):
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5", preset="kinetics400_rgb")
    assert not list(tmp_path.glob("*.weights.h5*"))


@pytest.mark.backend_independent
def test_wrong_classes_are_refused(tmp_path):
    layout = helpers.checkpoint_layout("rgb_scratch_kin600")
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", layout)
    with pytest.raises(ConversionError, match="600 classes"):
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5", preset="kinetics400_rgb")


@pytest.mark.backend_independent
def test_missing_and_unknown_variables_are_listed(tmp_path):
    layout = helpers.checkpoint_layout("rgb_imagenet")
    layout.pop("RGB/inception_i3d/Mixed_4c/Branch_1/Conv3d_0b_3x3/conv_3d/w")
    layout["RGB/inception_i3d/Mixed_9z/Branch_0/Conv3d_0a_1x1/conv_3d/w"] = ([1, 1, 1, 4, 4], "float32")
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", layout)
    with pytest.raises(ConversionError) as info:
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5")
    message = str(info.value)
    assert "Mixed_9z/Branch_0/Conv3d_0a_1x1/conv_3d/w" in message
    assert "Mixed_4c_Branch_1_Conv3d_0b_3x3_conv_3d/kernel" in message
    assert not (tmp_path / "x.weights.h5").exists()


@pytest.mark.backend_independent
def test_shape_mismatch_is_listed(tmp_path):
    layout = helpers.checkpoint_layout("rgb_imagenet")
    layout["RGB/inception_i3d/Mixed_3b/Branch_0/Conv3d_0a_1x1/conv_3d/w"] = ([1, 1, 1, 192, 65], "float32")
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", layout)
    with pytest.raises(ConversionError, match="shape mismatches"):
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5")


@pytest.mark.backend_independent
def test_missing_checkpoint_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        checkpoints.read_checkpoint(tmp_path / "model.ckpt")
    index_only = helpers.data_dir() / "checkpoints" / "flow_scratch" / "model.ckpt"
    with pytest.raises(FileNotFoundError, match="no data file"):
        checkpoints.read_checkpoint(index_only)


@pytest.mark.backend_independent
def test_corrupted_checkpoint_is_never_converted(tmp_path):
    values = helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", helpers.checkpoint_layout("rgb_imagenet"))
    data = tmp_path / "model.ckpt.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    assert len(values) == 230
    with pytest.raises(CheckpointError, match="is corrupted: CRC-32C"):
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5")
    assert helpers.files_under(tmp_path / "out") == [] and not (tmp_path / "x.weights.h5").exists()


@pytest.mark.backend_independent
def test_conversion_needs_no_tensorflow(tmp_path):
    script = blocking.script_prefix("tensorflow", hide=True) + (
        "from keras_i3d.weights.checkpoints import convert_checkpoint\n"
        f"r = convert_checkpoint({str(helpers.data_dir() / 'checkpoints' / 'rgb_scratch')!r}, "
        f"{str(tmp_path / 'k.weights.h5')!r}, preset='kinetics400_rgb', progress=False, require_registered=True)\n"
        "assert 'tensorflow' not in sys.modules\n"
        "print(r.registered)\n"
    )
    env = {**__import__("os").environ, "KERAS_BACKEND": "jax"}  # the backend that never needs TensorFlow
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"


@pytest.mark.backend_independent
def test_real_checkpoint_matches_the_registered_digest(tmp_path):
    result = checkpoints.convert_checkpoint(
        helpers.data_dir() / "checkpoints" / "rgb_scratch", tmp_path / "k.weights.h5", preset="kinetics400_rgb",
        progress=False, require_registered=True,
    )  # fmt: skip
    assert result.registered is True
    assert result.weights_digest == keras_i3d.get_preset("kinetics400_rgb").weights_digest


@pytest.mark.backend_independent
def test_other_weights_under_a_registered_preset_are_refused_when_required(tmp_path):
    layout = helpers.checkpoint_layout("rgb_scratch")
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", layout)
    kwargs = dict(preset="kinetics400_rgb", progress=False)
    with pytest.raises(ConversionError, match="is not DeepMind's rgb_scratch checkpoint"):
        checkpoints.convert_checkpoint(
            tmp_path / "model.ckpt", tmp_path / "x.weights.h5", require_registered=True, **kwargs
        )
    assert not (tmp_path / "x.weights.h5").exists()
    assert (
        checkpoints.convert_checkpoint(tmp_path / "model.ckpt", tmp_path / "x.weights.h5", **kwargs).registered is False
    )


@pytest.mark.backend_independent
def test_real_checkpoint_reads_and_ignores_nothing():
    ckpt = checkpoints.read_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", progress=False)
    assert ckpt.scope == "RGB" and ckpt.stream == "rgb" and ckpt.classes == 400
    assert len(ckpt.tensors) == 230 and ckpt.ignored == []


@pytest.mark.backend_independent
def test_config_travels_with_the_weights(tmp_path):
    out = tmp_path / "k.weights.h5"
    checkpoints.convert_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", out, preset="kinetics400_rgb")
    assert config_path(out) == tmp_path / "k.config.json"
    info = describe_weights_file(out)
    assert (info.channels, info.classes, info.stream, info.preset) == (3, 400, "rgb", "kinetics400_rgb")


@pytest.mark.backend_independent
def test_output_name_must_be_keras_weights(tmp_path):
    with pytest.raises(ValueError, match=".weights.h5"):
        checkpoints.convert_checkpoint(helpers.data_dir() / "checkpoints" / "rgb_scratch", tmp_path / "x.h5")


@pytest.mark.backend_independent
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
    assert f"sha256 {sha256_file(out)}" in result.stdout and "matches the registry" in result.stdout
    assert "I0000" not in result.stderr and "absl" not in result.stderr  # no framework start-up lines


@pytest.mark.backend_independent
@pytest.mark.parametrize("tool", ["weights_conversion", "cli"])
def test_failed_validation_publishes_nothing(tmp_path, tool, monkeypatch):
    """Validate first, publish after: a parity failure leaves no file, on both entry points."""
    data = helpers.data_dir()
    out = tmp_path / "k400.weights.h5"
    args = ["--checkpoint", str(data / "checkpoints" / "rgb_scratch" / "model.ckpt"), "--preset", "kinetics400_rgb",
            "--output", str(out), "--tolerance", "1e-12"]  # fmt: skip
    if tool == "cli":
        from keras_i3d import cli
        from keras_i3d.weights import checkpoints

        # The real check fails on the tool's entry point; here the same failure, without running the clip again.
        def failing_check(model, preset, tolerance, progress=False):
            assert tolerance == 1e-12 and preset.name == "kinetics400_rgb"
            raise checkpoints.ConversionError(f"Parity check failed for {preset.name}: max |logits - reference| ...")

        monkeypatch.setattr(checkpoints, "validate_on_sample_clip", failing_check)
        status = cli.main(["convert", *args])
    else:
        from weights_conversion.__main__ import main

        status = main(args)
    assert status == 2
    assert helpers.files_under(tmp_path) == []


@pytest.mark.backend_independent
def test_cli_convert_alias_rejects_wrong_stream(tmp_path):
    from keras_i3d import cli

    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", helpers.checkpoint_layout("flow_imagenet"))
    output = tmp_path / "x.weights.h5"

    def convert(preset):
        return cli.main(["convert", "--checkpoint", str(tmp_path / "model.ckpt"), "--output", str(output),
                         "--preset", preset])  # fmt: skip

    assert convert("kinetics400_rgb_imagenet") == 2 and not output.exists()
    assert convert("kinetics400_flow_imagenet") == 0 and output.exists()


@pytest.mark.backend_independent
def test_tool_fetches_deepmind_checkpoints_when_not_local(deepmind_server, monkeypatch, tmp_path, capsys):
    from weights_conversion.__main__ import main

    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    monkeypatch.setenv("KINETICS_I3D_DATA", str(tmp_path / "empty"))
    assert main(["--all", "--output-dir", str(tmp_path / "out"), "--no-parity"]) == 0
    out = capsys.readouterr().out
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert list(manifest) == ["kinetics400_rgb"]  # the server has only rgb_scratch's data file
    assert manifest["kinetics400_rgb"]["registered"] is True
    assert "kinetics400_flow: skipped" in out and "HTTP 404" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "i3d_kinetics400_rgb.config.json",
        "i3d_kinetics400_rgb.weights.h5",
        "i3d_kinetics400_rgb.weights.h5.sha256",
        "manifest.json",
    ]


@pytest.mark.backend_independent
def test_cli_convert_without_checkpoint_uses_the_preset_source(deepmind_server, monkeypatch, tmp_path, capsys):
    from keras_i3d import cli

    monkeypatch.setenv("KINETICS_I3D_CHECKPOINT_URL", deepmind_server.url)
    out = tmp_path / "k.weights.h5"
    assert cli.main(["convert", "--preset", "kinetics400_rgb", "--output", str(out), "--no-validate"]) == 0
    assert deepmind_server.requests == []  # the local data folder has it
    assert "matches the registry" in capsys.readouterr().out
