"""End-to-end check of datasets on S3: write, copy to ``s3://``, read with `clip_dataset`, one training step.

Not a pytest module (needs its own environment: ``pip install ".[s3]"`` plus
``moto[server]`` and ``av``, and a running S3-compatible server). Run by
``.ci/s3_check.sh``, which starts ``moto_server`` and sets:

* ``S3_ENDPOINT`` (e.g. ``http://127.0.0.1:5000``) and ``S3_USE_HTTPS=0``, read
  by tensorflow-io's S3 filesystem (and here, for boto3);
* ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` (any values for moto),
  ``AWS_REGION``;
* optionally ``S3_CHECK_BUCKET`` (default ``keras-i3d-s3-check``).

Prints ``S3 CHECK PASSED: ...`` (flushed) once everything has been checked.
tensorflow-io 0.37.1's S3 filesystem then aborts the interpreter at exit
(SIGABRT, exit code 134; tensorflow/io#2039): the exit is left alone here so
the caller sees it, and ``.ci/s3_check.sh`` accepts 134 only after that line.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

SUCCESS = "S3 CHECK PASSED"
FRAMES, HEIGHT, WIDTH = 12, 64, 84
CLASSES = {"left": (0, -3), "down": (3, 0)}  # class -> square's step (dy, dx) per frame
VIDEOS_PER_CLASS = 2


def _log(message: str) -> None:
    print(f"[s3_check] {message}", flush=True)


def _environment() -> tuple[str, str]:
    required = ("S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    missing = [name for name in required if not os.environ.get(name)]
    if missing:
        sys.exit(f"[s3_check] set {', '.join(missing)} (see .ci/s3_check.sh)")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ.setdefault("S3_USE_HTTPS", "0" if os.environ["S3_ENDPOINT"].startswith("http://") else "1")
    return os.environ["S3_ENDPOINT"], os.environ.get("S3_CHECK_BUCKET", "keras-i3d-s3-check")


def _create_bucket(endpoint: str, bucket: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=os.environ["AWS_REGION"])
    if bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(Bucket=bucket)


def _moving_square(step: tuple[int, int], offset: int) -> np.ndarray:
    """``FRAMES`` textured frames with a bright square moving ``step`` pixels per frame."""
    rng = np.random.default_rng(offset)
    out = np.repeat(rng.integers(40, 120, (1, HEIGHT, WIDTH, 3), dtype=np.uint8), FRAMES, axis=0)
    side = 20
    for t in range(FRAMES):
        y = (HEIGHT - side) // 2 + step[0] * (t - FRAMES // 2) + offset
        x = (WIDTH - side) // 2 + step[1] * (t - FRAMES // 2) + offset
        out[t, max(y, 0) : max(y + side, 0), max(x, 0) : max(x + side, 0)] = 230
    return out


def _write_video(path: Path, frames: np.ndarray) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "ultrafast"}
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())


def _make_dataset(work: Path) -> Path:
    from keras_i3d.training.dataset_writer import write_dataset

    source = work / "videos"
    for name, step in CLASSES.items():
        (source / name).mkdir(parents=True)
        for i in range(VIDEOS_PER_CLASS):
            _write_video(source / name / f"{name}_{i}.mp4", _moving_square(step, offset=3 * i))
    summary = write_dataset(source, work / "dataset", shards=2, short_side=HEIGHT, workers=1, progress=False)
    assert summary.videos == len(CLASSES) * VIDEOS_PER_CLASS and not summary.skipped, summary
    return summary.out_dir


def _upload(tf, local: Path, remote: str) -> list[str]:
    """Copies every file of ``local`` to ``remote`` with `tf.io.gfile`; returns the names copied."""
    names = sorted(p.name for p in local.iterdir() if p.is_file())
    tf.io.gfile.makedirs(remote)
    for name in names:
        tf.io.gfile.copy(str(local / name), f"{remote}/{name}", overwrite=True)
    listed = sorted(tf.io.gfile.listdir(remote))
    assert listed == names, f"s3 listing {listed} != local files {names}"
    for name in names:
        assert tf.io.gfile.stat(f"{remote}/{name}").length == (local / name).stat().st_size, name
    return names


def _batches(pattern: str, training: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    from keras_i3d.training.data import clip_dataset

    dataset = clip_dataset(pattern, frames=8, size=56, batch_size=2, training=training, seed=0)
    return [(clips.numpy(), labels.numpy()) for clips, labels in dataset]


def _same(local: list, remote: list, what: str) -> int:
    assert len(local) == len(remote) > 0, f"{what}: {len(remote)} batches from s3, {len(local)} locally"
    for (clips, labels), (s3_clips, s3_labels) in zip(local, remote, strict=True):
        assert clips.shape == s3_clips.shape == (2, 8, 56, 56, 3), (clips.shape, s3_clips.shape)
        assert np.array_equal(labels, s3_labels), f"{what}: labels {s3_labels} from s3, {labels} locally"
        assert np.array_equal(clips, s3_clips), f"{what}: clips from s3 differ from the local ones"
    return len(remote)


def main() -> None:
    start = time.monotonic()
    endpoint, bucket = _environment()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    import tensorflow as tf
    import tensorflow_io  # registers the s3:// filesystem with tf.io.gfile

    _log(f"tensorflow {tf.__version__}, tensorflow-io {tensorflow_io.__version__}, keras {keras.__version__}")
    _log(f"endpoint {endpoint}, bucket {bucket}")
    _create_bucket(endpoint, bucket)
    remote = f"s3://{bucket}/dataset"
    with tempfile.TemporaryDirectory() as tmp:
        local = _make_dataset(Path(tmp))
        names = _upload(tf, local, remote)
        _log(f"copied {len(names)} files to {remote}: {', '.join(names)}")

        batches = 0
        for training in (True, False):
            what = "training" if training else "test"
            batches += _same(_batches(str(local), training), _batches(remote, training), what)
    _log(f"{batches} batches read from {remote} equal the local ones (seed 0, training and test)")

    from keras_i3d.training.data import clip_dataset
    from keras_i3d.training.transfer import fine_tuning_model

    keras.utils.set_random_seed(0)
    model = fine_tuning_model(weights=None, classes=len(CLASSES), frames=8, size=56, dropout_rate=0.0)
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
    dataset = clip_dataset(remote, frames=8, size=56, batch_size=2, seed=0)
    history = model.fit(dataset, epochs=1, steps_per_epoch=1, shuffle=False, verbose=0)
    loss = float(history.history["loss"][-1])
    assert math.isfinite(loss), f"training loss {loss}"
    print(
        f"{SUCCESS}: {len(names)} files written to {remote}, {batches} batches read back equal to the local copy, "
        f"one training step from s3 (loss {loss:.4f}) in {time.monotonic() - start:.1f} s",
        flush=True,
    )
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    main()
