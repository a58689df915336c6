"""Weights, one way: describe -> check -> fetch -> verify -> load.

Owns the presets' files and DeepMind's originals: `keras_i3d.weights.spec`
(what a ``weights`` argument names, and whether it fits a network),
`keras_i3d.weights.fetch` (cache -> local data -> mirror -> DeepMind),
`keras_i3d.weights.files` (``.weights.h5`` with its sidecar and config),
`keras_i3d.weights.load`, the NumPy checkpoint reader
(`keras_i3d.weights.tensor_bundle`), conversion and parity on the sample clip
(`keras_i3d.weights.checkpoints`) and DeepMind's data folder
(`keras_i3d.weights.deepmind`).

May import: `keras_i3d.video`, `keras_i3d.model` and everything below them.
"""
