"""The keras-i3d command."""

import pytest

from keras_i3d import cli
from tests import helpers


def test_presets_table(capsys):
    assert cli.main(["presets"]) == 0
    out = capsys.readouterr().out
    assert "kinetics400_rgb" in out and "rgb_scratch" in out and "68.4 / 88.0" in out
    assert "kinetics600_rgb" in out and "not published" in out


def test_classify_the_sample_clip(capsys):
    gif = helpers.data_dir() / "v_CricketShot_g04_c01_rgb.gif"
    assert cli.main(["classify", str(gif), "--top", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].endswith("playing cricket")


def test_errors_are_reported_not_raised(tmp_path, capsys):
    status = cli.main(
        ["convert", "--checkpoint", str(tmp_path / "nope" / "model.ckpt"), "--output", str(tmp_path / "x.weights.h5")]
    )
    assert status == 2
    assert "does not exist" in capsys.readouterr().err


def test_unknown_subcommand_exits():
    with pytest.raises(SystemExit):
        cli.main(["frobnicate"])
