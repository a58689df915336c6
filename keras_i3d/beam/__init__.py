"""Dataset-scale jobs on Apache Beam: I3D features and FVD statistics for whole folders of videos.

Owns `keras_i3d.beam.defaults` (the Keras- and Beam-free choices the CLI shows),
`keras_i3d.beam.settings` (what a job computes, as frozen dataclasses that travel to
the workers), `keras_i3d.beam.sources` (the videos of a folder, CSV or glob, local or
on Beam's file systems), `keras_i3d.beam.extraction` (one video in, its features or
FVD embedding out: Keras, no Beam), `keras_i3d.beam.storage` and
`keras_i3d.beam.outputs` (atomic per-video files, the job's record, the index),
`keras_i3d.beam.records` (``tf.train.SequenceExample`` bytes without TensorFlow),
`keras_i3d.beam.library` (the one module that imports ``apache_beam``),
`keras_i3d.beam.handlers` (``ModelHandler``s for Beam's ``RunInference``),
`keras_i3d.beam.transforms` (the reusable ``PTransform``s and the FVD ``CombineFn``)
and `keras_i3d.beam.pipeline` (``keras-i3d extract``'s pipeline).

Importing this package imports no Beam and no Keras; its modules do.

May import: `keras_i3d.fvd`, `keras_i3d.training`, `keras_i3d.applications`, `keras_i3d.weights`,
`keras_i3d.video`, `keras_i3d.preprocessing`, `keras_i3d.model` and everything below them.
"""
