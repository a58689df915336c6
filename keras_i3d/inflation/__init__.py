"""2D -> 3D: `inflate`, its layer rules and layers, the boring-video check, inflated weights files.

Owns `keras_i3d.inflation.inflate` (the graph replay and kernel inflation),
`keras_i3d.inflation.rules` (how each 2D layer class inflates),
`keras_i3d.inflation.layers` (``TimeSame*`` layers),
`keras_i3d.inflation.boring_video` and `keras_i3d.inflation.files`.

``keras_i3d.inflation`` was one module before the package had folders: its
names (``inflate``, ``i3d_differences``, ``I3D_TIME_KERNELS``, ...) still
resolve here, to the objects of `keras_i3d.inflation.inflate` and
`keras_i3d.inflation.files`.

May import: `keras_i3d.weights`, `keras_i3d.model` and everything below them
(not `keras_i3d.applications`: both sit on the same level).
"""

from __future__ import annotations

import importlib

_LEGACY_MODULES = ("keras_i3d.inflation.inflate", "keras_i3d.inflation.files")


def __getattr__(name: str):
    if not name.startswith("__"):
        for module_name in _LEGACY_MODULES:
            module = importlib.import_module(module_name)
            if hasattr(module, name):
                return getattr(module, name)
    raise AttributeError(f"module 'keras_i3d.inflation' has no attribute {name!r}")
