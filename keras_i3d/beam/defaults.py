"""``keras-i3d extract``'s choices, importable without Keras, NumPy or Beam (``--help`` shows them)."""

from __future__ import annotations

#: Output formats: one ``.npy`` per video, sharded TFRecords of SequenceExamples, or both.
FORMATS = ("npy", "tfrecord", "both")
#: ``--fps``: DeepMind's recipe resamples to 25 fps; ``native`` keeps every decoded frame.
DEFAULT_FPS = 25.0
NATIVE_FPS = "native"
#: Window pooling: ``avg`` averages each window's feature map over time and space; ``none`` keeps it.
POOLS = ("avg", "none")
#: The runner ``keras-i3d extract`` uses unless ``--runner`` names another.
DEFAULT_RUNNER = "DirectRunner"
#: The command that installs Apache Beam.
BEAM_EXTRA = 'pip install "keras-i3d[beam]"'
#: Videos per TFRecord shard (the shard count follows from the number of finished videos).
VIDEOS_PER_SHARD = 256
