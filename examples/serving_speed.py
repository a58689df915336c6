"""Measure the exports (SavedModel and ONNX, fused and as built) and the served model's speed on this machine.

    KERAS_BACKEND=jax python examples/serving_speed.py [--weights kinetics400_rgb] [--frames 64]

Builds I3D on the current backend and times each export (`export_saved_model`,
`export_onnx`, with and without ``fuse``; on JAX and PyTorch this includes
saving the model and the TensorFlow subprocess), prints the files' sizes, then
times, as the median of three calls after one warm-up:

- the SavedModel with TensorFlow alone: ``serving_default`` on one preprocessed
  224x224 clip (fused and as built), ``classify`` on one clip of raw uint8 frames
  (640x480, resized and cropped in the graph) and ``classify_encoded`` on the same
  frames as JPEG (quality 90; decoding in the graph);
- the ONNX file with onnxruntime (CPU, its default threads) on the same clip.

BENCHMARKS.md quotes its output.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

import keras_i3d
from keras_i3d.serving.onnx_runtime import onnx_session
from keras_i3d.utils.tf_loader import import_tensorflow

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--weights", default="kinetics400_rgb")
parser.add_argument("--frames", type=int, default=64)
args = parser.parse_args()

model = keras_i3d.I3D(weights=args.weights)
out = Path(tempfile.mkdtemp())
backend = keras.backend.backend()


def timed_export(name, export, **kwargs):
    start = time.perf_counter()
    path = export(model, out / name, **kwargs)
    print(f"{name}: export on {backend} {time.perf_counter() - start:.1f} s")
    return path


saved = {
    "fused": timed_export("savedmodel_fused", keras_i3d.export_saved_model),
    "as built": timed_export("savedmodel_as_built", keras_i3d.export_saved_model, fuse=False),
}
onnx = {
    "fused": timed_export("onnx_fused", keras_i3d.export_onnx, triton=False),
    "as built": timed_export("onnx_as_built", keras_i3d.export_onnx, triton=False, fuse=False),
}
for what, path in saved.items():
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"SavedModel ({what}): {size / 1e6:.1f} MB")
for what, path in onnx.items():
    print(f"model.onnx ({what}): {(path / 'model.onnx').stat().st_size / 1e6:.1f} MB")


def median_seconds(call) -> float:
    call()  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


tf = import_tensorflow("Timing the SavedModel")
rng = np.random.default_rng(0)
frames = rng.integers(0, 256, (1, args.frames, 480, 640, 3), dtype=np.uint8)
clips = rng.uniform(-1, 1, (1, args.frames, 224, 224, 3)).astype(np.float32)
jpeg = tf.constant([[tf.io.encode_jpeg(frame, quality=90).numpy() for frame in frames[0]]])
calls = {}
for what, path in saved.items():
    signatures = tf.saved_model.load(str(path)).signatures
    calls[f"SavedModel serving_default ({what})"] = lambda s=signatures: s["serving_default"](clips=tf.constant(clips))
    if what == "fused":
        calls["SavedModel classify (fused, 640x480 uint8)"] = lambda s=signatures: s["classify"](
            frames=tf.constant(frames)
        )
        calls["SavedModel classify_encoded (fused, 640x480 JPEG)"] = lambda s=signatures: s["classify_encoded"](
            encoded=jpeg
        )
for what, path in onnx.items():
    session = onnx_session(path / "model.onnx")
    calls[f"onnxruntime ({what})"] = lambda s=session: s.run(["logits"], {"clips": clips})
for name, call in calls.items():
    print(f"{name}: {median_seconds(call):.3f} s per clip of {args.frames} frames")
