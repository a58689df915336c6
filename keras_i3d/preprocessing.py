"""DeepMind's input scaling and Kinetics label decoding."""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
from keras import ops

from keras_i3d.clip_checks import as_array, check_dtype, check_finite
from keras_i3d.errors import InputError
from keras_i3d.presets import DATASET_CLASSES, STREAM_CHANNELS

#: Optical flow is clipped to +-FLOW_BOUND pixels, then scaled to [-1, 1].
FLOW_BOUND = 20.0


#: The range `preprocess_input` takes RGB values in.
RGB_RANGE = (0.0, 255.0)


def _value_summary(frames) -> tuple[bool, float, float] | None:
    """(all finite, min, max) of concrete values; ``None`` inside a traced graph or for no values."""
    if isinstance(frames, np.ndarray):
        if frames.size == 0:
            return None
        finite = frames.dtype.kind in "iu" or bool(np.isfinite(frames).all())
        return (True, float(frames.min()), float(frames.max())) if finite else (False, np.nan, np.nan)
    try:  # backend tensors: only eager ones have values to check
        if int(np.prod(tuple(frames.shape))) == 0:
            return None
        x = ops.cast(frames, "float32")
        return bool(ops.all(ops.isfinite(x))), float(ops.min(x)), float(ops.max(x))
    except Exception:  # symbolic or traced (tf.data, jit): values unknown until it runs
        return None


def _check_values(frames, stream: str) -> None:
    summary = _value_summary(frames)
    if summary is None:
        return
    finite, low, high = summary
    if not finite:
        if isinstance(frames, np.ndarray):
            check_finite(frames, f"{stream} input to preprocess_input")
        raise InputError(f"{stream} input to preprocess_input has NaN or infinite values; it must be finite.")
    if stream == "rgb" and (low < RGB_RANGE[0] or high > RGB_RANGE[1]):
        hint = ""
        if low >= -1.0 and high <= 1.0:
            hint = " It looks already scaled to [-1, 1]: do not apply preprocess_input twice."
        got = f"[{low:.10g}, {high:.10g}]"
        raise InputError(f"preprocess_input takes RGB values in [0, 255]; got values in {got}.{hint}")


def preprocess_input(frames, stream: str = "rgb"):
    """Scales frames or optical flow into DeepMind's ``[-1, 1]`` input range.

    Args:
        frames: ``stream="rgb"``: RGB values in ``[0, 255]`` (uint8 or float),
            shape ``(..., 3)``. ``stream="flow"``: TV-L1 optical flow in pixels,
            shape ``(..., 2)``, channels ``(u, v)``.
        stream: ``"rgb"`` or ``"flow"``.

    Returns:
        float32 array (NumPy in, NumPy out; tensors go through ``keras.ops``):
        RGB as ``x / 255 * 2 - 1``; flow clipped to ``[-20, 20]`` then ``/ 20``.

    Raises:
        ValueError: for an unknown stream.
        InputError: (a ``ValueError``) for the wrong channel count, values that
            are not real numbers, NaN or infinity, or RGB outside ``[0, 255]``
            (e.g. frames already scaled, or ``preprocess_input`` applied
            twice). Values are checked wherever they are known: always for
            NumPy and eager tensors, not inside a traced graph (``tf.data``,
            ``jit``), where the model's input checks still apply.
    """
    if not isinstance(stream, str) or stream not in STREAM_CHANNELS:
        raise ValueError(f"`stream` must be 'rgb' or 'flow'; got {stream!r}.")
    what = f"{stream} input to preprocess_input"
    shape = getattr(frames, "shape", None)
    if shape is None or isinstance(frames, np.ndarray):
        frames = as_array(frames, what)  # also drops masks: masked NaN are still NaN
        shape = frames.shape
    else:
        check_dtype(frames, what)
    if len(shape) == 0 or shape[-1] != STREAM_CHANNELS[stream]:
        raise InputError(
            f"{stream} input needs {STREAM_CHANNELS[stream]} channels in the last axis; got shape {tuple(shape)}."
        )
    _check_values(frames, stream)
    if isinstance(frames, np.ndarray):
        x = frames.astype(np.float32)
        if stream == "rgb":
            return x / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)
        return np.clip(x, -FLOW_BOUND, FLOW_BOUND) / np.float32(FLOW_BOUND)
    x = ops.cast(frames, "float32")
    if stream == "rgb":
        return x / 255.0 * 2.0 - 1.0
    return ops.clip(x, -FLOW_BOUND, FLOW_BOUND) / FLOW_BOUND


def load_labels(dataset: str = "kinetics400") -> tuple[str, ...]:
    """Returns the class names of a label set, in logit order.

    Args:
        dataset: ``"kinetics400"`` or ``"kinetics600"``.

    Raises:
        ValueError: for another ``dataset``.
    """
    if not isinstance(dataset, str) or dataset not in DATASET_CLASSES:
        raise ValueError(f"`dataset` must be one of {sorted(DATASET_CLASSES)}; got {dataset!r}.")
    return _read_labels(dataset)


@functools.cache
def _read_labels(dataset: str) -> tuple[str, ...]:
    text = resources.files("keras_i3d").joinpath("labels", f"{dataset}.txt").read_text()
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def decode_predictions(preds, top: int = 5, dataset: str | None = None):
    """Decodes class scores into the top Kinetics labels.

    Args:
        preds: scores (probabilities or logits), shape ``(batch, classes)``.
        top: how many classes to return per sample.
        dataset: ``"kinetics400"`` or ``"kinetics600"``; inferred from the
            number of classes when ``None``.

    Returns:
        One list per sample of ``(class_index, label, score)`` tuples, best first.

    Raises:
        ValueError: if ``top`` is not a positive int, or the label set is unknown.
        InputError: (a ``ValueError``) if ``preds`` is not a 2D array of finite
            real numbers, or its width does not match the labels.
    """
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"`top` must be a positive int; got {top!r}.")
    preds = as_array(preds, "`preds`")
    if preds.ndim != 2:
        raise InputError(f"`preds` must be (batch, classes); got shape {preds.shape}.")
    check_finite(preds, "`preds`")
    if dataset is None:
        by_size = {n: name for name, n in DATASET_CLASSES.items()}
        if preds.shape[1] not in by_size:
            raise InputError(f"Cannot tell the label set of {preds.shape[1]} classes; pass `dataset`.")
        dataset = by_size[preds.shape[1]]
    labels = load_labels(dataset)
    if preds.shape[1] != len(labels):
        raise InputError(f"{dataset} has {len(labels)} classes; `preds` has {preds.shape[1]}.")
    top = min(int(top), len(labels))
    results = []
    for row in preds:
        order = np.argsort(-row, kind="stable")[:top]
        results.append([(int(i), labels[i], float(row[i])) for i in order])
    return results
