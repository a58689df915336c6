"""keras_i3d.beam in a Beam pipeline of your own: a folder's I3D features, then a step of your own.

    python examples/beam_pipeline.py [VIDEO_FOLDER] [OUT]

Without arguments it writes three short synthetic videos into a temporary folder. `ExtractVideos`
writes each video's features (OUT/<name>.npy and its sidecar) as `keras-i3d extract` does, skipping
videos already done; the pipeline then adds a step of its own: each video's mean feature vector,
printed. Uses the kinetics400_rgb preset (converted from $KINETICS_I3D_DATA, or downloaded once).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import apache_beam as beam
import av
import numpy as np

from keras_i3d.beam.outputs import OutputLayout, check_record
from keras_i3d.beam.pipeline import pipeline_options
from keras_i3d.beam.settings import ExtractSettings, NetworkSpec
from keras_i3d.beam.sources import find_tasks
from keras_i3d.beam.transforms import ExtractVideos, WriteIndex


def synthetic_videos(folder: Path) -> Path:
    """Three 1-second videos of a bright square moving over noise."""
    rng = np.random.default_rng(0)
    for i in range(3):
        with av.open(str(folder / f"square{i}.mp4"), "w") as container:
            stream = container.add_stream("libx264", rate=25)
            stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
            for t in range(25):
                frame = rng.integers(0, 80, (240, 320, 3), dtype=np.uint8)
                frame[100:140, 10 + (4 + i) * t : 50 + (4 + i) * t] = 255
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
    return folder


def describe(outcome: dict, layout: OutputLayout) -> str:
    """A step of your own after ExtractVideos: here, a line about the video's features."""
    features = np.load(layout.array_path(outcome["name"]))
    return f"{outcome['name']}: {features.shape[0]} windows x {features.shape[1]}, mean {features.mean():.4f}"


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="beam-example-"))
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else synthetic_videos(work)
    out = sys.argv[2] if len(sys.argv) > 2 else str(work / "features")
    settings = ExtractSettings(NetworkSpec("rgb"), clip_frames=16, stride=8)
    layout = OutputLayout(out)
    check_record(layout, settings.record())  # refuses a folder holding another job's outputs
    with beam.Pipeline(options=pipeline_options("DirectRunner", num_workers=1)) as pipeline:
        outcomes = pipeline | beam.Create(find_tasks(source)) | ExtractVideos(settings, layout)
        outcomes | WriteIndex(settings, layout)
        (
            outcomes
            | "Finished" >> beam.Filter(lambda outcome: outcome["status"] != "failed")
            | "Mean" >> beam.Map(lambda outcome: (outcome["name"], np.load(layout.array_path(outcome["name"]))))
            | "Print"
            >> beam.MapTuple(lambda name, f: print(f"{name}: {f.shape[0]} windows, mean |f| {abs(f).mean():.4f}"))
        )
    print(f"features and index.json in {out}")


if __name__ == "__main__":
    main()
