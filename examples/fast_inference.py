"""Fuse I3D for inference and compare it with the model as built, on DeepMind's sample clip.

    python examples/fast_inference.py [--dtype bfloat16] [--implementation auto]

Prints both models' top-1, their largest logit difference and their clips/s on
this machine (KERAS_BACKEND picks the backend). The fused model folds every
BatchNorm into its convolution and, on JAX and PyTorch, runs 3D convolutions
as 2D convolutions over stacked frames; see BENCHMARKS.md.
"""

import argparse
import time

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    import keras
    import numpy as np

    import keras_i3d
    from keras_i3d.video.decode import read_gif
    from keras_i3d.weights.deepmind import sample_clip

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32")
parser.add_argument("--implementation", choices=("auto", "conv3d", "frames"), default="auto")
parser.add_argument("--repeats", type=int, default=3)
args = parser.parse_args()

with quiet_framework_startup():  # loading the weights may start TensorFlow, whose log lines stay out
    clip = keras_i3d.preprocess_input(read_gif(sample_clip("rgb")))[None]  # (1, 79, 224, 224, 3)
    model = keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)
    dtype = None if args.dtype == "float32" else args.dtype
    fused = keras_i3d.fuse_for_inference(model, args.implementation, dtype=dtype)


def clips_per_second(network) -> tuple[np.ndarray, float]:
    logits = np.asarray(network.predict_on_batch(clip), np.float32)  # warm-up: tracing, compilation
    start = time.perf_counter()
    for _ in range(args.repeats):
        network.predict_on_batch(clip)
    return logits, args.repeats / (time.perf_counter() - start)


logits, plain_rate = clips_per_second(model)
fused_logits, fused_rate = clips_per_second(fused)
top = keras_i3d.decode_predictions(logits, top=1)[0][0][1]
fused_top = keras_i3d.decode_predictions(fused_logits, top=1)[0][0][1]
print(f"backend {keras.backend.backend()}, 79-frame clip, {args.dtype}")
print(f"as built: {top:<20} {plain_rate:6.2f} clips/s")
print(f"fused:    {fused_top:<20} {fused_rate:6.2f} clips/s ({fused_rate / plain_rate:.2f}x)")
print(f"max |logit difference| {np.abs(fused_logits - logits).max():.2e} (top logit {logits.max():.2f})")
