"""Classify a video file with I3D: DeepMind's recipe, sliding windows, the timeline picture.

    python examples/classify_video.py [VIDEO] [--stream rgb|joint] [--plot timeline.png]

Without VIDEO it writes DeepMind's sample clip as an MP4 (25 fps) and classifies that.
``--stream joint`` adds the optical-flow stream (TV-L1, cached in the Keras cache) and sums
the two streams' logits, as DeepMind's two-stream I3D does. Needs the video extra:
``pip install -e ".[video]"``.
"""

import argparse
import tempfile
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():  # keeps TensorFlow's start-up log lines out of the output
    import av
    import keras  # noqa: F401 - starts the backend inside the quiet block

    import keras_i3d
    from keras_i3d.video.decode import read_gif
    from keras_i3d.weights.deepmind import sample_clip

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("video", nargs="?")
parser.add_argument("--stream", choices=("rgb", "joint"), default="rgb")
parser.add_argument("--clip-frames", type=int, default=64)
parser.add_argument("--stride", type=int, default=32)
parser.add_argument("--plot", default="timeline.png")
args = parser.parse_args()

video = args.video
if video is None:  # DeepMind's sample clip as an ordinary video file
    frames = read_gif(sample_clip("rgb"))
    video = str(Path(tempfile.mkdtemp()) / "cricket.mp4")
    with av.open(video, "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())

if args.stream == "joint":
    model = keras_i3d.TwoStreamI3D(rgb_weights="kinetics400_rgb", flow_weights="kinetics400_flow",
                                   classifier_activation=None)  # fmt: skip
else:
    model = keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)

result = keras_i3d.predict_video(model, video, clip_frames=args.clip_frames, stride=args.stride)
print(f"{Path(video).name}: {result.frames / result.fps:.2f} s, {len(result.starts)} windows")
for rank, (label, probability) in enumerate(result.top(5), 1):
    print(f"{rank}. {label:<40} {probability:.4f}")
print(keras_i3d.plot_timeline(result, args.plot))
