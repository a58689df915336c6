"""Cached backbone features and a linear head fitted on them: stage 1 of the fine-tuning recipe.

A fine-tuning model's head is DeepMind's: average pool, dropout, a 1x1x1
convolution with bias, mean over time. The convolution is linear, so the head's
logits are an affine function of one vector per clip, the pooled ``Mixed_5c``
features averaged over time (the output of ``Logits_avg_pool``). With the
backbone frozen, those vectors can be computed once (`cache_features`), and
the head trained on them to convergence in a fraction of a second
(`fit_linear_head`: multinomial logistic regression on standardised
features, its L2 penalty chosen on validation data), then written into the
model's classifier (`set_linear_head`), with the standardisation folded in.
The model then computes exactly what the fitted head computes.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection

import keras
import numpy as np

from keras_i3d.model.architecture import LOGITS_CONV_SCOPE, scope_to_layer_name
from keras_i3d.training.data import clip_dataset
from keras_i3d.utils import progress as progress_lib

#: The head's pooled features: one vector per clip (time-averaged pooled ``Mixed_5c``).
POOLED_FEATURES_LAYER = "Logits_avg_pool"
#: L2 penalties tried by `fit_linear_head` (on standardised features; mean cross-entropy + l2 * |W|^2).
L2_PENALTIES = (1e-4, 1e-3, 1e-2, 1e-1)
#: Full-batch Adam steps per penalty, and its learning rate (the problem is convex and smooth).
HEAD_STEPS = 2000
HEAD_LEARNING_RATE = 0.01
#: `fit_linear_head` stops early once no gradient component exceeds this.
GRADIENT_TOLERANCE = 1e-6
#: `LinearHead.trajectory` holds the metrics every this many optimisation steps.
MONITOR_EVERY = 10


@dataclasses.dataclass(frozen=True)
class FeatureSet:
    """Pooled backbone features of clips, with their labels.

    Attributes:
        features: float32 ``(clips, channels)``.
        labels: int32 ``(clips,)`` class indices.
        views: clips per video: 1 for the centre clip alone, more with augmented views.
    """

    features: np.ndarray
    labels: np.ndarray
    views: int = 1

    def __post_init__(self):
        if self.features.ndim != 2 or self.labels.shape != (self.features.shape[0],):
            raise ValueError(
                f"features must be (clips, channels) with one label per clip; got {self.features.shape} "
                f"and {self.labels.shape}."
            )


@dataclasses.dataclass(frozen=True)
class LinearHead:
    """A linear classifier on raw pooled features (standardisation folded in).

    Attributes:
        kernel: float32 ``(channels, classes)``.
        bias: float32 ``(classes,)``.
        l2: the L2 penalty chosen.
        train_accuracy: accuracy on the training features.
        val_accuracy: accuracy on the validation features (``None`` without them).
        scores: ``{l2: validation accuracy}`` of every penalty tried (empty without validation features).
        trajectory: the chosen penalty's fit: ``step``, ``loss``, ``accuracy`` (and ``val_loss``,
            ``val_accuracy`` with validation features) every `MONITOR_EVERY` optimisation steps, as
            learning curves (mean cross-entropy without the penalty).
    """

    kernel: np.ndarray
    bias: np.ndarray
    l2: float
    train_accuracy: float
    val_accuracy: float | None
    scores: dict
    trajectory: dict = dataclasses.field(default_factory=dict, repr=False)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """The head's logits for raw pooled features ``(clips, channels)``."""
        return np.asarray(features, np.float32) @ self.kernel + self.bias

    def evaluate(self, features: FeatureSet) -> tuple[float, float]:
        """``(mean cross-entropy, accuracy)`` of the head on ``features`` (as Keras' ``loss`` and ``accuracy``)."""
        logits = self.logits(features.features).astype(np.float64)
        return _cross_entropy(logits, features.labels), _accuracy(logits, features.labels)


def pooled_feature_model(model: keras.Model) -> keras.Model:
    """What a fine-tuning model's classifier reads: clips in, pooled features ``(batch, 1, 1, 1, channels)`` out.

    The layers (and weights) are ``model``'s own, e.g. of `keras_i3d.training.transfer.fine_tuning_model`.

    Raises:
        ValueError: for a model without DeepMind's head (no ``Logits_avg_pool`` layer).
    """
    try:
        layer = model.get_layer(POOLED_FEATURES_LAYER)
    except ValueError:
        raise ValueError(
            f"{model.name!r} has no {POOLED_FEATURES_LAYER!r} layer: give a model with DeepMind's head "
            "(keras_i3d.training.transfer.replace_head or fine_tuning_model)."
        ) from None
    return keras.Model(model.input, layer.output, name=f"{model.name}_pooled_features")


def cache_features(
    model: keras.Model,
    dataset: str | os.PathLike,
    frames: int,
    size: int,
    views: int = 1,
    stream: str = "rgb",
    batch_size: int = 8,
    seed: int = 0,
    progress: bool = True,
    videos: Collection[str] | None = None,
) -> FeatureSet:
    """Computes the pooled features of a dataset's clips once: the centre clip of every video, and augmented views.

    Args:
        model: a fine-tuning model with DeepMind's head (see `pooled_feature_model`).
        dataset: a `keras-i3d dataset` folder or a glob of its TFRecords.
        frames: frames per clip.
        size: crop size.
        views: clips per video: the centre clip, then ``views - 1`` random
            ones (temporal and spatial crop, flip: `keras_i3d.training.data.clip_dataset`'s training
            augmentation), each drawn from ``seed``.
        stream: ``"rgb"`` or ``"flow"``.
        batch_size: clips per forward pass.
        seed: the augmented views' seed.
        progress: show a progress bar.
        videos: only these videos (keys of `keras_i3d.training.data.holdout_split`); ``None``: all.

    Returns:
        A `FeatureSet` of ``videos * views`` clips: the centre clips first, in
        `keras_i3d.training.data.video_keys`' order, then each augmented view's.
    """
    if isinstance(views, bool) or not isinstance(views, int) or views < 1:
        raise ValueError(f"`views` must be a positive int; got {views!r}.")
    extractor = pooled_feature_model(model)
    features, labels = [], []
    for view in range(views):
        clips = clip_dataset(
            dataset, frames, size, batch_size, training=view > 0, stream=stream, seed=seed + view,
            drop_remainder=False, videos=videos,
        )  # fmt: skip
        description = "centre clips" if view == 0 else f"augmented view {view}/{views - 1}"
        for x, y in progress_lib.bar(clips, progress=progress, desc=f"features: {description}", unit="batch"):
            pooled = keras.ops.convert_to_numpy(extractor.predict_on_batch(x.numpy()))
            features.append(pooled.reshape(pooled.shape[0], -1).astype(np.float32))
            labels.append(y.numpy().astype(np.int32))
    return FeatureSet(np.concatenate(features), np.concatenate(labels), views)


def _fit_softmax(x: np.ndarray, y: np.ndarray, classes: int, l2: float, steps: int, learning_rate: float, monitor=None):
    """Multinomial logistic regression by full-batch Adam: mean cross-entropy + ``l2 * |W|^2``.

    ``monitor(step, kernel, bias)``, if given, sees the parameters every `MONITOR_EVERY` steps and at the end.
    """
    n, d = x.shape
    params = [np.zeros((d, classes)), np.zeros(classes)]  # kernel, bias
    first = [np.zeros_like(p) for p in params]
    second = [np.zeros_like(p) for p in params]
    onehot = np.eye(classes)[y]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, steps + 1):
        z = x @ params[0] + params[1]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) / n
        grads = (x.T @ g + 2 * l2 * params[0], g.sum(axis=0))
        if max(float(np.abs(grad).max()) for grad in grads) < GRADIENT_TOLERANCE:
            break  # converged
        if monitor is not None and (step - 1) % MONITOR_EVERY == 0:
            monitor(step - 1, *params)
        for i, grad in enumerate(grads):
            first[i] = beta1 * first[i] + (1 - beta1) * grad
            second[i] = beta2 * second[i] + (1 - beta2) * grad**2
            params[i] -= learning_rate * (first[i] / (1 - beta1**step)) / (np.sqrt(second[i] / (1 - beta2**step)) + eps)
    if monitor is not None:
        monitor(step, *params)
    return params[0], params[1]


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=1) == labels)) if len(labels) else float("nan")


def _cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Mean softmax cross-entropy of ``logits`` ``(clips, classes)`` against class indices."""
    logits = logits - logits.max(axis=1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-np.mean(log_p[np.arange(len(labels)), labels])) if len(labels) else float("nan")


def fit_linear_head(
    train: FeatureSet,
    classes: int,
    val: FeatureSet | None = None,
    l2_penalties: tuple[float, ...] = L2_PENALTIES,
    steps: int = HEAD_STEPS,
    learning_rate: float = HEAD_LEARNING_RATE,
) -> LinearHead:
    """Fits a softmax classifier on standardised features, choosing its L2 penalty on ``val``.

    Each penalty's classifier is trained to convergence (full-batch Adam from
    zero, at most ``steps`` steps, until no gradient component exceeds
    `GRADIENT_TOLERANCE`: deterministic). With ``val``, the penalty of
    the best validation accuracy wins (ties: the lower validation
    cross-entropy); without it, the smallest penalty.

    Args:
        train: training features (`cache_features`).
        classes: number of classes.
        val: validation features, one centre clip per video.
        l2_penalties: the penalties tried.
        steps: optimisation steps per penalty.
        learning_rate: Adam's learning rate.

    Returns:
        A `LinearHead` on raw features (`set_linear_head` writes it into a model).
    """
    if len(train.labels) == 0:
        raise ValueError("No training features: the dataset gave no clips.")
    if train.labels.min() < 0 or train.labels.max() >= classes:
        raise ValueError(f"Training labels must lie in [0, {classes}); got {train.labels.min()}..{train.labels.max()}.")
    x = train.features.astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    standard = (x - mean) / scale
    candidates = []
    sets = {"": (standard, train.labels)}
    if val is not None:
        sets["val_"] = ((val.features.astype(np.float64) - mean) / scale, val.labels)
    for l2 in l2_penalties if val is not None else (min(l2_penalties),):
        trajectory: dict[str, list[float]] = {"step": []}

        def monitor(step, w, b, trajectory=trajectory):
            trajectory["step"].append(step)
            for prefix, (features, labels) in sets.items():
                logits = features @ w + b
                trajectory.setdefault(prefix + "loss", []).append(_cross_entropy(logits, labels))
                trajectory.setdefault(prefix + "accuracy", []).append(_accuracy(logits, labels))

        w, b = _fit_softmax(standard, train.labels, classes, l2, steps, learning_rate, monitor)
        kernel, bias = w / scale[:, None], b - (mean / scale) @ w  # on raw features
        score = (float("nan"), 0.0)
        if val is not None:
            score = (trajectory["val_accuracy"][-1], trajectory["val_loss"][-1])
        candidates.append((l2, kernel, bias, score, trajectory))
    l2, kernel, bias, score, trajectory = max(candidates, key=lambda c: (c[3][0], -c[3][1]) if val is not None else 0)
    return LinearHead(
        kernel=kernel.astype(np.float32),
        bias=bias.astype(np.float32),
        l2=float(l2),
        train_accuracy=_accuracy(x @ kernel + bias, train.labels),
        val_accuracy=score[0] if val is not None else None,
        scores={float(c[0]): c[3][0] for c in candidates} if val is not None else {},
        trajectory=trajectory,
    )


def set_linear_head(model: keras.Model, head: LinearHead) -> None:
    """Writes a `LinearHead` into the model's classifier (DeepMind's ``Logits/Conv3d_0c_1x1``).

    Raises:
        ValueError: if the classifier's shape is not ``head``'s.
    """
    layer = model.get_layer(scope_to_layer_name(LOGITS_CONV_SCOPE) + "_conv_3d")
    kernel, bias = layer.get_weights()
    if kernel.shape[-2:] != head.kernel.shape or bias.shape != head.bias.shape:
        raise ValueError(
            f"The head fits {head.kernel.shape[0]} features to {head.kernel.shape[1]} classes; the model's classifier "
            f"takes {kernel.shape[-2]} to {kernel.shape[-1]}."
        )
    layer.set_weights([head.kernel.reshape(kernel.shape).astype(kernel.dtype), head.bias.astype(bias.dtype)])
