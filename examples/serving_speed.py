"""Measure exporting I3D as a SavedModel, and the exported signatures' speed, on this machine.

    KERAS_BACKEND=jax python examples/serving_speed.py [--weights kinetics400_rgb] [--frames 64]

Builds I3D on the current backend and times `export_saved_model` (on JAX and PyTorch
this includes saving the model and the TensorFlow subprocess), then loads the
SavedModel with TensorFlow alone and times, as the median of three calls after one
warm-up: ``classify`` on one clip of raw uint8 frames (640x480, resized and cropped in
the graph) and ``serving_default`` on one preprocessed 224x224 clip. BENCHMARKS.md
quotes its output.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

import keras_i3d
from keras_i3d.utils.tf_loader import import_tensorflow

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--weights", default="kinetics400_rgb")
parser.add_argument("--frames", type=int, default=64)
args = parser.parse_args()

model = keras_i3d.I3D(weights=args.weights)
out = Path(tempfile.mkdtemp())
start = time.perf_counter()
path = keras_i3d.export_saved_model(model, out)
print(f"export on {keras.backend.backend()}: {time.perf_counter() - start:.1f} s")
size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
print(f"SavedModel: {size / 1e6:.1f} MB")

tf = import_tensorflow("Timing the SavedModel")
signatures = tf.saved_model.load(str(path)).signatures
rng = np.random.default_rng(0)
frames = tf.constant(rng.integers(0, 256, (1, args.frames, 480, 640, 3), dtype=np.uint8))
clips = tf.constant(rng.uniform(-1, 1, (1, args.frames, 224, 224, 3)).astype(np.float32))
calls = {
    "classify": lambda: signatures["classify"](frames=frames),
    "serving_default": lambda: signatures["serving_default"](clips=clips),
}
for name, call in calls.items():
    call()  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    print(f"{name}: {statistics.median(times):.2f} s per clip of {args.frames} frames")
