"""Benchmarks (``keras-i3d bench``): the model, the input pipeline, TV-L1 flow, FLOP counts, reports.

Owns `keras_i3d.bench.model` (one measurement per process),
`keras_i3d.bench.backends` (a backend's device, peak and memory),
`keras_i3d.bench.flops` (the analytic operation count),
`keras_i3d.bench.pipeline` (clips/s of the input pipeline) and
`keras_i3d.bench.flow` (TV-L1 pairs/s, OpenCV's and the keras.ops port's).

``keras_i3d.bench`` was the pipeline benchmark module before the package had
folders: its names still resolve here, to the objects of `keras_i3d.bench.pipeline`.

May import: `keras_i3d.training`, `keras_i3d.serving`, `keras_i3d.fvd` and everything below them.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    return getattr(importlib.import_module("keras_i3d.bench.pipeline"), name)
