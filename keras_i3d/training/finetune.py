"""`finetune`: the fine-tuning recipe as one call (``keras-i3d finetune``).

Two stages. Stage 1 caches the frozen backbone's pooled features of each
training video (centre clip and augmented views) and fits DeepMind's new
classifier on them to convergence, its regularisation chosen on validation
videos (`keras_i3d.training.features`): a converged linear probe, written into
the model. Stage 2 (asked for, or on large datasets) trains the blocks after an
endpoint at a low learning rate with the paper's augmentation
(`keras_i3d.training.data.clip_dataset`), BatchNorm in inference mode, early
stopping on validation accuracy, and keeps the best weights, stage 1's
included. Then the saved model is evaluated per class on the validation
videos: a CSV log, learning curves, a confusion matrix and an evaluation JSON.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path

import keras
import numpy as np

from keras_i3d.errors import DatasetError, MissingExtraError, one_line
from keras_i3d.model.architecture import FREEZE_UNTIL_ENDPOINT
from keras_i3d.training.data import clip_dataset, dataset_info, holdout_split, record_count, video_keys
from keras_i3d.training.defaults import (  # noqa: F401 - re-exported
    CHECKPOINT_POLICIES,
    DEFAULT_HOLDOUT,
    DEFAULT_LEARNING_RATE,
    DEFAULT_PATIENCE,
    DEFAULT_VIEWS,
    MOMENTUM,
    OPTIMIZERS,
    STAGE2_AUTO_VIDEOS,
    STAGE2_CHOICES,
)
from keras_i3d.training.features import FeatureSet, LinearHead, cache_features, fit_linear_head, set_linear_head
from keras_i3d.training.transfer import DEFAULT_DROPOUT, fine_tuning_model
from keras_i3d.utils.files import (
    atomic_path,
    ensure_writable_dir,
    ensure_writable_file,
    write_json_atomic,
    write_text_atomic,
)
from keras_i3d.utils.quiet import quiet_framework_startup
from keras_i3d.utils.tf_loader import import_tensorflow
from keras_i3d.video.plots import confusion_matrix, plot_confusion_matrix, plot_history


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """How the fine-tuned model does on the validation videos, one centre clip each (DeepMind's evaluation clip).

    Attributes:
        source: what was validated on: the ``val`` dataset, or the held-out share of the training set.
        videos: validation videos.
        accuracy: the fraction classified correctly.
        per_class: ``{class name: accuracy}`` (``nan`` for a class without validation videos).
        confusion: counts ``(classes, classes)``, row = true class, column = predicted.
        held_out: the held-out video keys when no ``val`` was given (else empty).
    """

    source: str
    videos: int
    accuracy: float
    per_class: dict[str, float]
    confusion: np.ndarray
    held_out: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """JSON-ready (``<name>.evaluation.json``)."""
        return {
            "source": self.source,
            "videos": self.videos,
            "accuracy": self.accuracy,
            "per_class": {k: None if np.isnan(v) else v for k, v in self.per_class.items()},
            "confusion": self.confusion.tolist(),
            "held_out": list(self.held_out),
        }


@dataclasses.dataclass(frozen=True)
class FinetuneResult:
    """What `finetune` wrote and measured.

    Attributes:
        model: the fine-tuned ``.keras`` model.
        labels: its class names (also written beside it as ``<name>.labels.txt``).
        history: per-epoch metrics (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``); the first
            values are stage 1's (the head fitted on cached features, "epoch 0"), the rest stage 2's epochs.
        log: the CSV log (one row per epoch, stage 1 as epoch 0).
        curves: the learning-curve picture, or ``None`` when it could not be drawn (no matplotlib).
        checkpoints: stage 2's checkpoints kept (see `CHECKPOINT_POLICIES`; none without stage 2).
        seconds: training time (both stages, feature caching included).
        stage1_seconds: stage 1's part of it (caching the features, fitting the head).
        head: stage 1's fitted head (`keras_i3d.training.features.LinearHead`).
        stage2_epochs: epochs stage 2 ran (0: not run).
        chosen: which weights were saved: ``"stage 1"`` or ``"stage 2, epoch N"``.
        evaluation: the saved model on the validation videos.
        confusion_picture: the confusion-matrix picture, or ``None`` (no matplotlib).
        train_features: stage 1's cached training features (centre clips first, then each augmented view's;
            e.g. to try another classifier on them).
        val_features: the validation videos' centre-clip features.
    """

    model: Path
    labels: tuple[str, ...]
    history: dict[str, list[float]]
    log: Path
    curves: Path | None
    checkpoints: tuple[Path, ...]
    seconds: float
    stage1_seconds: float = 0.0
    head: LinearHead | None = None
    stage2_epochs: int = 0
    chosen: str = "stage 1"
    evaluation: Evaluation | None = None
    confusion_picture: Path | None = None
    train_features: FeatureSet | None = None
    val_features: FeatureSet | None = None


class KeepBest(keras.callbacks.Callback):
    """Keeps the weights of the best epoch by validation accuracy (ties: lower loss), counting the start as a rival.

    The weights the model has when training begins (stage 1's) score ``baseline``;
    an epoch replaces the best only if it is strictly better. Training stops after
    ``patience`` epochs without a better one, and the best weights are restored
    when it ends.

    Args:
        baseline: ``(val_accuracy, val_loss)`` of the starting weights.
        patience: epochs without improvement before stopping.
    """

    def __init__(self, baseline: tuple[float, float], patience: int):
        super().__init__()
        self.best_score = (baseline[0], -baseline[1])
        self.best_epoch = 0  # 0: the starting weights
        self.patience = patience
        self.best_weights = None

    def on_train_begin(self, logs=None):  # noqa: D102 - Keras callback
        self.best_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102 - Keras callback
        logs = logs or {}
        score = (float(logs["val_accuracy"]), -float(logs["val_loss"]))
        if score > self.best_score:
            self.best_score, self.best_epoch, self.best_weights = score, epoch + 1, self.model.get_weights()
        elif epoch + 1 - self.best_epoch >= self.patience:
            self.model.stop_training = True

    def on_train_end(self, logs=None):  # noqa: D102 - Keras callback
        self.model.set_weights(self.best_weights)


class AtomicCheckpoint(keras.callbacks.Callback):
    """Saves the whole model after epochs as ``folder/epoch_003.keras``, atomically, keeping what ``keep`` says.

    Args:
        folder: where the checkpoints go.
        keep: ``"best"`` (the best epoch's by ``monitor`` and the last epoch's: at most two files),
            ``"last"``, ``"all"`` or ``"none"``.
        monitor: the metric that ranks epochs for ``"best"`` (``val_accuracy`` when validating,
            else ``accuracy``; higher is better).
    """

    def __init__(self, folder: Path, keep: str = "best", monitor: str = "val_accuracy"):
        super().__init__()
        if keep not in CHECKPOINT_POLICIES:
            raise ValueError(f"`keep` must be one of {', '.join(CHECKPOINT_POLICIES)}; got {keep!r}.")
        self.folder = folder
        self.keep = keep
        self.monitor = monitor
        self.saved: list[Path] = []
        self.best: tuple[float, Path] | None = None

    def on_epoch_end(self, epoch, logs=None):  # noqa: D102 - Keras callback
        if self.keep == "none":
            return
        path = self.folder / f"epoch_{epoch + 1:03d}.keras"
        save_model_atomic(self.model, path)
        logs = logs or {}
        score = logs.get(self.monitor, logs.get("accuracy"))
        if score is not None and (self.best is None or float(score) > self.best[0]):
            self.best = (float(score), path)
        if self.keep == "all":
            wanted = {*self.saved, path}
        elif self.keep == "last":
            wanted = {path}
        else:
            wanted = {path, *([self.best[1]] if self.best else [])}
        for old in set(self.saved) - wanted:
            old.unlink(missing_ok=True)
        self.saved = sorted(wanted)


def _check_trainable(info, paths: dict) -> None:
    """What makes fine-tuning pointless or impossible, said before any model is built."""
    if len(info.labels) < 2:
        raise DatasetError(f"The dataset has {len(info.labels)} class: a classifier needs at least 2.")
    folder = paths["checkpoints"]
    if folder.is_dir() and any(folder.glob("epoch_*.keras")):
        raise DatasetError(
            f"{folder} holds the checkpoints of an earlier run; write to another --out, or delete them to start over."
        )


def _is_data_error(error: BaseException) -> bool:
    """Whether ``error`` came from reading the dataset (TensorFlow's data errors), not from the model."""
    return type(error).__module__.startswith("tensorflow") and type(error).__name__ in (
        "DataLossError", "InvalidArgumentError", "OutOfRangeError", "NotFoundError",
    )  # fmt: skip


def describe_damage(files, error: BaseException) -> str:
    """One line naming the TFRecord file that cannot be read (each is read through once), or the error's gist."""
    tf = import_tensorflow("Reading TFRecord datasets")
    for path in files:
        try:
            for _ in tf.data.TFRecordDataset(path):
                pass
        except tf.errors.OpError as e:
            return f"{path} is damaged ({one_line(e)}): rewrite it with `keras-i3d dataset` or remove it."
    return f"Reading the dataset failed during training: {one_line(error, prefer=('label',))}"


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> Path:
    """``model.save(path)`` through a temporary file, so ``path`` is complete or absent."""
    path = Path(path)
    with atomic_path(path, suffix=".keras") as tmp, quiet_framework_startup():
        model.save(tmp)
    return path


def output_paths(out: str | os.PathLike) -> dict[str, Path]:
    """The files `finetune` writes for ``out`` (``model.keras``), by kind: log, curves, labels, ... (see `finetune`)."""
    out = Path(out)
    if out.suffix != ".keras":
        raise ValueError(f"The fine-tuned model is saved as a .keras file; got {out.name}.")
    stem = out.with_suffix("")
    return {
        "model": out,
        "log": stem.with_name(stem.name + ".log.csv"),
        "curves": stem.with_name(stem.name + ".curves.png"),
        "labels": stem.with_name(stem.name + ".labels.txt"),
        "confusion": stem.with_name(stem.name + ".confusion.png"),
        "evaluation": stem.with_name(stem.name + ".evaluation.json"),
        "checkpoints": stem.with_name(stem.name + ".checkpoints"),
    }


def finetune(
    dataset: str | os.PathLike,
    out: str | os.PathLike,
    weights: str | None = "kinetics400_rgb",
    stream: str = "rgb",
    frames: int = 64,
    size: int = 224,
    batch_size: int = 8,
    epochs: int = 10,
    freeze_until: str | None = FREEZE_UNTIL_ENDPOINT,
    learning_rate: float = DEFAULT_LEARNING_RATE,
    optimizer: str = "adam",
    dropout_rate: float = DEFAULT_DROPOUT,
    val: str | os.PathLike | None = None,
    seed: int | None = None,
    train_batch_norm: bool = False,
    verbose: int | str = "auto",
    checkpoints: str = "best",
    stage2: str = "auto",
    views: int = DEFAULT_VIEWS,
    holdout: float = DEFAULT_HOLDOUT,
    patience: int = DEFAULT_PATIENCE,
) -> FinetuneResult:
    """Fine-tunes a pre-trained I3D on a `keras-i3d dataset` in two stages and saves it as ``.keras``.

    **Stage 1** (always): the backbone's pooled features of every training video
    are computed once (the centre clip and ``views - 1`` augmented clips,
    `keras_i3d.training.features.cache_features`) and DeepMind's new classifier
    is fitted on them to convergence, its L2 penalty chosen on the validation
    videos (`keras_i3d.training.features.fit_linear_head`). **Stage 2** (see
    ``stage2``): the blocks after ``freeze_until`` and the head train on
    augmented clips at ``learning_rate``, validated after every epoch; it stops
    after ``patience`` epochs without a better validation accuracy, and the best
    weights are kept, stage 1's included, so the saved model is never worse on
    the validation videos than stage 1. docs/training.md has the measurements
    behind these choices.

    Args:
        dataset: training data: a `keras-i3d dataset` folder or a glob of its TFRecords.
        out: the model file (``.keras``). Beside it: ``<name>.log.csv``,
            ``<name>.curves.png``, ``<name>.confusion.png``, ``<name>.evaluation.json``,
            ``<name>.labels.txt`` and ``<name>.checkpoints/epoch_NNN.keras`` (stage 2).
        weights: pre-trained weights (a preset or ``.weights.h5``), ``None`` for random.
        stream: ``"rgb"`` or ``"flow"``.
        frames: frames per clip.
        size: crop size.
        batch_size: clips per step.
        epochs: stage 2's most epochs.
        freeze_until: stage 2 trains the blocks after this endpoint (``None``: everything).
        learning_rate: stage 2's learning rate.
        optimizer: stage 2's optimizer, ``"adam"`` or ``"sgd"`` (momentum 0.9).
        dropout_rate: dropout before the classifier in stage 2.
        val: validation data (centre clips). ``None``: ``holdout`` of each
            class's training videos are held out (seeded by ``seed``, or 0) and
            not trained on; `Evaluation.source` and the CLI say so.
        seed: makes the split, data order and augmentation deterministic.
        train_batch_norm: train BatchNorm on batch statistics in the unfrozen
            blocks in stage 2 (default: inference mode, see `keras_i3d.training.transfer`).
        verbose: progress: Keras' ``fit`` verbosity in stage 2, bars while caching features (``0``: silent).
        checkpoints: which stage-2 checkpoints to keep: ``"best"`` (the best
            epoch's by validation accuracy and the last one's), ``"last"``, ``"all"`` or ``"none"``.
        stage2: ``"auto"`` (run it from `STAGE2_AUTO_VIDEOS` training videos), ``"yes"`` or ``"no"``.
        views: clips per training video whose features stage 1 caches.
        holdout: the held-out fraction without ``val``.
        patience: stage 2's epochs without improvement before it stops.

    Returns:
        A `FinetuneResult`. The saved model loads with
        ``keras.saving.load_model`` (after ``import keras_i3d``) and takes
        clips scaled as `keras_i3d.preprocess_input` does; it outputs class
        probabilities.

    Raises:
        DatasetError: for missing data, or training and validation data with different classes.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("views", views), ("patience", patience)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"`learning_rate` must be a positive number; got {learning_rate!r}.")
    for name, value, allowed in (
        ("optimizer", optimizer, OPTIMIZERS), ("checkpoints", checkpoints, CHECKPOINT_POLICIES),
        ("stage2", stage2, STAGE2_CHOICES),
    ):  # fmt: skip
        if value not in allowed:
            raise ValueError(f"`{name}` must be one of {', '.join(allowed)}; got {value!r}.")
    paths = output_paths(out)
    ensure_writable_file(paths["model"])
    info = dataset_info(dataset)
    if info.labels is None:
        raise DatasetError(f"No labels.txt beside {info.files[0]}: give a folder written by `keras-i3d dataset`.")
    _check_trainable(info, paths)
    split_seed = 0 if seed is None else seed
    val_info = dataset_info(val) if val is not None else None
    with _data_errors(info.files + (val_info.files if val_info is not None else ())):
        plan = _validation_plan(dataset, info, val, val_info, holdout, split_seed)
    run_stage2 = stage2 == "yes" or (stage2 == "auto" and plan.training_videos >= STAGE2_AUTO_VIDEOS)
    if run_stage2 and plan.training_videos < batch_size:
        raise DatasetError(
            f"The training side holds {plan.training_videos} videos, fewer than --batch-size {batch_size} (stage 2 "
            "drops incomplete batches, so not one step would run): lower the batch size."
        )
    if seed is not None:
        keras.utils.set_random_seed(seed)
    classes = len(info.labels)
    model = fine_tuning_model(weights, classes, freeze_until, stream, None, size, dropout_rate, train_batch_norm)
    progress = verbose != 0
    start = time.monotonic()
    with _data_errors(info.files + plan.files):
        train_features = cache_features(
            model, dataset, frames, size, views, stream, batch_size, split_seed, progress, plan.training_keys
        )
        val_features = cache_features(model, plan.source, frames, size, 1, stream, batch_size, split_seed, progress,
                                      plan.validation_keys)  # fmt: skip
    head = fit_linear_head(train_features, classes, val_features)
    set_linear_head(model, head)
    stage1_seconds = time.monotonic() - start
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for prefix, features in (("", train_features), ("val_", val_features)):
        loss, accuracy = head.evaluate(features)
        history[prefix + "loss"].append(loss)
        history[prefix + "accuracy"].append(accuracy)
    kept: tuple[Path, ...] = ()
    stage2_epochs, chosen = 0, "stage 1"
    if run_stage2:
        stage2_history, kept, best_epoch = _stage2(
            model, dataset, plan, frames, size, batch_size, stream, seed, epochs, learning_rate, optimizer,
            checkpoints, patience, (history["val_accuracy"][0], history["val_loss"][0]), paths, verbose, info,
        )  # fmt: skip
        for key, values in history.items():
            values.extend(stage2_history.get(key, []))
        stage2_epochs = len(stage2_history.get("loss", []))
        chosen = f"stage 2, epoch {best_epoch}" if best_epoch else "stage 1"
    seconds = time.monotonic() - start
    if chosen == "stage 1":
        predictions = np.argmax(head.logits(val_features.features), axis=1)
    else:
        with _data_errors(info.files + plan.files):
            predictions = _predict_centre_clips(model, plan, frames, size, batch_size, stream)
    evaluation = _evaluate(val_features.labels, predictions, info.labels, plan)
    model.class_names = info.labels  # saved in the .keras: classify and predict_video name the classes
    save_model_atomic(model, paths["model"])
    write_text_atomic(paths["labels"], "".join(f"{label}\n" for label in info.labels))
    _write_log(paths["log"], history)
    write_json_atomic(
        paths["evaluation"],
        {"chosen": chosen, "stage1": {"l2": head.l2, "scores": {str(k): v for k, v in head.scores.items()}},
         "stage2_epochs": stage2_epochs, **evaluation.as_dict()},
    )  # fmt: skip
    title = f"{paths['model'].name}: {Path(str(dataset)).name}"
    try:
        if stage2_epochs:
            curves = plot_history(history, paths["curves"], title=title, first_epoch=0,
                                  x_label="epoch (0: stage 1, the head fitted on cached features)")  # fmt: skip
        else:  # stage 1 alone: the head's fit on the cached features, step by step
            curves = plot_history(head.trajectory, paths["curves"], title=f"{title} (stage 1, L2 {head.l2:g})",
                                  x_label="optimisation step of the head on cached features",
                                  x_values=head.trajectory["step"])  # fmt: skip
        confusion = plot_confusion_matrix(
            evaluation.confusion, info.labels, paths["confusion"],
            title=f"{evaluation.source}: accuracy {evaluation.accuracy:.3f} ({chosen})",
        )  # fmt: skip
    except MissingExtraError:  # the model and its log are written; pictures that cannot be drawn are skipped
        curves = confusion = None
    return FinetuneResult(
        model=paths["model"], labels=info.labels, history=history, log=paths["log"], curves=curves,
        checkpoints=kept, seconds=seconds, stage1_seconds=stage1_seconds, head=head, stage2_epochs=stage2_epochs,
        chosen=chosen, evaluation=evaluation, confusion_picture=confusion, train_features=train_features,
        val_features=val_features,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class _ValidationPlan:
    """Where the validation videos come from: ``source`` (all of it, or ``validation_keys`` of the training set)."""

    source: str | os.PathLike
    description: str
    training_keys: list[str] | None
    validation_keys: list[str] | None
    training_videos: int
    validation_videos: int
    files: tuple[str, ...]


def _validation_plan(dataset, info, val, val_info, holdout: float, seed: int) -> _ValidationPlan:
    if val is not None:
        if val_info.labels is not None and val_info.labels != info.labels:
            raise DatasetError("The validation data's classes (labels.txt) differ from the training data's.")
        return _ValidationPlan(
            val, f"validation set {Path(str(val)).name}", None, None, _video_count(dataset, info),
            _video_count(val, val_info), val_info.files,
        )  # fmt: skip
    try:
        training, held_out = holdout_split(dataset, holdout, seed)
    except ValueError as e:
        raise DatasetError(f"{e} (pass --val, or more videos per class).") from None
    description = f"{len(held_out)} training videos held out (no --val; {holdout:.0%} of each class, seed {seed})"
    return _ValidationPlan(dataset, description, training, held_out, len(training), len(held_out), ())


def _video_count(pattern, info) -> int:
    """Videos in the dataset: from its manifest, else by reading it."""
    count = record_count(info)
    return count if count is not None else len(video_keys(pattern))


@contextlib.contextmanager
def _data_errors(files: tuple[str, ...]):
    """Turns TensorFlow's errors from reading damaged ``files`` into a `DatasetError` naming the file."""
    try:
        yield
    except Exception as e:
        if not _is_data_error(e):
            raise
        raise DatasetError(describe_damage(files, e)) from None


def _stage2(
    model, dataset, plan, frames, size, batch_size, stream, seed, epochs, learning_rate, optimizer, checkpoints,
    patience, baseline, paths, verbose, info,
):  # fmt: skip
    """Trains the unfrozen blocks and the head; returns (history, checkpoints kept, best epoch or 0 for stage 1)."""
    tf = import_tensorflow("Reading TFRecord datasets")
    train = clip_dataset(
        dataset, frames, size, batch_size, training=True, stream=stream, seed=seed, videos=plan.training_keys
    )
    validation = clip_dataset(
        plan.source, frames, size, batch_size, training=False, stream=stream, seed=seed, videos=plan.validation_keys
    )
    # A split's batches are counted up front (Keras otherwise warns that the data "ran out" after epoch 1).
    train = train.apply(tf.data.experimental.assert_cardinality(plan.training_videos // batch_size))
    validation = validation.apply(tf.data.experimental.assert_cardinality(-(-plan.validation_videos // batch_size)))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate)
        if optimizer == "adam"
        else keras.optimizers.SGD(learning_rate, momentum=MOMENTUM),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    checkpoint = AtomicCheckpoint(ensure_writable_dir(paths["checkpoints"]), checkpoints, "val_accuracy")
    keep_best = KeepBest(baseline, patience)
    with _data_errors(info.files + plan.files):
        history = model.fit(
            train, validation_data=validation, epochs=epochs, callbacks=[checkpoint, keep_best], shuffle=False,
            verbose=verbose,
        )  # fmt: skip
    history = {k: [float(v) for v in values] for k, values in history.history.items()}
    return history, tuple(checkpoint.saved), keep_best.best_epoch


def _predict_centre_clips(model, plan, frames, size, batch_size, stream) -> np.ndarray:
    clips = clip_dataset(
        plan.source, frames, size, batch_size, training=False, stream=stream, drop_remainder=False,
        videos=plan.validation_keys,
    )  # fmt: skip
    predictions = [np.argmax(keras.ops.convert_to_numpy(model.predict_on_batch(x.numpy())), axis=1) for x, _ in clips]
    return np.concatenate(predictions)


def _evaluate(labels: np.ndarray, predictions: np.ndarray, names: tuple[str, ...], plan) -> Evaluation:
    matrix = confusion_matrix(labels, predictions, len(names))
    totals = matrix.sum(axis=1)
    per_class = {name: float(matrix[i, i] / totals[i]) if totals[i] else float("nan") for i, name in enumerate(names)}
    return Evaluation(
        source=plan.description,
        videos=int(matrix.sum()),
        accuracy=float(np.trace(matrix) / max(matrix.sum(), 1)),
        per_class=per_class,
        confusion=matrix,
        held_out=tuple(plan.validation_keys or ()),
    )


def _write_log(path: Path, history: dict[str, list[float]]) -> None:
    """The CSV log: one row per epoch (0: stage 1), written atomically."""
    keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy") if history.get(k)]
    rows = ["epoch,stage," + ",".join(keys)]
    for epoch in range(len(history["loss"])):
        values = ",".join(repr(history[k][epoch]) for k in keys)
        rows.append(f"{epoch},{1 if epoch == 0 else 2},{values}")
    write_text_atomic(path, "\n".join(rows) + "\n")
