"""DeepMind's input recipe (resize, crop, scaling) and Kinetics label decoding.

`preprocess_frames` is the one implementation of DeepMind's test-time recipe;
whole-video inference, the CLI and (later) training and serving all call it,
so the ways into the network cannot drift apart.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
from keras import ops

from keras_i3d.errors import InputError
from keras_i3d.model.clip_checks import as_array, check_dtype, check_finite
from keras_i3d.presets import DATASET_CLASSES, STREAM_CHANNELS

#: Optical flow is clipped to +-FLOW_BOUND pixels, then scaled to [-1, 1].
FLOW_BOUND = 20.0


#: The range `preprocess_input` takes RGB values in.
RGB_RANGE = (0.0, 255.0)
#: RGB values this close outside `RGB_RANGE` are float round-off (e.g. a float32 bilinear blend of two
#: 255 neighbours is 255.0000153), taken as the bound they round.
RGB_ROUND_OFF = 1e-3

#: DeepMind's recipe: frames resized (bilinear, aspect kept) so the short side is 256...
SHORT_SIDE = 256
#: ... then a centre crop of 224x224 at test time.
CROP_SIZE = 224


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
    if stream == "rgb" and (low < RGB_RANGE[0] - RGB_ROUND_OFF or high > RGB_RANGE[1] + RGB_ROUND_OFF):
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
            return np.clip(x, *RGB_RANGE) / np.float32(255.0) * np.float32(2.0) - np.float32(1.0)
        return np.clip(x, -FLOW_BOUND, FLOW_BOUND) / np.float32(FLOW_BOUND)
    x = ops.cast(frames, "float32")
    if stream == "rgb":
        return ops.clip(x, *RGB_RANGE) / 255.0 * 2.0 - 1.0
    return ops.clip(x, -FLOW_BOUND, FLOW_BOUND) / FLOW_BOUND


def resized_shape(height: int, width: int, short_side: int = SHORT_SIDE) -> tuple[int, int]:
    """The ``(height, width)`` a frame is resized to so its short side is ``short_side``, aspect kept.

    The long side is rounded to the nearest pixel (halves up): 320x240 -> 341x256.
    """
    for name, value in (("height", height), ("width", width), ("short_side", short_side)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a positive int; got {value!r}.")
    if height <= width:
        return short_side, max(short_side, int(width * short_side / height + 0.5))
    return max(short_side, int(height * short_side / width + 0.5)), short_side


def center_crop_box(height: int, width: int, size: int = CROP_SIZE) -> tuple[int, int]:
    """``(top, left)`` of the centred ``size x size`` crop of a ``height x width`` frame.

    Raises:
        InputError: if the frame is smaller than the crop.
    """
    if height < size or width < size:
        raise InputError(f"Cannot crop {size}x{size} from {width}x{height} frames.")
    return (height - size) // 2, (width - size) // 2


def preprocess_frames(frames, stream: str = "rgb", size: int = CROP_SIZE, short_side: int = SHORT_SIDE):
    """DeepMind's test-time recipe: resize the short side to 256, centre crop 224, scale to ``[-1, 1]``.

    Frames are resized with bilinear interpolation (half-pixel centres, no
    antialiasing: what ``tf.image.resize`` does) keeping the aspect ratio,
    cropped at the centre, then scaled by `preprocess_input`. Frames whose
    short side already is ``short_side`` are not resampled. Optical flow is a
    field of pixel displacements, so resizing it also scales each vector by
    the resize factor of its axis (x by ``new_width / width``, y by
    ``new_height / height``) before clipping to ``[-20, 20]`` and ``/ 20``.

    Args:
        frames: ``(frames, height, width, C)`` or ``(batch, frames, height,
            width, C)``: RGB in ``[0, 255]`` (uint8 or float; C=3) or TV-L1
            flow in pixels (C=2). NumPy arrays or backend tensors with static
            sizes.
        stream: ``"rgb"`` or ``"flow"``.
        size: the crop (DeepMind: 224; use the model's input size).
        short_side: the short side after resizing (DeepMind: 256); at least ``size``.

    Returns:
        float32 ``(..., size, size, C)`` in ``[-1, 1]``; NumPy for NumPy input,
        a backend tensor otherwise.

    Raises:
        InputError: (a ``ValueError``) for a rank other than 4 or 5, the wrong
            channel count, non-real dtypes, NaN or infinity, RGB outside
            ``[0, 255]``.
        ValueError: for an unknown stream, or ``short_side < size``.
    """
    if not isinstance(stream, str) or stream not in STREAM_CHANNELS:
        raise ValueError(f"`stream` must be 'rgb' or 'flow'; got {stream!r}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"`size` must be a positive int; got {size!r}.")
    if isinstance(short_side, bool) or not isinstance(short_side, (int, np.integer)) or short_side < size:
        raise ValueError(f"`short_side` must be an int of at least `size` ({size}); got {short_side!r}.")
    x, numpy_in = _checked_frames(frames, stream, "preprocess_frames")
    x = _resize(x, stream, short_side, crop=size)
    x = preprocess_input(x, stream=stream)
    return ops.convert_to_numpy(x) if numpy_in else x


def resize_short_side(frames, short_side: int = SHORT_SIDE, stream: str = "rgb"):
    """The resize step of `preprocess_frames` alone (values stay in their units: RGB 0-255, flow pixels).

    Args:
        frames: ``(frames, height, width, C)`` or ``(batch, frames, height, width, C)``.
        short_side: the short side after resizing.
        stream: ``"rgb"`` or ``"flow"`` (flow vectors are scaled with the image).

    Returns:
        float32 frames whose short side is ``short_side`` (NumPy for NumPy input).

    Raises:
        InputError: see `preprocess_frames`.
    """
    if not isinstance(stream, str) or stream not in STREAM_CHANNELS:
        raise ValueError(f"`stream` must be 'rgb' or 'flow'; got {stream!r}.")
    if isinstance(short_side, bool) or not isinstance(short_side, (int, np.integer)) or short_side < 1:
        raise ValueError(f"`short_side` must be a positive int; got {short_side!r}.")
    x, numpy_in = _checked_frames(frames, stream, "resize_short_side")
    x = _resize(x, stream, short_side)
    return ops.convert_to_numpy(x) if numpy_in else x


def _checked_frames(frames, stream: str, function: str):
    """(float32 tensor of ``frames``, whether they came as NumPy), after the rank/channel/dtype checks."""
    what = f"{stream} frames given to {function}"
    numpy_in = isinstance(frames, np.ndarray) or getattr(frames, "shape", None) is None
    if numpy_in:
        frames = as_array(frames, what)
    else:
        check_dtype(frames, what)
    shape = tuple(frames.shape)
    channels = STREAM_CHANNELS[stream]
    if len(shape) not in (4, 5) or shape[-1] != channels:
        raise InputError(
            f"{what} must be (frames, height, width, {channels}) or (batch, frames, height, width, {channels}); "
            f"got shape {shape}."
        )
    return ops.cast(frames, "float32"), numpy_in


def _resize(x, stream: str, short_side: int, crop: int | None = None):
    """Bilinear resize of float32 ``(..., H, W, C)`` to short side ``short_side``, then the centre crop.

    Bilinear with half-pixel centres and no antialiasing (``tf.image.resize``'s
    kernel), computed separably as two gathers and a blend per axis, and only
    for the output pixels kept (``crop x crop`` at the centre, or the whole
    resized frame when ``crop`` is ``None``). Flow vectors scale with the
    image. Height and width may be unknown until run time (a TensorFlow graph
    with a dynamic frame size, as in an exported SavedModel); the sizes are
    then computed in the graph with the same arithmetic as `resized_shape`.
    """
    shape = ops.shape(x)
    height, width = shape[-3], shape[-2]
    static = isinstance(height, (int, np.integer)) and isinstance(width, (int, np.integer))
    if static:
        new_height, new_width = resized_shape(int(height), int(width), short_side)
        top, left = center_crop_box(new_height, new_width, crop) if crop is not None else (0, 0)
    else:
        new_height, new_width = _resized_shape_in_graph(height, width, short_side)
        top, left = (new_height - crop) // 2, (new_width - crop) // 2
    out_height, out_width = (crop, crop) if crop is not None else (new_height, new_width)
    if static and (new_height, new_width) == (height, width):  # nothing to resample
        return x[..., top : top + out_height, left : left + out_width, :]
    low, high, frac = _taps(height, new_height, top, out_height, static)
    x = ops.take(x, low, axis=-3) * (1.0 - frac[:, None, None]) + ops.take(x, high, axis=-3) * frac[:, None, None]
    low, high, frac = _taps(width, new_width, left, out_width, static)
    x = ops.take(x, low, axis=-2) * (1.0 - frac[:, None]) + ops.take(x, high, axis=-2) * frac[:, None]
    if stream == "flow":  # displacements in pixels scale with the image
        x = x * ops.stack([_ratio(new_width, width, static), _ratio(new_height, height, static)])
    return x


def _resized_shape_in_graph(height, width, short_side: int):
    """`resized_shape` for sizes known only at run time (float64, so it rounds as Python does)."""
    h, w = ops.cast(height, "float64"), ops.cast(width, "float64")
    long_of_width = ops.maximum(short_side, ops.cast(ops.floor(w * short_side / h + 0.5), "int32"))
    long_of_height = ops.maximum(short_side, ops.cast(ops.floor(h * short_side / w + 0.5), "int32"))
    landscape = ops.less_equal(height, width)
    return ops.where(landscape, short_side, long_of_height), ops.where(landscape, long_of_width, short_side)


def _taps(size, new_size, start, count, static: bool):
    """Source rows (low, high) and blend weights of output positions ``start .. start + count - 1``.

    Output position ``j`` samples the source at ``(j + 0.5) * size / new_size - 0.5``,
    clamped to the edges (half-pixel centres).
    """
    if static:
        source = (np.arange(start, start + count) + 0.5) * (size / new_size) - 0.5
        low = np.floor(source)
        frac = (source - low).astype(np.float32)
        low = low.astype(np.int64)
        taps = (np.clip(low, 0, size - 1).astype(np.int32), np.clip(low + 1, 0, size - 1).astype(np.int32), frac)
        return tuple(ops.convert_to_tensor(t) for t in taps)
    positions = ops.cast(ops.arange(count), "float64") + ops.cast(start, "float64")
    source = (positions + 0.5) * (ops.cast(size, "float64") / ops.cast(new_size, "float64")) - 0.5
    low = ops.floor(source)
    frac = ops.cast(source - low, "float32")
    low = ops.cast(low, "int32")
    return ops.clip(low, 0, size - 1), ops.clip(low + 1, 0, size - 1), frac


def _ratio(new, old, static: bool):
    if static:
        return np.float32(new / old)
    return ops.cast(ops.cast(new, "float64") / ops.cast(old, "float64"), "float32")


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
