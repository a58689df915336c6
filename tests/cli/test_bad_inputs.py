"""The CLI: one line on stderr, exit 1 (bad input file) or 2 (usage), before any model is built.

Hardening items 12, 2, 3.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from keras_i3d import cli
from tests.support import helpers
from tests.support.bad_files import RNG, write_file, write_gif, write_huge_gif_header
from tests.support.cli import run_cli

# -- 12, 2, 3. the CLI: one line on stderr, exit 1 (bad input file), before any model is built --


def _classify(capsys, *argv):
    return run_cli(capsys, "classify", *argv)


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: write_file(tmp / "text.gif", b"hello"), "not a readable GIF"),
        (lambda tmp: write_file(tmp / "empty.gif", b""), "is empty"),
        (lambda tmp: tmp, "holds no videos"),  # a folder of videos would be classified
        (lambda tmp: "/dev/null", "not a regular file"),
        (lambda tmp: write_huge_gif_header(tmp / "huge.gif"), "too large"),
        (lambda tmp: _npy(tmp / "raw.npy", RNG.integers(0, 256, (4, 224, 224, 3)).astype("uint8")), "raw RGB"),
        (lambda tmp: _npy(tmp / "nan.NPY", np.full((4, 224, 224, 3), np.nan, "float32")), "NaN"),
        (lambda tmp: _npy(tmp / "inf.npy", np.full((4, 224, 224, 3), np.inf, "float32")), "infinite"),
        (lambda tmp: _npy(tmp / "rank3.npy", np.zeros((224, 224, 3), "float32")), "got shape \\(224, 224, 3\\)"),
        (lambda tmp: _npy(tmp / "four.npy", np.zeros((4, 224, 224, 4), "float32")), "got 4 channels"),
        (lambda tmp: _npy(tmp / "empty.npy", np.zeros((0, 4, 224, 224, 3), "float32")), "empty batch"),
        (lambda tmp: _npy(tmp / "objects.npy", np.array([{"a": 1}], dtype=object)), "holds Python objects"),
        (lambda tmp: write_file(tmp / "cut.npy", b"\x93NUMPY\x01\x00"), "not a readable .npy"),
        (lambda tmp: write_gif(tmp / "gif.npy"), "not a .npy file \\(no NumPy header\\)"),
    ],
)
def test_classify_rejects_bad_input_in_one_line(tmp_path, capsys, make, match):
    status, out, err = _classify(capsys, make(tmp_path))
    assert status == 1 and out == ""  # 1: an input file could not be processed
    assert err.startswith("keras-i3d: error: ") and err.count("\n") == 1, err
    assert re.search(match, err), err


def _npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=True)
    return path


@pytest.mark.backend_independent
@pytest.mark.requires_data
def test_classify_reads_an_upper_case_npy(tmp_path, capsys):
    path = _npy(tmp_path / "clip.NPY", helpers.reference_input()[0])
    status, out, _ = _classify(capsys, path)
    assert status == 0 and out.split("\n")[0].endswith("playing cricket")


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    "argv,match",
    [
        (["classify", "x.gif", "--stream", "depth"], "argument --stream: invalid choice"),
        (["classify", "--top", "abc"], "argument --top: invalid int value"),
        (["convert", "--preset", "kinetics400_rgb", "--output", "x.weights.h5", "--tolerance", "abc"], "invalid float"),
        ([], "the following arguments are required: command"),
    ],
)
def test_usage_errors_are_one_line_too(capsys, argv, match):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and err.startswith("keras-i3d: error: "), err
    assert match in err


@pytest.mark.backend_independent
def test_classify_rejects_bad_top(capsys):
    status, _, err = _classify(capsys, "--top", "0")
    assert status == 2 and "--top must be at least 1" in err
