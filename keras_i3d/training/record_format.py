"""The TFRecord layout of `keras-i3d dataset`: one `tf.train.SequenceExample` per video.

The names follow MediaPipe's MediaSequence (the layout DeepMind's own video
pipelines used), so other readers of that format find what they expect:

Context (one value per video):
    ``clip/data_path`` (bytes), ``clip/label/index`` (int64), ``clip/label/string``
    (bytes), ``clip/start/timestamp`` and ``clip/end/timestamp`` (int64,
    microseconds in the source video), ``image/format`` (``JPEG``),
    ``image/height``, ``image/width``, ``image/channels`` (int64),
    ``image/frame_rate`` (float), and with flow ``FORWARD_FLOW/image/format``
    (``PNG``) and ``FORWARD_FLOW/image/flow_bound`` (float, 20).
Feature lists (one value per frame):
    ``image/encoded`` (JPEG bytes), ``image/timestamp`` (int64 microseconds),
    and with flow ``FORWARD_FLOW/image/encoded`` (PNG bytes).

Frames are RGB at 25 fps with the short side resized to 256 (not cropped).
Flow is TV-L1 between consecutive frames, one field fewer than frames,
quantised to 8 bits per component, ``q = 128 + round(127 * clip(f, -20, 20) /
20)``, and stored losslessly in the red (x) and green (y) channels of a PNG
(blue is 0). Reading it back as ``(q - 128) / 127`` gives DeepMind's ``[-1, 1]``
input exactly, zero flow included.
"""

from __future__ import annotations

import numpy as np

#: Bumped when the layout changes; stored in the manifest.
FORMAT_VERSION = 1

DATA_PATH = "clip/data_path"
LABEL_INDEX = "clip/label/index"
LABEL_STRING = "clip/label/string"
START_TIMESTAMP = "clip/start/timestamp"
END_TIMESTAMP = "clip/end/timestamp"
IMAGE_FORMAT = "image/format"
IMAGE_HEIGHT = "image/height"
IMAGE_WIDTH = "image/width"
IMAGE_CHANNELS = "image/channels"
FRAME_RATE = "image/frame_rate"
IMAGE_ENCODED = "image/encoded"
IMAGE_TIMESTAMP = "image/timestamp"
FLOW_FORMAT = "FORWARD_FLOW/image/format"
FLOW_BOUND_KEY = "FORWARD_FLOW/image/flow_bound"
FLOW_ENCODED = "FORWARD_FLOW/image/encoded"

#: Flow is clipped to +-FLOW_BOUND pixels before quantising (DeepMind's bound).
FLOW_BOUND = 20.0
#: The quantised value of zero flow, and the step per FLOW_BOUND / FLOW_LEVELS pixels.
FLOW_ZERO = 128
FLOW_LEVELS = 127

#: File names inside a dataset folder.
LABELS_FILE = "labels.txt"
MANIFEST_FILE = "manifest.json"
PLAN_FILE = "plan.json"
REPORT_FILE = "skipped.txt"
SHARD_SUFFIX = ".tfrecord"


def shard_name(index: int, count: int) -> str:
    """``clips-00003-of-00016.tfrecord``."""
    return f"clips-{index:05d}-of-{count:05d}{SHARD_SUFFIX}"


def quantize_flow(flow: np.ndarray) -> np.ndarray:
    """TV-L1 flow in pixels ``(H, W, 2)`` -> uint8 ``(H, W, 3)`` image (x in red, y in green, blue 0)."""
    flow = np.asarray(flow, np.float32)
    q = FLOW_ZERO + np.rint(np.clip(flow, -FLOW_BOUND, FLOW_BOUND) * (FLOW_LEVELS / FLOW_BOUND))
    image = np.zeros((*flow.shape[:2], 3), np.uint8)
    image[..., :2] = q.astype(np.uint8)
    return image


def dequantize_flow(image: np.ndarray) -> np.ndarray:
    """The inverse of `quantize_flow`, scaled as the network takes flow: float32 ``(H, W, 2)`` in ``[-1, 1]``."""
    return (np.asarray(image, np.float32)[..., :2] - FLOW_ZERO) / FLOW_LEVELS
