"""The fine-tuning recipe's defaults, importable without Keras (``keras-i3d finetune --help`` shows them)."""

from __future__ import annotations

#: Optimizers of `keras_i3d.training.finetune.finetune`.
OPTIMIZERS = ("adam", "sgd")
#: Learning rate of the fine-tuning recipe.
DEFAULT_LEARNING_RATE = 1e-4
#: SGD's momentum.
MOMENTUM = 0.9
#: Dropout before the new classifier (upstream trained with 0.5).
DEFAULT_DROPOUT = 0.5
#: Which per-epoch checkpoints `keras_i3d.training.finetune.finetune` keeps: the best and the last
#: epoch's (default), the last only, every epoch's, or none.
CHECKPOINT_POLICIES = ("best", "last", "all", "none")
