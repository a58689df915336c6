"""FVD's options, importable without Keras or NumPy (``keras-i3d fvd --help`` shows them)."""

from __future__ import annotations

#: The frame preprocessing conventions (`keras_i3d.fvd.resize`); ``"reference"`` is the FVD reference's.
RESIZE_MODES = ("reference", "half_pixel", "center_crop")
#: Frames per clip taken from video files when ``frames`` is not given (the common FVD setting).
DEFAULT_FRAMES = 16
#: The network needs at least this many frames: after its 8x temporal stride, the Logits pool spans 2 steps.
MIN_FRAMES = 9
#: How clips are taken from video files (`keras_i3d.fvd.clips.ClipSampling`): the first frames
#: (from a start), frames spread evenly over the video, or a seeded random clip.
CLIP_SAMPLINGS = ("first", "even", "random")
