"""`finetune`: the fine-tuning recipe as one call (``keras-i3d finetune``).

Pre-trained I3D features, DeepMind's head re-initialised for the new classes,
blocks up to an endpoint frozen, BatchNorm in inference mode, Adam (or SGD
with momentum), the paper's augmentation (`keras_i3d.training.data.clip_dataset`), a
checkpoint per epoch, a CSV log and a learning-curve picture.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import keras

from keras_i3d.errors import DatasetError, MissingExtraError, one_line
from keras_i3d.model.architecture import FREEZE_UNTIL_ENDPOINT
from keras_i3d.training.data import clip_dataset, dataset_info
from keras_i3d.training.defaults import (  # noqa: F401 - re-exported
    CHECKPOINT_POLICIES,
    DEFAULT_LEARNING_RATE,
    MOMENTUM,
    OPTIMIZERS,
)
from keras_i3d.training.transfer import DEFAULT_DROPOUT, fine_tuning_model
from keras_i3d.utils.files import atomic_path, ensure_writable_dir, ensure_writable_file, write_text_atomic
from keras_i3d.utils.quiet import quiet_framework_startup
from keras_i3d.utils.tf_loader import import_tensorflow
from keras_i3d.video.plots import plot_history

#: Optimizers `finetune` offers: Adam (default; robust on small datasets) or SGD with momentum 0.9 (upstream's).


@dataclasses.dataclass(frozen=True)
class FinetuneResult:
    """What `finetune` wrote and measured.

    Attributes:
        model: the fine-tuned ``.keras`` model.
        labels: its class names (also written beside it as ``<name>.labels.txt``).
        history: per-epoch metrics (``loss``, ``accuracy``, ``val_loss``, ...).
        log: the CSV log.
        curves: the learning-curve picture, or ``None`` when it could not be drawn (no matplotlib).
        checkpoints: the checkpoints kept (see `CHECKPOINT_POLICIES`).
        seconds: training time.
    """

    model: Path
    labels: tuple[str, ...]
    history: dict[str, list[float]]
    log: Path
    curves: Path | None
    checkpoints: tuple[Path, ...]
    seconds: float


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


def _check_trainable(info, batch_size: int, paths: dict) -> None:
    """What makes fine-tuning pointless or impossible, said before any model is built."""
    if len(info.labels) < 2:
        raise DatasetError(f"The dataset has {len(info.labels)} class: a classifier needs at least 2.")
    videos = (info.manifest or {}).get("videos")
    if isinstance(videos, int) and videos < batch_size:
        raise DatasetError(
            f"The dataset holds {videos} videos, fewer than --batch-size {batch_size} (training drops incomplete "
            "batches, so not one step would run): lower the batch size."
        )
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
    """The files `finetune` writes for ``out`` (``model.keras``): log, curves, labels, checkpoint folder."""
    out = Path(out)
    if out.suffix != ".keras":
        raise ValueError(f"The fine-tuned model is saved as a .keras file; got {out.name}.")
    stem = out.with_suffix("")
    return {
        "model": out,
        "log": stem.with_name(stem.name + ".log.csv"),
        "curves": stem.with_name(stem.name + ".curves.png"),
        "labels": stem.with_name(stem.name + ".labels.txt"),
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
) -> FinetuneResult:
    """Fine-tunes a pre-trained I3D on a `keras-i3d dataset` and saves it as ``.keras``.

    Args:
        dataset: training data: a `keras-i3d dataset` folder or a glob of its TFRecords.
        out: the model file (``.keras``). Beside it: ``<name>.log.csv``,
            ``<name>.curves.png``, ``<name>.labels.txt`` and
            ``<name>.checkpoints/epoch_NNN.keras``.
        weights: pre-trained weights (a preset or ``.weights.h5``), ``None`` for random.
        stream: ``"rgb"`` or ``"flow"``.
        frames: frames per training clip.
        size: crop size.
        batch_size: clips per step.
        epochs: passes over the training data.
        freeze_until: freeze up to this endpoint (``None``: train everything).
        learning_rate: the optimizer's learning rate.
        optimizer: ``"adam"`` or ``"sgd"`` (momentum 0.9).
        dropout_rate: dropout before the new classifier.
        val: validation data (centre clips), evaluated after every epoch.
        seed: makes data order and augmentation deterministic.
        train_batch_norm: train BatchNorm on batch statistics in the unfrozen
            blocks (default: inference mode, see `keras_i3d.training.transfer`).
        verbose: Keras' ``fit`` verbosity (``0`` silent).
        checkpoints: which per-epoch checkpoints to keep: ``"best"`` (the best
            epoch's by validation accuracy, or training accuracy without ``val``,
            and the last one's), ``"last"``, ``"all"`` or ``"none"``.

    Returns:
        A `FinetuneResult`. The saved model loads with
        ``keras.saving.load_model`` (after ``import keras_i3d``) and takes
        clips scaled as `keras_i3d.preprocess_input` does; it outputs class
        probabilities.

    Raises:
        DatasetError: for missing data, or training and validation data with different classes.
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
        raise ValueError(f"`learning_rate` must be a positive number; got {learning_rate!r}.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"`optimizer` must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}.")
    if checkpoints not in CHECKPOINT_POLICIES:
        raise ValueError(f"`checkpoints` must be one of {', '.join(CHECKPOINT_POLICIES)}; got {checkpoints!r}.")
    paths = output_paths(out)
    ensure_writable_file(paths["model"])
    info = dataset_info(dataset)
    if info.labels is None:
        raise DatasetError(f"No labels.txt beside {info.files[0]}: give a folder written by `keras-i3d dataset`.")
    _check_trainable(info, batch_size, paths)
    train = clip_dataset(dataset, frames, size, batch_size, training=True, stream=stream, seed=seed)
    validation = None
    if val is not None:
        val_info = dataset_info(val)
        if val_info.labels is not None and val_info.labels != info.labels:
            raise DatasetError("The validation data's classes (labels.txt) differ from the training data's.")
        validation = clip_dataset(val, frames, size, batch_size, training=False, stream=stream, seed=seed)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = fine_tuning_model(
        weights, len(info.labels), freeze_until, stream, None, size, dropout_rate, train_batch_norm
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate)
        if optimizer == "adam"
        else keras.optimizers.SGD(learning_rate, momentum=MOMENTUM),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    checkpoint = AtomicCheckpoint(
        ensure_writable_dir(paths["checkpoints"]), checkpoints, "val_accuracy" if val is not None else "accuracy"
    )
    callbacks = [checkpoint, keras.callbacks.CSVLogger(str(paths["log"]))]
    start = time.monotonic()
    try:
        history = model.fit(
            train, validation_data=validation, epochs=epochs, callbacks=callbacks, shuffle=False, verbose=verbose
        )
    except Exception as e:
        if not _is_data_error(e):
            raise
        raise DatasetError(
            describe_damage(info.files + (dataset_info(val).files if val is not None else ()), e)
        ) from None
    seconds = time.monotonic() - start
    history = {k: [float(v) for v in values] for k, values in history.history.items()}
    model.class_names = info.labels  # saved in the .keras: classify and predict_video name the classes
    save_model_atomic(model, paths["model"])
    write_text_atomic(paths["labels"], "".join(f"{label}\n" for label in info.labels))
    try:
        curves = plot_history(history, paths["curves"], title=f"{paths['model'].name}: {Path(str(dataset)).name}")
    except MissingExtraError:  # the model and its log are written; a picture that cannot be drawn is skipped
        curves = None
    return FinetuneResult(
        model=paths["model"],
        labels=info.labels,
        history=history,
        log=paths["log"],
        curves=curves,
        checkpoints=tuple(checkpoint.saved),
        seconds=seconds,
    )
