"""Videos in, clips and predictions out: decoding, DeepMind's recipe on frames, TV-L1 flow, pictures.

Owns `keras_i3d.video.decode` (PyAV and GIF decoding at a fixed frame rate),
`keras_i3d.video.flow` (TV-L1 optical flow: both implementations, and its cache),
`keras_i3d.video.tvl1` (TV-L1 in keras.ops, batched), `keras_i3d.video.defaults`
(the Keras-free choices),
`keras_i3d.video.flow_pictures` and `keras_i3d.video.plots` (pictures), and
`keras_i3d.video.inference` (whole-video inference in windows).

``keras_i3d.video`` was the decoding module before the package had folders:
its names (``read_video``, ``iter_frames``, ``read_gif``, ...) still resolve
here, to the objects of `keras_i3d.video.decode`.

May import: `keras_i3d.model`, `keras_i3d.preprocessing` and everything below them.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module("keras_i3d.video.decode"), name)
