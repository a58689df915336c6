"""Serving: SavedModel and ONNX exports for TF Serving, Triton and onnxruntime, from a model built on any backend.

Owns `keras_i3d.serving.export` (`export_saved_model`, `export_onnx`,
`export_model`: the steps, the verification, what is published),
`keras_i3d.serving.options` (what the signatures need, checked against the
model), `keras_i3d.serving.signatures` (the TensorFlow graph),
`keras_i3d.serving.onnx_convert` (tf2onnx), `keras_i3d.serving.onnx_runtime`
(running a file with onnxruntime), `keras_i3d.serving.triton` (Triton's
``config.pbtxt``), `keras_i3d.serving.route` (the TensorFlow subprocess for
JAX and PyTorch models) and `keras_i3d.serving.publish` (version folders).

May import: `keras_i3d.applications`, `keras_i3d.weights`, `keras_i3d.video`,
`keras_i3d.model` and everything below them.
"""
