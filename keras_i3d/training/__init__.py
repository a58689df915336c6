"""Training: TFRecord datasets, the tf.data pipeline, transfer learning, fine-tuning, distribution.

Owns `keras_i3d.training.record_format` (the SequenceExample layout),
`keras_i3d.training.dataset_writer` (videos -> TFRecords, resumable),
`keras_i3d.training.data` (``clip_dataset``, held-out splits), `keras_i3d.training.transfer`
(heads and freezing), `keras_i3d.training.features` (cached features and a head fitted on
them), `keras_i3d.training.finetune` (the two-stage recipe) and `keras_i3d.training.distribute`.

May import: `keras_i3d.applications`, `keras_i3d.weights`, `keras_i3d.video`,
`keras_i3d.model` and everything below them.
"""
