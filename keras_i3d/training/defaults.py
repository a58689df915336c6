"""The fine-tuning recipe's defaults, importable without Keras (``keras-i3d finetune --help`` shows them)."""

from __future__ import annotations

#: Optimizers of `keras_i3d.training.finetune.finetune`.
OPTIMIZERS = ("adam", "sgd")
#: Learning rate of the recipe's stage 2 (Adam), after stage 1's converged head: 1e-4 knocked validation
#: accuracy from 0.94 to 0.53 in the first epoch on docs/training.md's motion dataset; 1e-5 kept and improved it.
DEFAULT_LEARNING_RATE = 1e-5
#: SGD's momentum.
MOMENTUM = 0.9
#: Dropout before the new classifier (upstream trained with 0.5).
DEFAULT_DROPOUT = 0.5
#: Which per-epoch checkpoints `keras_i3d.training.finetune.finetune` keeps: the best and the last
#: epoch's (default), the last only, every epoch's, or none.
CHECKPOINT_POLICIES = ("best", "last", "all", "none")
#: Stage 2 of the recipe (the top blocks trained at a low learning rate): ``auto`` runs it from
#: `STAGE2_AUTO_VIDEOS` training videos, ``yes`` always, ``no`` never.
STAGE2_CHOICES = ("auto", "yes", "no")
#: ``--stage2 auto`` runs stage 2 when the training side holds at least this many videos (docs/training.md).
STAGE2_AUTO_VIDEOS = 1000
#: Clips per training video whose features stage 1 caches: the centre clip and 3 augmented views.
DEFAULT_VIEWS = 4
#: Without validation data, this fraction of each class's training videos is held out (seeded).
DEFAULT_HOLDOUT = 0.2
#: Stage 2 stops after this many epochs without a better validation accuracy.
DEFAULT_PATIENCE = 3
