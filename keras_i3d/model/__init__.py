"""The network itself, in ``keras.layers`` / ``keras.ops`` only: no files, no downloads, no backend branches.

Owns DeepMind's architecture (names, stem, Inception blocks, the ``Logits`` head:
`keras_i3d.model.architecture`), the custom layers (TF ``SAME`` padding, the
clip-shape check), `I3DModel`, the clip checks shared with preprocessing, and
the inference-only fused layers with `fuse_for_inference`.

May import: `keras_i3d.errors`, `keras_i3d.presets`, `keras_i3d.utils`.
"""
