"""Measure video decoding, DeepMind's preprocessing and TV-L1 optical flow speeds on this machine.

    python examples/video_speed.py [--seconds 4] [--size 320x240]

Writes a synthetic H.264 video (a textured square moving over a textured background),
then times: decoding to 25 fps RGB frames (PyAV), the RGB recipe (resize short side 256,
crop 224, scale) and TV-L1 flow between consecutive frames at short side 256 (OpenCV),
each over the whole video. Prints frames (or frame pairs) per second. BENCHMARKS.md
quotes its output.
"""

import argparse
import tempfile
import time
from pathlib import Path

import av
import cv2
import numpy as np

from keras_i3d.preprocessing import preprocess_frames
from keras_i3d.video.decode import iter_frames
from keras_i3d.video.flow import iter_flow

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--seconds", type=float, default=4.0)
parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT of the synthetic video")
args = parser.parse_args()
width, height = map(int, args.size.split("x"))
frames = int(args.seconds * 25)

rng = np.random.default_rng(0)
background = np.kron(rng.uniform(40, 120, (height // 8 + 1, width // 8 + 1)), np.ones((8, 8)))[:height, :width]
path = Path(tempfile.mkdtemp()) / "synthetic.mp4"
with av.open(str(path), "w") as container:
    stream = container.add_stream("libx264", rate=25)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    for t in range(frames):
        image = background.copy()
        y, x = height // 3, (width // 4 + 3 * t) % (width - 48)
        image[y : y + 48, x : x + 48] = 220
        rgb = np.repeat(image[..., None], 3, axis=-1).astype(np.uint8)
        container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
    container.mux(stream.encode())

start = time.perf_counter()
decoded = list(iter_frames(path))
decode_s = time.perf_counter() - start

start = time.perf_counter()
for i in range(0, len(decoded), 16):
    preprocess_frames(np.stack(decoded[i : i + 16]))
preprocess_s = time.perf_counter() - start

start = time.perf_counter()
pairs = sum(1 for _ in iter_flow(decoded))
flow_s = time.perf_counter() - start

print(f"video: {width}x{height}, {len(decoded)} frames at 25 fps; OpenCV {cv2.__version__}, PyAV {av.__version__}")
print(f"decode (PyAV, 25 fps RGB):          {len(decoded) / decode_s:8.1f} frames/s")
print(f"RGB recipe (256 short side, 224):   {len(decoded) / preprocess_s:8.1f} frames/s")
print(f"TV-L1 flow at short side 256:       {pairs / flow_s:8.2f} frame pairs/s")
