"""Classify a video with an exported ``model.onnx`` in onnxruntime: the network runs without Keras or TensorFlow.

Export first (from any backend), then run:

    keras-i3d export --format onnx --triton --out models/i3d
    python examples/onnx_inference.py models/i3d/1/model.onnx [video.mp4]

The video (default: DeepMind's sample clip) is decoded at 25 fps and prepared
with DeepMind's recipe by keras_i3d (`read_video`, `preprocess_frames`: short
side 256, centre crop 224, [-1, 1]); a deployment does the same in its own
code and sends the float clip. The class names come from ``labels.txt``
beside the versions (written by ``--triton``), or Kinetics-400's.
"""

import argparse
from pathlib import Path

import numpy as np

import keras_i3d
from keras_i3d.serving.onnx_runtime import onnx_session, onnx_signature
from keras_i3d.weights.deepmind import sample_clip

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("model", help="an exported model.onnx")
parser.add_argument("video", nargs="?", help="a video file (default: DeepMind's sample clip)")
parser.add_argument("--frames", type=int, default=64, help="frames to classify (default 64)")
args = parser.parse_args()

session = onnx_session(args.model)
print("inputs and outputs:", onnx_signature(session))
frames = keras_i3d.read_video(args.video or sample_clip("rgb"), max_frames=args.frames)[None]
clips = np.asarray(keras_i3d.preprocess_frames(frames), np.float32)  # (1, frames, 224, 224, 3) in [-1, 1]
logits, probabilities = session.run(["logits", "probabilities"], {"clips": clips})
labels_file = Path(args.model).parent.parent / "labels.txt"
labels = labels_file.read_text().splitlines() if labels_file.is_file() else keras_i3d.load_labels("kinetics400")
for index in np.argsort(probabilities[0])[::-1][:5]:
    print(f"{probabilities[0, index]:8.4f}  {labels[index]}")
