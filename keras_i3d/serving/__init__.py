"""Serving: the SavedModel export for TF Serving, from a model built on any backend.

May import: `keras_i3d.applications`, `keras_i3d.weights`, `keras_i3d.video`,
`keras_i3d.model` and everything below them.
"""
