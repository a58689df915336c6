"""Classify DeepMind's sample cricket clip with the Kinetics-400 RGB I3D.

Run from the repository root (``make demo`` does):

    python examples/classify_cricket.py [--weights kinetics400_rgb] [--top 5]

The clip and the weights come from ``$KINETICS_I3D_DATA`` when it is set;
otherwise both are downloaded from DeepMind's repository, verified by their
git blob ids, and the checkpoint is converted into the Keras cache (first run
only; no TensorFlow needed).
"""

import argparse
import sys

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():  # keeps TensorFlow's start-up log lines out of the output
    import keras  # noqa: F401 - starts the backend inside the quiet block
    import numpy as np

    import keras_i3d
    from keras_i3d.video.decode import read_gif
    from keras_i3d.weights.deepmind import sample_clip

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--weights", default="kinetics400_rgb")
parser.add_argument("--top", type=int, default=5)
args = parser.parse_args()

try:
    frames = read_gif(sample_clip("rgb"))  # (79, 224, 224, 3) uint8
    model = keras_i3d.I3D(weights=args.weights)  # softmax head
except keras_i3d.KerasI3DError as e:  # offline without the files, say: what is missing and how to fix it
    sys.exit(f"classify_cricket: {e}")
clip = keras_i3d.preprocess_input(frames)[None]  # (1, 79, 224, 224, 3) in [-1, 1]
probs = np.asarray(model.predict(clip, verbose=0))

print(f"I3D ({args.weights}) on v_CricketShot_g04_c01, {frames.shape[0]} frames:")
for rank, (_, label, prob) in enumerate(keras_i3d.decode_predictions(probs, top=args.top)[0], 1):
    print(f"{rank}. {label:<40} {prob:.4f}")
