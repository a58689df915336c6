"""Pictures: the timeline of a video's top classes, learning curves, confusion matrices (matplotlib, [video] extra)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from keras_i3d.utils.files import atomic_path
from keras_i3d.video.decode import require_extra

try:  # the [video] extra
    import matplotlib

    matplotlib.use("Agg")  # files only: never needs a display
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator
except ImportError:  # pragma: no cover - exercised in a process without matplotlib
    pyplot = None

_SUFFIXES = (".png", ".svg", ".pdf", ".jpg")


def _picture_path(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a `Path`, if its suffix is a picture format matplotlib writes."""
    require_extra(pyplot, "matplotlib", "Plotting")
    path = Path(path)
    if path.suffix.lower() not in _SUFFIXES:
        raise ValueError(f"The {what} is a {', '.join(_SUFFIXES)} picture; got {path.name}.")
    return path


def _save(figure, path: Path) -> None:
    """Lays out ``figure`` and writes it to ``path`` atomically, in the format its suffix names."""
    figure.tight_layout()
    with atomic_path(path, suffix=path.suffix) as tmp:
        figure.savefig(tmp, format=path.suffix.lower().lstrip(".").replace("jpg", "jpeg"))


def plot_timeline(prediction, path: str | os.PathLike, top: int = 5, title: str | None = None) -> Path:
    """Draws the video's ``top`` classes' probabilities across its windows.

    One line per class (the video's most probable ones), each window's
    probability plotted at the window's centre, with a band showing the
    window's extent for the top class.

    Args:
        prediction: a `keras_i3d.video.inference.VideoPrediction` with logits.
        path: the picture (``.png``, ``.svg``, ``.pdf`` or ``.jpg``), written atomically.
        top: how many classes to draw.
        title: the title; default the video's name and top class.

    Returns:
        ``path``.

    Raises:
        ValueError: for another suffix, or a prediction without logits.
        MissingExtraError: without matplotlib.
    """
    path = _picture_path(path, "timeline")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"`top` must be a positive int; got {top!r}.")
    probabilities = prediction.probabilities
    classes = [label for label, _ in prediction.top(top)]
    names = list(prediction.labels) if prediction.labels else [str(i) for i in range(probabilities.shape[1])]
    centres = (prediction.starts + prediction.ends) / 2
    figure, axes = pyplot.subplots(figsize=(9, 3.8), dpi=110)
    try:
        for rank, label in enumerate(classes):
            index = names.index(label)
            axes.plot(centres, probabilities[:, index], marker="o", markersize=3, linewidth=2 if rank == 0 else 1.2)
            axes.lines[-1].set_label(f"{label} ({prediction.video_probabilities[index]:.2f})")
        first = names.index(classes[0])
        for start, end, p in zip(prediction.starts, prediction.ends, probabilities[:, first], strict=True):
            axes.fill_between([start, end], 0, p, color="C0", alpha=0.06, linewidth=0)
        axes.set_xlim(0, max(float(np.max(prediction.ends)), 1e-3))
        axes.set_ylim(0, 1.02)
        axes.set_xlabel("time (s)")
        axes.set_ylabel("probability")
        name = Path(prediction.source).name if prediction.source else "video"
        axes.set_title(title or f"{name}: {classes[0]}", fontsize=11)
        axes.grid(alpha=0.3)
        axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
        _save(figure, path)
    finally:
        pyplot.close(figure)
    return path


def plot_history(
    history: dict[str, list[float]],
    path: str | os.PathLike,
    title: str | None = None,
    first_epoch: int = 1,
    x_label: str = "epoch",
    x_values: list[float] | None = None,
) -> Path:
    """Draws learning curves: loss and accuracy per epoch, training and validation.

    Args:
        history: ``keras.callbacks.History.history``-style lists by metric
            (``loss``, ``val_loss``, ``accuracy``, ...); missing ones are skipped.
        path: the picture (``.png``, ``.svg``, ``.pdf`` or ``.jpg``), written atomically.
        title: the figure's title.
        first_epoch: the number of the first values' epoch (``finetune`` draws its
            stage 1, the head fitted on cached features, as epoch 0).
        x_label: the horizontal axis' label.
        x_values: the horizontal position of each value (e.g. optimisation steps) instead of epochs.

    Returns:
        ``path``.

    Raises:
        ValueError: for another suffix or an empty history.
        MissingExtraError: without matplotlib.
    """
    path = _picture_path(path, "learning-curve picture")
    if not history.get("loss"):
        raise ValueError("The history holds no epochs (no 'loss' values).")
    figure, panels = pyplot.subplots(1, 2, figsize=(9, 3.6), dpi=110)
    try:
        for axes, metric in zip(panels, ("loss", "accuracy"), strict=True):
            for prefix, style in (("", "-"), ("val_", "--")):
                values = history.get(prefix + metric)
                if values:
                    epochs = np.arange(first_epoch, first_epoch + len(values)) if x_values is None else x_values
                    marker = "o" if len(values) <= 50 else None
                    axes.plot(epochs, values, style, marker=marker, markersize=3, label=prefix.rstrip("_") or "train")
            axes.set_xlabel(x_label)
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            if len(history["loss"]) == 1:  # one epoch: a point, with the epoch's number the only tick
                axes.set_xlim(first_epoch - 1, first_epoch + 1)
            axes.set_ylabel(metric)
            axes.grid(alpha=0.3)
            if axes.lines:
                axes.legend(fontsize=8, frameon=False)
            if metric == "accuracy":
                axes.set_ylim(0, 1.02)
        figure.suptitle(title or "learning curves", fontsize=11)
        _save(figure, path)
    finally:
        pyplot.close(figure)
    return path


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int) -> np.ndarray:
    """Counts ``(classes, classes)``: row = true class, column = predicted class.

    Raises:
        ValueError: for labels or predictions outside ``[0, classes)``, or of different lengths.
    """
    labels, predictions = np.asarray(labels).ravel(), np.asarray(predictions).ravel()
    if labels.shape != predictions.shape:
        raise ValueError(f"{labels.size} labels but {predictions.size} predictions.")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.size and (values.min() < 0 or values.max() >= classes):
            raise ValueError(f"{name} must lie in [0, {classes}); got {values.min()}..{values.max()}.")
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return matrix


def plot_confusion_matrix(
    matrix: np.ndarray, class_names: list[str] | tuple[str, ...], path: str | os.PathLike, title: str | None = None
) -> Path:
    """Draws a confusion matrix (`confusion_matrix`): each row as fractions of its class, with the counts.

    Args:
        matrix: counts ``(classes, classes)``, row = true class, column = predicted.
        class_names: one name per class.
        path: the picture (``.png``, ``.svg``, ``.pdf`` or ``.jpg``), written atomically.
        title: the figure's title (default: the overall accuracy).

    Returns:
        ``path``.

    Raises:
        ValueError: for another suffix, a matrix that is not square, or names that do not match it.
        MissingExtraError: without matplotlib.
    """
    path = _picture_path(path, "confusion-matrix picture")
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] != len(class_names):
        count = len(class_names)
        raise ValueError(f"A confusion matrix of {count} classes is {count} x {count}; got {matrix.shape}.")
    totals = matrix.sum(axis=1, keepdims=True)
    fractions = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    classes = len(class_names)
    side = min(3.0 + 0.45 * classes, 30.0)
    figure, axes = pyplot.subplots(figsize=(side + 1.5, side), dpi=110)
    try:
        image = axes.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
        figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="fraction of the true class")
        axes.set_xticks(range(classes), class_names, rotation=60, ha="right", fontsize=8)
        axes.set_yticks(range(classes), class_names, fontsize=8)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        if classes <= 30:  # counts stay readable
            for row in range(classes):
                for column in range(classes):
                    if matrix[row, column]:
                        dark = fractions[row, column] > 0.5
                        axes.text(column, row, str(matrix[row, column]), ha="center", va="center", fontsize=7,
                                  color="white" if dark else "black")  # fmt: skip
        total = int(matrix.sum())
        accuracy = np.trace(matrix) / total if total else float("nan")
        axes.set_title(title or f"accuracy {accuracy:.3f} ({int(np.trace(matrix))} of {total})", fontsize=11)
        _save(figure, path)
    finally:
        pyplot.close(figure)
    return path
