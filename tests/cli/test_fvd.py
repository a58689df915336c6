"""keras-i3d fvd: its files, options and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from keras_i3d.fvd.statistics import FVDStatistics
from tests.support.cli import run_cli
from tests.support.fvd import StandIn
from tests.support.synthetic_videos import write_video


@pytest.mark.backend_independent  # the command's plumbing; the network's FVD per backend is tests/fvd/test_fvd.py's
def test_fvd_command_prints_the_value_saves_statistics_and_reuses_them(tmp_path, capsys, monkeypatch):
    from keras_i3d.cli import fvd as command

    monkeypatch.setattr(command, "FVDEmbedder", lambda weights, resize, batch_size: StandIn())
    rng = np.random.default_rng(0)
    np.save(tmp_path / "real.npy", rng.integers(0, 256, (3, 9, 32, 32, 3)).astype(np.uint8))
    np.save(tmp_path / "fake.npy", (rng.integers(0, 256, (3, 9, 32, 32, 3)) // 2).astype(np.uint8))
    status, stdout, err = run_cli(
        capsys, "fvd", tmp_path / "real.npy", tmp_path / "fake.npy", "--json", "--save-stats", tmp_path / "real.npz",
        "--batch-size", 2, "--quiet",
    )  # fmt: skip
    assert status == 0 and err == "", err
    report = json.loads(stdout)
    assert report["real"]["videos"] == 3 and report["fake"]["videos"] == 3 and report["fvd"] > 0
    assert report["settings"] == StandIn().settings(9)
    status, stdout, _ = run_cli(capsys, "fvd", tmp_path / "real.npz", tmp_path / "fake.npy", "--quiet")
    assert status == 0 and len(stdout.splitlines()) == 1  # one line: the value
    assert float(stdout) == pytest.approx(report["fvd"], rel=1e-6)  # saved statistics give the same value
    status, stdout, _ = run_cli(capsys, "fvd", tmp_path / "real.npz", tmp_path / "real.npz")
    assert status == 0 and stdout == "0.0000\n"


@pytest.mark.backend_independent
def test_fvd_command_reads_folders_of_video_files(tmp_path, capsys, monkeypatch):
    from keras_i3d.cli import fvd as command

    monkeypatch.setattr(command, "FVDEmbedder", lambda weights, resize, batch_size: StandIn())
    rng = np.random.default_rng(1)
    for name, scale in (("real", 1), ("fake", 2)):
        (tmp_path / name / "nested").mkdir(parents=True)
        for i in range(3):
            clip = (rng.integers(0, 256, (12, 32, 48, 3)) // 64 * 64 // scale).astype(np.uint8)
            write_video(tmp_path / name / "nested" / f"{i}.mp4", clip)
    (tmp_path / "real" / "notes.txt").write_text("not a video")  # other files are skipped
    status, stdout, err = run_cli(
        capsys, "fvd", tmp_path / "real", tmp_path / "fake", "--json", "--frames", 10, "--clip", "random",
        "--seed", 3, "--quiet",
    )  # fmt: skip
    assert status == 0 and err == "", err
    report = json.loads(stdout)
    assert report["real"]["videos"] == 3 and report["fake"]["videos"] == 3 and report["fvd"] > 0
    assert report["settings"]["frames"] == 10 and report["settings"]["clips"] == "random from frame 0, seed 3"
    status, _, err = run_cli(capsys, "fvd", tmp_path / "real", tmp_path / "fake", "--start", 5, "--quiet")
    assert status == 2 and "0.mp4 has 12 frames, fewer than the 21 that 16 frames from frame 5 need" in err, err


@pytest.mark.backend_independent
def test_fvd_command_refuses_bad_input_in_one_line(tmp_path, capsys):
    settings = {"frames": 16, "resize": "reference", "network": "kinetics400_rgb", "embedding": "logits"}
    for name, resize in (("a.npz", "reference"), ("b.npz", "half_pixel")):
        stats = FVDStatistics(400, {**settings, "resize": resize})
        stats.update(np.random.default_rng(0).normal(size=(3, 400)))
        stats.save(tmp_path / name)
    (tmp_path / "broken.npz").write_bytes(b"PK not really")
    (tmp_path / "list.txt").write_text("a.mp4\n")
    a = tmp_path / "a.npz"
    cases = [
        ((a, tmp_path / "missing"), 2, "missing does not exist"),
        ((a, tmp_path / "list.txt"), 2, "give a folder of videos, a .npy of videos or saved"),
        ((a, tmp_path / "b.npz"), 2, "different settings (resize: 'reference' vs 'half_pixel')"),
        ((a, tmp_path / "broken.npz"), 1, "broken.npz is not FVD statistics saved by keras_i3d"),
        ((a, a, "--save-stats", tmp_path / "s.npy"), 2, "writes .npz"),
        ((a, a, "--resize", "bicubic"), 2, "invalid choice: 'bicubic'"),
        ((a, a, "--start", "-1"), 2, "must be at least 0; got -1"),
        ((a, a, "--clip", "middle"), 2, "invalid choice: 'middle'"),
    ]
    for argv, code, message in cases:
        status, stdout, err = run_cli(capsys, "fvd", *argv)
        assert status == code and stdout == "" and len(err.strip().splitlines()) == 1 and message in err, err
