"""The training commands: keras-i3d dataset, finetune and bench --pipeline."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import keras_i3d  # noqa: F401 - registers the model class, as a user's script would
from keras_i3d.preprocessing import preprocess_input
from tests.support.cli import run_cli
from tests.support.synthetic_videos import moving_square, write_video


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_videos")
    for label, step in (("up", (-3, 0)), ("down", (3, 0))):
        (root / label).mkdir()
        for i in range(2):
            write_video(root / label / f"{i}.mp4", moving_square(10, 40, 52, step, 12, (14 + i, 10 + 6 * i)))
    (root / "up" / "corrupt.mp4").write_bytes(b"\x1a\x45\xdf\xa3 not really matroska")
    return root


@pytest.mark.backend_independent
def test_dataset_command_reports_skipped_videos(videos, tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ("dataset", videos, out, "--short-side", 32, "--shards", 2)
    status, stdout, _ = run_cli(capsys, *argv, "--workers", 2, "--quiet")
    assert status == 0
    assert stdout.splitlines()[0] == f"{out}: 4 videos, 2 classes, 40 frames in 2 shards"
    assert "skipped 1 unreadable videos" in stdout and "corrupt.mp4" in stdout
    status, stdout, _ = run_cli(capsys, *argv, "--quiet")
    assert status == 0 and "(2 kept from an earlier run)" in stdout
    status, _, err = run_cli(capsys, "dataset", videos, out, "--short-side", 40, "--quiet")
    assert status == 1 and "other videos or options" in err
    status, _, err = run_cli(capsys, "dataset", tmp_path / "missing", out, "--quiet")
    assert status == 1 and "does not exist" in err
    status, _, err = run_cli(capsys, "dataset", videos, out, "--shards", 0)
    assert status == 2 and "--shards must be positive" in err


@pytest.mark.backend_independent  # its files and options; each backend trains in tests/training
def test_finetune_command_writes_model_log_curves_confusion_and_checkpoints(videos, tmp_path, capsys):
    data = tmp_path / "ds"
    assert run_cli(capsys, "dataset", videos, data, "--short-side", 32, "--workers", 1, "--quiet")[0] == 0
    out = tmp_path / "run" / "model.keras"
    status, stdout, err = run_cli(
        capsys, "finetune", data, "--weights", "none", "--frames", 8, "--size", 32, "--batch-size", 2,
        "--epochs", 2, "--freeze-until", "Mixed_4f", "--val", data, "--seed", 0, "--out", out, "--quiet",
        "--checkpoints", "last", "--stage2", "yes", "--patience", 5,
    )  # fmt: skip
    assert status == 0, err
    assert err == ""
    lines = stdout.splitlines()
    assert lines[0].startswith(f"{out} (2 classes;") and "validation accuracy" in lines[0]
    assert "stage 1 (head on cached features, L2 " in lines[0] and "stage 2 (2 epochs; " in lines[0]
    assert lines[1] == "  validated on 4 videos: validation set ds"
    assert lines[2].startswith("  per class: down ") and ", up " in lines[2]
    rows = list(csv.DictReader((tmp_path / "run" / "model.log.csv").open()))
    assert [(r["epoch"], r["stage"]) for r in rows] == [("0", "1"), ("1", "2"), ("2", "2")]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(rows[0])
    for picture in ("model.curves.png", "model.confusion.png"):
        assert (tmp_path / "run" / picture).read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "run" / "model.labels.txt").read_text() == "down\nup\n"
    evaluation = json.loads((tmp_path / "run" / "model.evaluation.json").read_text())
    assert evaluation["videos"] == 4 and np.array(evaluation["confusion"]).sum() == 4
    assert set(evaluation["per_class"]) == {"down", "up"} and evaluation["stage2_epochs"] == 2
    assert evaluation["chosen"] in ("stage 1", "stage 2, epoch 1", "stage 2, epoch 2") and not evaluation["held_out"]
    checkpoints = sorted(p.name for p in (tmp_path / "run" / "model.checkpoints").iterdir())
    assert checkpoints == ["epoch_002.keras"]  # --checkpoints last: not one 50 MB file per epoch
    model = keras.saving.load_model(out)
    assert model.class_names == ("down", "up")  # the labels travel in the .keras
    clip = preprocess_input(np.random.default_rng(0).uniform(0, 255, (1, 8, 32, 32, 3)).astype("float32"))
    probabilities = keras.ops.convert_to_numpy(model.predict(clip, verbose=0))
    assert probabilities.shape == (1, 2) and abs(probabilities.sum() - 1) < 1e-5
    frozen = model.get_layer("Mixed_4f_Branch_0_Conv3d_0a_1x1_conv_3d")
    assert not frozen.trainable and model.get_layer("Mixed_5b_Branch_0_Conv3d_0a_1x1_conv_3d").trainable


@pytest.mark.backend_independent
def test_a_fine_tuned_model_classifies_with_its_labels_and_without_matplotlib(videos, tmp_path, capsys, monkeypatch):
    """finetune exited 2 after training without matplotlib; classify had no --model; labels were '0', '1'."""
    from keras_i3d.video import plots

    data = tmp_path / "ds"
    assert run_cli(capsys, "dataset", videos, data, "--short-side", 32, "--workers", 1, "--quiet")[0] == 0
    out = tmp_path / "m.keras"
    monkeypatch.setattr(plots, "pyplot", None)
    status, stdout, err = run_cli(
        capsys, "finetune", data, "--weights", "none", "--frames", 4, "--size", 32, "--epochs", 3,
        "--batch-size", 2, "--out", out, "--quiet", "--seed", 0, "--stage2", "yes", "--patience", 3,
    )  # fmt: skip
    assert status == 0 and out.is_file() and err == "", err
    assert 'curves and confusion matrix not drawn (needs matplotlib: pip install "keras-i3d[video]")' in stdout
    assert "validated on 2 videos: 2 training videos held out (no --val; 20% of each class, seed 0)" in stdout
    kept = sorted(p.name for p in (tmp_path / "m.checkpoints").iterdir())
    assert 1 <= len(kept) <= 2 and "epoch_003.keras" in kept  # best + last, not one per epoch
    video = sorted(Path(videos).rglob("*.mp4"))[0]
    status, stdout, err = run_cli(
        capsys, "classify", video, "--model", out, "--clip-frames", 4, "--stride", 4, "--top", 2, "--quiet"
    )
    assert status == 0, err
    assert sorted(line.split()[-1] for line in stdout.splitlines()) == ["down", "up"]
    status, _, err = run_cli(capsys, "classify", video, "--weights", out, "--quiet")
    assert status == 2 and f"is a whole saved Keras model, not weights: use --model {out}" in err


def test_saved_model_loads_in_a_fresh_process_with_keras_load_model(videos, tmp_path, capsys):
    data = tmp_path / "ds"
    assert run_cli(capsys, "dataset", videos, data, "--short-side", 32, "--workers", 1, "--quiet")[0] == 0
    out = tmp_path / "m.keras"
    argv = ("finetune", data, "--weights", "none", "--frames", 4, "--size", 32, "--epochs", 1, "--out", out)
    status, stdout, err = run_cli(capsys, *argv, "--batch-size", 2, "--quiet", "--stage2", "yes")  # both stages
    assert status == 0, err
    assert "stage 2 (1 epochs; " in stdout
    code = f"import keras, keras_i3d; m = keras.saving.load_model({str(out)!r}); print(m.output.shape)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(None, 2)"


@pytest.mark.backend_independent
@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (("--epochs", "0"), "--epochs must be positive"),
        (("--lr", "-1"), "--lr must be positive"),
        (("--out", "model.h5"), "saved as a .keras file; got model.h5"),
    ],
)
def test_finetune_bad_arguments(tmp_path, capsys, argv, match):
    base = ["finetune", str(tmp_path), "--out", str(tmp_path / "m.keras"), "--weights", "none"]
    status, _, err = run_cli(capsys, *base, *argv)
    assert status == 2 and match in err


@pytest.mark.backend_independent
def test_finetune_without_a_dataset(tmp_path, capsys):
    status, _, err = run_cli(capsys, "finetune", tmp_path, "--out", tmp_path / "m.keras", "--weights", "none")
    assert status == 1 and "No TFRecord files match" in err


@pytest.mark.backend_independent
def test_bench_pipeline_prints_both_sources(videos, tmp_path, capsys):
    data = tmp_path / "ds"
    assert run_cli(capsys, "dataset", videos, data, "--short-side", 32, "--workers", 1, "--quiet")[0] == 0
    status, stdout, err = run_cli(
        capsys, "bench", "--pipeline", data, "--frames", 8, "--size", 32, "--batch-size", 2, "--seconds", 0.3
    )
    assert status == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith("input pipeline, 8 x 32x32 RGB clips")
    assert lines[1].split()[0] == "tfrecord" and lines[2].split()[:2] == ["raw", "video"]
    assert all("clips/s per core" in line for line in lines[1:])
    manifest = json.loads((data / "manifest.json").read_text())
    assert manifest["videos"] == 4


@pytest.mark.backend_independent
def test_learning_curve_picture_checks(tmp_path):
    from keras_i3d.video.plots import plot_history

    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.4, 0.8]}
    assert plot_history(history, tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="learning-curve picture is a .png, .svg, .pdf, .jpg picture; got c.txt"):
        plot_history(history, tmp_path / "c.txt")
    with pytest.raises(ValueError, match="holds no epochs"):
        plot_history({"loss": []}, tmp_path / "d.png")
    assert not (tmp_path / "c.txt").exists() and not (tmp_path / "d.png").exists()


@pytest.mark.backend_independent
def test_damaged_datasets_and_pointless_runs_end_in_one_line(videos, tmp_path, capsys):
    """Damaged shards, manifests and labels gave 27-46-line TensorFlow tracebacks mid-fit; a batch larger than
    the dataset saved an untrained model; one class trained to loss 0; a rerun mixed its checkpoints in."""
    import shutil

    data = tmp_path / "ds"
    assert (
        run_cli(capsys, "dataset", videos, data, "--short-side", 32, "--workers", 1, "--shards", 2, "--quiet")[0] == 0
    )
    shard = sorted(data.glob("*.tfrecord"))[0]
    base = ("--weights", "none", "--frames", 4, "--size", 32, "--epochs", 1, "--batch-size", 2, "--quiet")

    def finetune(folder, *extra):
        out = tmp_path / f"run-{len(list(tmp_path.iterdir()))}" / "m.keras"
        status, stdout, err = run_cli(capsys, "finetune", folder, "--out", out, *base, *extra)
        assert status in (1, 2) and stdout == "" and len(err.strip().splitlines()) == 1, err
        assert not out.exists()
        return err

    def damaged(name, change):
        folder = tmp_path / name
        shutil.copytree(data, folder)
        change(folder)
        return folder

    too_few = finetune(data, "--batch-size", 8, "--stage2", "yes")
    assert "training side holds 2 videos, fewer than --batch-size 8" in too_few
    assert "--holdout must lie between 0 and 1 (exclusive); got 1.0." in finetune(data, "--holdout", 1)
    folder = damaged("empty", lambda f: (f / shard.name).write_bytes(b""))
    assert f"{folder / shard.name} is empty (0 bytes)" in finetune(folder)
    folder = damaged("manifest", lambda f: (f / "manifest.json").write_text("{not json"))
    assert "manifest.json is not a keras-i3d manifest (not JSON" in finetune(folder)
    folder = damaged("labels", lambda f: (f / "labels.txt").write_text("down\n"))
    assert "labels.txt (1 classes) disagrees with" in finetune(folder)
    folder = damaged("missing", lambda f: (f / shard.name).unlink())
    assert f"lists shard(s) that are not there: {shard.name}" in finetune(folder)

    def truncate(f):
        body = (f / shard.name).read_bytes()
        (f / shard.name).write_bytes(body[: len(body) // 2])

    folder = damaged("truncated", truncate)
    assert f"{folder / shard.name} is damaged (" in finetune(folder)

    one_class = damaged("one", lambda f: ((f / "manifest.json").unlink(), (f / "labels.txt").write_text("down\n")))
    assert "The dataset has 1 class: a classifier needs at least 2." in finetune(one_class)
    out = tmp_path / "again" / "m.keras"
    (tmp_path / "again" / "m.checkpoints").mkdir(parents=True)
    (tmp_path / "again" / "m.checkpoints" / "epoch_001.keras").write_bytes(b"an earlier run's")
    status, _, err = run_cli(capsys, "finetune", data, "--out", out, *base)
    assert status == 1 and "holds the checkpoints of an earlier run" in err


@pytest.mark.backend_independent
def test_dataset_into_a_folder_inside_its_source_resumes(videos, tmp_path, capsys):
    """`dataset SRC SRC/out` took its own output folder for a class and could not resume."""
    import shutil

    source = tmp_path / "src"
    shutil.copytree(videos, source)
    argv = ("dataset", source, source / "out", "--short-side", 32, "--workers", 1, "--quiet")
    status, first, err = run_cli(capsys, *argv)
    assert status == 0 and "4 videos, 2 classes" in first, err
    status, again, err = run_cli(capsys, *argv)
    assert status == 0 and "4 videos, 2 classes" in again and "kept from an earlier run" in again, err
    assert (source / "out" / "labels.txt").read_text() == "down\nup\n"
