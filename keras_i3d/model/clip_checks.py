"""What clips I3D can take, checked with the same words everywhere.

The model checks shapes inside its graph (`keras_i3d.model.layers.ClipShapeCheck`),
the builder checks ``input_shape``, and the package's entry points (the CLI,
and the whole-video helpers and export signatures as they come) check arrays
from users with `check_clip` before Keras sees them. All use the sentences
below, so a clip that is too small gets the same message on every path and
backend.
"""

from __future__ import annotations

import math
import re

import numpy as np
from keras import ops

from keras_i3d.errors import InputError

#: Fewest frames a clip may have.
MIN_FRAMES = 1
#: Smallest frame height and width (the network's total spatial stride).
MIN_SIZE = 32
#: The network's input range (see `keras_i3d.preprocess_input`).
INPUT_RANGE = (-1.0, 1.0)
_STREAM_NAMES = {3: "RGB", 2: "optical flow (u, v)"}
_REAL_DTYPE = re.compile(r"u?int\d+|b?float\d+\w*")
#: The sentence for a clip below the minimum size (a template, so a graph
#: assertion can fill in sizes only known when it runs).
SIZE_MESSAGE = (
    "I3D needs clips of at least {min_frames} frame of at least {min_size}x{min_size} pixels; "
    "got {frames} frames of {height}x{width} pixels."
)
#: The sentence for a clip unlike a model's fixed ``frames x height x width``.
DECLARED_MESSAGE = "This model takes clips of {declared} (frames x height x width); got {actual}."
#: What a model's user can do about a fixed size.
BUILD_HINT = " Build it with input_shape=(None, None, None, channels) to take any size."


def size_problem(frames: int | None, height: int | None, width: int | None) -> str | None:
    """The sentence for a clip below the minimum size, or ``None`` if it is large enough.

    Unknown (``None``) sizes pass.
    """
    small = (frames is not None and frames < MIN_FRAMES) or any(
        size is not None and size < MIN_SIZE for size in (height, width)
    )
    if not small:
        return None
    return SIZE_MESSAGE.format(min_frames=MIN_FRAMES, min_size=MIN_SIZE, frames=frames, height=height, width=width)


#: What to do about frames of another size than a model's fixed square crop.
RESIZE_HINT = (
    " Resize and centre-crop video frames with keras_i3d.preprocess_frames(frames, size={size}) "
    "(DeepMind's recipe), or build the model with input_shape=(None, None, None, channels) to take any size."
)


def declared_shape_problem(declared: tuple, actual: tuple, hint: str = BUILD_HINT) -> str | None:
    """The sentence for a clip whose ``(frames, height, width)`` differ from a model's fixed ones.

    When only the frame size differs from a model's fixed square size (a 640x480 video into a 224
    model), the hint names `keras_i3d.preprocess_frames` first.
    """
    if all(d is None or a is None or d == a for d, a in zip(declared, actual, strict=True)):
        return None
    frames_fit = declared[0] is None or actual[0] is None or declared[0] == actual[0]
    if hint == BUILD_HINT and frames_fit and declared[1] is not None and declared[1] == declared[2]:
        hint = RESIZE_HINT.format(size=declared[1])
    return DECLARED_MESSAGE.format(declared=format_sizes(declared), actual=format_sizes(actual)) + hint


def format_sizes(sizes: tuple) -> str:
    """``(None, 224, 224)`` -> ``"any x 224 x 224"``."""
    return " x ".join("any" if v is None else str(v) for v in sizes)


def channels_problem(expected: int, got: int | None) -> str | None:
    """The sentence for a clip with the wrong number of channels, or ``None``."""
    if got == expected:
        return None
    return (
        f"The model takes {expected} input channels ({_STREAM_NAMES.get(expected, 'custom')}); "
        f"got {got} channels in the last axis."
    )


def shape_problem(shape: tuple, declared: tuple, hint: str = BUILD_HINT) -> str | None:
    """The sentence for a batch shape a model built for ``declared`` cannot take, or ``None``.

    Args:
        shape: ``(batch, frames, height, width, channels)``; ``None`` for sizes
            not known yet (they pass).
        declared: the model's ``(frames, height, width, channels)``, ``None``
            for free sizes.
        hint: what to do about a size unlike a fixed one.
    """
    if len(shape) != 5:
        hint = " For a single clip, add the batch axis: x[None]." if len(shape) == 4 else ""
        return f"I3D takes clips of shape (batch, frames, height, width, channels); got shape {shape}.{hint}"
    if shape[-1] is not None:
        problem = channels_problem(declared[-1], shape[-1])
        if problem is not None:
            return problem
    return size_problem(*shape[1:4]) or declared_shape_problem(tuple(declared[:3]), tuple(shape[1:4]), hint)


def check_finite(array: np.ndarray, what: str) -> None:
    """Raises `InputError` if a float ``array`` holds NaN or infinity, saying how many and where."""
    if not np.issubdtype(array.dtype, np.floating):
        return
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        kinds = [name for name, mask in (("NaN", np.isnan(array)), ("infinite", np.isinf(array))) if mask.any()]
        raise InputError(
            f"{what} has {int(bad.sum())} {' and '.join(kinds)} value(s) (first at index {first}); it must be finite."
        )


def check_dtype(x, what: str) -> None:
    """Raises `InputError` unless ``x`` (NumPy or a backend tensor) holds real numbers.

    Refused: bool, complex, text, objects and structured dtypes.
    """
    dtype = getattr(x, "dtype", None)
    name = str(getattr(dtype, "name", dtype)).removeprefix("torch.")
    if not _REAL_DTYPE.fullmatch(name):
        raise InputError(f"{what} must hold real numbers; got dtype {name}.")


#: What to do about clips that are not scaled to the network's range.
SCALE_HINT = {
    3: "scale RGB frames with keras_i3d.preprocess_input(frames), or resize, crop and scale a video's frames "
    "with keras_i3d.preprocess_frames(frames)",
    2: "scale TV-L1 flow (pixels) with keras_i3d.preprocess_input(flow, stream='flow'), or resize, crop and "
    "scale it with keras_i3d.preprocess_frames(flow, stream='flow')",
}
_OPT_OUT = " (To feed such values on purpose, set model.input_range = None.)"


def value_bounds(x) -> tuple[float, float] | None:
    """(min, max) of ``x`` where its values are known (NumPy, eager tensors); ``None`` if traced or empty."""
    try:
        if int(np.prod(tuple(x.shape))) == 0:
            return None
        if isinstance(x, np.ndarray):
            return float(x.min()), float(x.max())
        # Through NumPy, never float(tensor): inside tf.function, AutoGraph turns float() into a cast and the
        # bounds into graph tensors; NumPy conversion of a symbolic or traced tensor raises instead.
        low, high = ops.convert_to_numpy(ops.min(x)), ops.convert_to_numpy(ops.max(x))
        return float(np.asarray(low)), float(np.asarray(high))
    except Exception:  # symbolic or traced (tf.data, tf.function, jit): values unknown until it runs
        return None


def check_scaled(x, channels: int, value_range: tuple[float, float], what: str) -> None:
    """Raises `InputError` for integer clips, or known values outside ``value_range``, naming the fix."""
    dtype = getattr(x, "dtype", None)
    name = str(getattr(dtype, "name", dtype)).removeprefix("torch.")
    hint = SCALE_HINT.get(channels, SCALE_HINT[3])
    if re.fullmatch(r"u?int\d+", name):
        raise InputError(
            f"{what} holds integers ({name}), e.g. raw frames; I3D takes float clips in [-1, 1]: {hint}.{_OPT_OUT}"
        )
    bounds = value_bounds(x)
    if bounds is not None and (bounds[0] < value_range[0] or bounds[1] > value_range[1]):
        raise InputError(
            f"{what} has values in [{bounds[0]:.6g}, {bounds[1]:.6g}], far outside the network's [-1, 1]: "
            f"{hint}.{_OPT_OUT}"
        )


def as_array(x, what: str) -> np.ndarray:
    """``x`` as a NumPy array of real numbers (NumPy, lists and backend tensors), else `InputError`."""
    if x is None:
        raise InputError(f"{what} is None.")
    try:
        array = np.asarray(x)  # a masked array loses its mask: hidden NaN are checked too
    except Exception as e:  # a symbolic or otherwise unconvertible tensor
        raise InputError(f"{what} must be an array of numbers; got {type(x).__name__} ({e}).") from e
    check_dtype(array, what)
    return array


def check_clip(
    x,
    channels: int = 3,
    input_shape: tuple | None = None,
    value_range: tuple[float, float] = INPUT_RANGE,
    what: str = "The clip",
    size_hint: str = BUILD_HINT,
) -> np.ndarray:
    """Checks a clip or batch of clips before it goes into the network.

    Args:
        x: ``(frames, height, width, channels)`` or a batch of those, already
            scaled (see `keras_i3d.preprocess_input`); NumPy or any array-like.
        channels: channels the model takes (3 RGB, 2 flow).
        input_shape: the model's ``(frames, height, width, channels)`` with
            ``None`` for free sizes; fixed sizes must match (overrides
            ``channels``).
        value_range: inclusive range the values must lie in.
        what: how messages name ``x``.
        size_hint: what the caller can do about a size unlike a fixed one.

    Returns:
        float32 ``(batch, frames, height, width, channels)``.

    Raises:
        InputError: for a wrong type, rank or channel count, an empty batch, a
            clip below the minimum size or unlike the model's fixed size,
            non-finite values or values out of range (with a hint when they
            look unscaled).
    """
    if len(value_range) != 2 or not all(math.isfinite(v) for v in value_range) or value_range[0] > value_range[1]:
        raise ValueError(f"`value_range` must be (low, high) with low <= high, both finite; got {value_range!r}.")
    if input_shape is not None and len(input_shape) != 4:
        raise ValueError(f"`input_shape` must be (frames, height, width, channels); got {input_shape!r}.")
    array = as_array(x, what)
    if array.ndim == 4:
        array = array[None]
    if array.ndim != 5:
        raise InputError(
            f"{what} must be (frames, height, width, channels) or a batch of those; got shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise InputError(f"{what} is an empty batch (shape {array.shape}).")
    declared = tuple(input_shape) if input_shape is not None else (None, None, None, channels)
    problem = shape_problem(array.shape, declared, size_hint)
    if problem is not None:
        raise InputError(f"{what}: {problem}")
    check_finite(array, what)
    low, high = float(array.min()), float(array.max())
    if low < value_range[0] or high > value_range[1]:
        hint = ""
        if channels == 3 and low >= 0 and 2 < high <= 255:
            hint = " It looks like raw RGB in [0, 255]: scale it with keras_i3d.preprocess_input(frames)."
        elif channels == 2:
            hint = " It looks like flow in pixels: scale it with keras_i3d.preprocess_input(flow, stream='flow')."
        raise InputError(
            f"{what} has values in [{low:.10g}, {high:.10g}]; the network takes "
            f"[{value_range[0]:g}, {value_range[1]:g}].{hint}"
        )
    return array.astype(np.float32, copy=False)
