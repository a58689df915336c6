"""`clip_dataset`: a `tf.data` pipeline of training or test clips from `keras-i3d dataset` TFRecords.

The recipe is the paper's: for training, a random run of ``frames``
consecutive frames (videos shorter than that loop), a random ``size x size``
crop of the short-side-256 frames (the same for every frame of a clip) and a
random left-right flip (for flow the x component changes sign); for testing,
the temporal and spatial centre. Values are scaled to ``[-1, 1]`` as
`keras_i3d.preprocess_input` does. JPEG frames are decoded only inside the
crop window (``decode_and_crop_jpeg``), files are read in parallel,
elements are prepared in parallel and prefetched, with ``AUTOTUNE`` sizes.
Given a ``seed`` the dataset is deterministic: the same clips, crops and
flips every time it is built, and a different (deterministic) draw each
epoch.

The dataset yields ``(clips, labels)``, ready for ``model.fit`` on any
Keras backend: float32 ``(batch, frames, size, size, C)`` (a dict
``{"rgb", "flow"}`` for ``stream="joint"``) and int32 ``(batch,)`` class
indices (use a sparse categorical loss).
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from collections.abc import Collection

import numpy as np

from keras_i3d.errors import DatasetError
from keras_i3d.preprocessing import CROP_SIZE
from keras_i3d.presets import STREAM_CHANNELS
from keras_i3d.training import record_format as rf
from keras_i3d.utils.tf_loader import import_tensorflow

#: Streams `clip_dataset` reads: one of them, or both (``"joint"``, for `TwoStreamI3D`).
STREAMS = ("rgb", "flow", "joint")
#: Serialized videos held in the shuffle buffer by default (about 2-5 MB each at 25 fps, 256 short side).
SHUFFLE_BUFFER = 64


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """A dataset folder's metadata (from its ``labels.txt`` and ``manifest.json``).

    Attributes:
        files: the TFRecord files.
        labels: class names in label-index order, ``None`` if no ``labels.txt`` was found.
        manifest: the manifest, ``None`` if there is none.
    """

    files: tuple[str, ...]
    labels: tuple[str, ...] | None
    manifest: dict | None

    @property
    def has_flow(self) -> bool | None:
        """Whether the records carry flow (``None`` when unknown: no manifest)."""
        return None if self.manifest is None else bool(self.manifest["options"]["flow"])

    @property
    def short_side(self) -> int | None:
        """The stored frames' short side (``None`` when unknown)."""
        return None if self.manifest is None else int(self.manifest["options"]["short_side"])


def dataset_info(pattern: str | os.PathLike) -> DatasetInfo:
    """Finds the TFRecords of a dataset folder or glob, and the labels and manifest beside them.

    Args:
        pattern: a folder written by `keras_i3d.training.dataset_writer.write_dataset`
            (``keras-i3d dataset``), a glob of TFRecord files, or one file; any
            path `tf.io.gfile` reads (local, ``gs://``, ``s3://`` with
            tensorflow-io, ...).

    Raises:
        DatasetError: if nothing matches.
    """
    tf = import_tensorflow("Reading TFRecord datasets")
    pattern = os.fspath(pattern)
    gfile = tf.io.gfile
    if gfile.isdir(pattern):
        folder = pattern
        files = gfile.glob(posixpath.join(pattern.rstrip("/"), "*" + rf.SHARD_SUFFIX))
    else:
        files = gfile.glob(pattern)
        folder = posixpath.dirname(files[0]) if files else None
    files = sorted(files)
    if not files:
        raise DatasetError(f"No TFRecord files match {pattern} (give a `keras-i3d dataset` folder or a glob).")
    labels = manifest = None
    labels_path, manifest_path = posixpath.join(folder, rf.LABELS_FILE), posixpath.join(folder, rf.MANIFEST_FILE)
    if gfile.exists(labels_path):
        with gfile.GFile(labels_path) as f:
            labels = tuple(line.rstrip("\n") for line in f.read().splitlines() if line.strip())
        if not labels:
            raise DatasetError(f"{labels_path} lists no classes; rewrite the dataset with `keras-i3d dataset`.")
    if gfile.exists(manifest_path):
        manifest = _read_manifest(gfile, manifest_path)
    _check_consistent(files, labels, labels_path, manifest, manifest_path, gfile, whole_folder=gfile.isdir(pattern))
    return DatasetInfo(tuple(files), labels, manifest)


def _read_manifest(gfile, path: str) -> dict:
    with gfile.GFile(path) as f:
        text = f.read()
    try:
        manifest = json.loads(text)
    except ValueError as e:
        raise DatasetError(f"{path} is not a keras-i3d manifest (not JSON: {e}); rewrite the dataset.") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("shards", []), list):
        raise DatasetError(f"{path} is not a keras-i3d manifest (no list of shards); rewrite the dataset.")
    return manifest


def _check_consistent(files, labels, labels_path, manifest, manifest_path, gfile, whole_folder: bool) -> None:
    """What can be checked before training: labels against the manifest, shards against it and their sizes."""
    for path in files:
        if gfile.stat(path).length == 0:
            raise DatasetError(f"{path} is empty (0 bytes): an interrupted copy? Rewrite or remove it.")
    if manifest is None:
        return
    listed = manifest.get("labels")
    if labels is not None and listed is not None and list(labels) != list(listed):
        raise DatasetError(
            f"{labels_path} ({len(labels)} classes) disagrees with {manifest_path} ({len(listed)} classes): "
            "the labels must be the ones the dataset was written with."
        )
    names = {posixpath.basename(f) for f in files}
    missing = [s.get("file") for s in manifest.get("shards", []) if isinstance(s, dict) and s.get("file") not in names]
    if whole_folder and missing:  # a glob may choose some shards on purpose
        raise DatasetError(
            f"{manifest_path} lists shard(s) that are not there: {', '.join(map(str, missing[:5]))}; "
            "copy the whole dataset folder."
        )


def record_count(info: DatasetInfo) -> int | None:
    """How many videos ``info.files`` hold, from the manifest (``None`` if it does not list them all)."""
    if info.manifest is None:
        return None
    counts = {shard["file"]: shard["videos"] for shard in info.manifest.get("shards", ())}
    names = [posixpath.basename(f) for f in info.files]
    if not all(name in counts for name in names):
        return None
    return sum(counts[name] for name in names)


def _check_arguments(frames, size, batch_size, stream, whole_video, shuffle_buffer) -> None:
    for name, value in (("frames", frames), ("size", size), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    if stream not in STREAMS:
        raise ValueError(f"`stream` must be one of {', '.join(STREAMS)}; got {stream!r}.")
    if whole_video and batch_size != 1:
        raise ValueError(f"Whole videos differ in length: `whole_video=True` needs `batch_size=1`; got {batch_size}.")
    if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) or shuffle_buffer < 1:
        raise ValueError(f"`shuffle_buffer` must be a positive int; got {shuffle_buffer!r}.")


def _check_info(info: DatasetInfo, stream: str, size: int) -> None:
    if stream != "rgb" and info.has_flow is False:
        raise DatasetError(
            f"The dataset of {info.files[0]} holds no optical flow; write it with `keras-i3d dataset --flow` "
            "to read the flow stream."
        )
    if info.short_side is not None and size > info.short_side:
        raise DatasetError(f"Cannot crop {size}x{size} from frames whose short side is {info.short_side}.")


def clip_dataset(
    pattern: str | os.PathLike,
    frames: int = 64,
    size: int = CROP_SIZE,
    batch_size: int = 8,
    training: bool = True,
    stream: str = "rgb",
    seed: int | None = None,
    whole_video: bool = False,
    shuffle_buffer: int = SHUFFLE_BUFFER,
    drop_remainder: bool | None = None,
    repeat: bool = False,
    videos: Collection[str] | None = None,
):
    """A `tf.data.Dataset` of ``(clips, labels)`` batches from `keras-i3d dataset` TFRecords.

    Args:
        pattern: a dataset folder, a glob of its TFRecords, or one file; any
            path `tf.io.gfile` reads.
        frames: frames per clip (64 in the paper). Videos with fewer frames
            loop (frame ``i`` is frame ``i mod n``).
        size: crop size (224 in the paper); at most the stored short side.
        batch_size: clips per batch.
        training: random temporal crop, random spatial crop, random flip and
            shuffled files and records; otherwise the centre of both, in
            file order, no flip.
        stream: ``"rgb"``, ``"flow"`` or ``"joint"`` (a dict of both, cropped
            and flipped alike, for `keras_i3d.TwoStreamI3D`). Flow clips pair
            frame ``i`` with the flow from frame ``i`` to ``i + 1``; the last
            frame reuses the last flow field, as `keras_i3d.predict_video` does.
        seed: makes the pipeline deterministic (``None``: a fresh draw).
        whole_video: every frame of each video, centre-cropped (test-time
            evaluation of whole videos); needs ``batch_size=1``.
        shuffle_buffer: serialized videos in the shuffle buffer (training).
        drop_remainder: drop a last, smaller batch (default: when training,
            so every step has the same shape).
        repeat: repeat forever (then pass ``steps_per_epoch`` to ``fit``).
        videos: read only these videos, by `video_keys`' keys (e.g. one side of
            `holdout_split`); ``None``: all.

    Returns:
        A `tf.data.Dataset` of ``(clips, labels)``: float32 ``(batch, frames,
        size, size, C)`` in ``[-1, 1]`` (a dict ``{"rgb": ..., "flow": ...}``
        for ``"joint"``) and int32 ``(batch,)``.

    Raises:
        DatasetError: if no file matches, the dataset has no flow for a flow
            stream, or its frames are smaller than ``size``.
        MissingExtraError: without TensorFlow.
    """
    _check_arguments(frames, size, batch_size, stream, whole_video, shuffle_buffer)
    tf = import_tensorflow("Reading TFRecord datasets")
    info = dataset_info(pattern)
    _check_info(info, stream, size)
    augment = training and not whole_video
    if seed is None:
        seed = int(tf.random.uniform([], maxval=2**31 - 1, dtype=tf.int64))
    if drop_remainder is None:
        drop_remainder = training
    files = tf.data.Dataset.from_tensor_slices(list(info.files))
    if training:
        files = files.shuffle(len(info.files), seed=seed, reshuffle_each_iteration=True)
    records = _interleaved(tf, files, len(info.files))
    count = record_count(info)
    if videos is not None:
        records, count = records.filter(_key_filter(tf, videos)), None  # keys not in the dataset match nothing
    if count is not None:  # lets Keras size its progress bar and epochs up front
        records = records.apply(tf.data.experimental.assert_cardinality(count))
    if training:
        records = records.shuffle(shuffle_buffer, seed=seed + 1, reshuffle_each_iteration=True)
    if repeat:
        records = records.repeat()
    seeds = tf.data.Dataset.random(seed=seed + 2, rerandomize_each_iteration=True).batch(2)
    classes = len(info.labels) if info.labels is not None else None
    parse = _parser(tf, frames, size, stream, augment, whole_video, classes)
    dataset = tf.data.Dataset.zip((records, seeds)).map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def _interleaved(tf, files, count: int):
    """The records of ``files`` (a dataset of paths), read in parallel, in a fixed interleaved order."""
    return files.interleave(
        tf.data.TFRecordDataset, cycle_length=min(count, 8), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )


def _record_key(tf, record):
    """A record's video key, ``"<data path>@<start in microseconds>"``, and its label index."""
    context = {
        rf.DATA_PATH: tf.io.FixedLenFeature([], tf.string),
        rf.START_TIMESTAMP: tf.io.FixedLenFeature([], tf.int64),
        rf.LABEL_INDEX: tf.io.FixedLenFeature([], tf.int64),
    }
    ctx, _ = tf.io.parse_single_sequence_example(record, context)
    key = tf.strings.join([ctx[rf.DATA_PATH], tf.strings.as_string(ctx[rf.START_TIMESTAMP])], separator="@")
    return key, ctx[rf.LABEL_INDEX]


def _key_filter(tf, videos: Collection[str]):
    keys = sorted(set(videos))
    if not keys:
        raise ValueError("`videos` is empty: give at least one video key (see video_keys).")
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(keys), tf.ones(len(keys), tf.int32)), default_value=0
    )
    return lambda record: table.lookup(_record_key(tf, record)[0]) > 0


def video_keys(pattern: str | os.PathLike) -> list[tuple[str, int]]:
    """Every video of a dataset as ``(key, label index)``; a key is ``"<data path>@<start µs>"``.

    The order is `clip_dataset`'s without ``training`` (its clips pair with these keys one to one).

    Reads each record once (for a split of the videos, see `holdout_split`).

    Raises:
        DatasetError: if nothing matches.
    """
    tf = import_tensorflow("Reading TFRecord datasets")
    info = dataset_info(pattern)
    files = tf.data.Dataset.from_tensor_slices(list(info.files))
    records = _interleaved(tf, files, len(info.files)).map(lambda r: _record_key(tf, r))
    return [(key.decode(), int(label)) for key, label in records.as_numpy_iterator()]


def holdout_split(pattern: str | os.PathLike, fraction: float = 0.2, seed: int = 0) -> tuple[list[str], list[str]]:
    """Splits a dataset's videos into training and held-out keys, class by class, reproducibly.

    Each class with at least two videos gives ``round(fraction * n)`` of
    them (at least one, never all) to the held-out side, chosen by ``seed``.

    Returns:
        ``(training keys, held-out keys)``, each sorted (for `clip_dataset`'s ``videos``).

    Raises:
        ValueError: for a fraction outside ``(0, 1)``, or no class with two videos.
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ValueError(f"`fraction` must be a number in (0, 1); got {fraction!r}.")
    by_class: dict[int, list[str]] = {}
    for key, label in video_keys(pattern):
        by_class.setdefault(label, []).append(key)
    rng = np.random.default_rng(seed)
    train, held_out = [], []
    for label in sorted(by_class):
        keys = sorted(by_class[label])
        rng.shuffle(keys)
        count = min(max(1, round(fraction * len(keys))), len(keys) - 1)
        held_out += keys[:count]
        train += keys[count:]
    if not held_out:
        raise ValueError("No class has two videos: nothing can be held out; give validation data.")
    return sorted(train), sorted(held_out)


def _parser(tf, frames: int, size: int, stream: str, augment: bool, whole_video: bool, classes: int | None = None):
    """The per-record function: parse, choose frames and crop, decode, flip, scale."""
    streams = ("rgb", "flow") if stream == "joint" else (stream,)
    context = {
        rf.LABEL_INDEX: tf.io.FixedLenFeature([], tf.int64),
        rf.IMAGE_HEIGHT: tf.io.FixedLenFeature([], tf.int64),
        rf.IMAGE_WIDTH: tf.io.FixedLenFeature([], tf.int64),
    }
    sequence = {}
    if "rgb" in streams:
        sequence[rf.IMAGE_ENCODED] = tf.io.FixedLenSequenceFeature([], tf.string)
    if "flow" in streams:
        sequence[rf.FLOW_ENCODED] = tf.io.FixedLenSequenceFeature([], tf.string)

    def parse(record, seeds):
        ctx, seq = tf.io.parse_single_sequence_example(record, context, sequence)
        height = tf.cast(ctx[rf.IMAGE_HEIGHT], tf.int32)
        width = tf.cast(ctx[rf.IMAGE_WIDTH], tf.int32)
        tf.debugging.assert_greater_equal(
            tf.minimum(height, width), size, message=f"A video's frames are smaller than the {size}x{size} crop"
        )
        n = tf.shape(seq[rf.FLOW_ENCODED if stream == "flow" else rf.IMAGE_ENCODED])[0]
        if stream == "flow":
            n += 1  # n - 1 flow fields come from n frames
        seed = tf.cast(seeds, tf.int32) if augment else None
        index = _frame_indices(tf, n, frames, whole_video, seed)
        top, left = _crop_origin(tf, height, width, size, seed)
        flip = tf.random.stateless_uniform([], seed=seed + 3) < 0.5 if augment else tf.constant(False)
        clips = {}
        if "rgb" in streams:
            clips["rgb"] = _rgb(tf, tf.gather(seq[rf.IMAGE_ENCODED], index), top, left, size, flip)
        if "flow" in streams:
            fields = seq[rf.FLOW_ENCODED]
            # Frame i pairs with the field i -> i + 1; the last frame has none and reuses the last field.
            last = tf.shape(fields)[0] - 1
            clips["flow"] = _flow(tf, tf.gather(fields, tf.minimum(index, last)), top, left, size, flip)
        label = tf.cast(ctx[rf.LABEL_INDEX], tf.int32)
        if classes is not None:  # a record whose label labels.txt does not name stops here, in one sentence
            message = f"a record's label is outside the {classes} classes of labels.txt"
            with tf.control_dependencies([tf.debugging.assert_less(label, classes, message=message),
                                          tf.debugging.assert_non_negative(label, message=message)]):  # fmt: skip
                label = tf.identity(label)
        return (clips if stream == "joint" else clips[stream]), label

    return parse


def _frame_indices(tf, n, frames: int, whole_video: bool, seed):
    if whole_video:
        return tf.range(n)
    spare = tf.maximum(n - frames, 0)
    if seed is None:
        offset = spare // 2
    else:
        offset = tf.random.stateless_uniform([], seed=seed, maxval=spare + 1, dtype=tf.int32)
    return (offset + tf.range(frames)) % n


def _crop_origin(tf, height, width, size: int, seed):
    if seed is None:
        return (height - size) // 2, (width - size) // 2
    top = tf.random.stateless_uniform([], seed=seed + 1, maxval=height - size + 1, dtype=tf.int32)
    left = tf.random.stateless_uniform([], seed=seed + 2, maxval=width - size + 1, dtype=tf.int32)
    return top, left


def _rgb(tf, encoded, top, left, size: int, flip):
    window = tf.stack([top, left, size, size])
    pixels = tf.map_fn(
        lambda jpeg: tf.io.decode_and_crop_jpeg(jpeg, window, channels=3),
        encoded,
        fn_output_signature=tf.TensorSpec([None, None, 3], tf.uint8),
    )
    pixels = tf.cond(flip, lambda: tf.reverse(pixels, [2]), lambda: pixels)
    clip = tf.cast(pixels, tf.float32) / 127.5 - 1.0
    return tf.ensure_shape(clip, [None, size, size, STREAM_CHANNELS["rgb"]])


def _flow(tf, encoded, top, left, size: int, flip):
    images = tf.map_fn(
        lambda png: tf.io.decode_png(png, channels=3)[top : top + size, left : left + size, :2],
        encoded,
        fn_output_signature=tf.TensorSpec([None, None, 2], tf.uint8),
    )
    flow = (tf.cast(images, tf.float32) - rf.FLOW_ZERO) / rf.FLOW_LEVELS
    # Mirroring the picture mirrors the motion: x displacements change sign.
    flow = tf.cond(flip, lambda: tf.reverse(flow, [2]) * tf.constant([-1.0, 1.0]), lambda: flow)
    return tf.ensure_shape(flow, [None, size, size, STREAM_CHANNELS["flow"]])
