"""The boring-video check: an inflated network computes its 2D network's activations on a repeated image.

Feed a 3D network inflated from a 2D one (`keras_i3d.inflate`) a "boring
video", one image repeated over every frame. Each frame of every layer's
output then equals the 2D network's output on that image (Carreira &
Zisserman 2017, section 2.4), except where temporal padding reaches:

- a ``SAME`` convolution of time kernel ``k`` pads zero frames, so its first
  ``floor((k - 1) / 2)`` and last ``ceil((k - 1) / 2)`` output frames (at
  stride 1) see zeros where the 2D network saw the image; and every frame
  that depends on such a frame, through any later layer, is affected too;
- pools leave padding out (a max never picks it, a mean does not count it),
  so they add no affected frames of their own, but pass affected ones on;
- a layer that mixes every frame (a global pool, I3D's ``Logits`` pool, a
  ``Flatten`` into a ``Dense``) is unaffected only if all its input frames are.

`unaffected_frames` works out, for every layer, which output frames are
unaffected (from the layers' time kernels, strides and padding, not from
data); `boring_video_check` runs both networks and compares those frames.
"""

from __future__ import annotations

import dataclasses
import math

import keras
import numpy as np

from keras_i3d.errors import InflationError
from keras_i3d.inflation.layers import (
    TimeSameAveragePooling3D,
    TimeSameConv3D,
    TimeSameMaxPooling3D,
    time_same_frames,
    time_same_padding,
)
from keras_i3d.inflation.rules import PER_POSITION, WITH_AXIS, is_elementwise_operation
from keras_i3d.model.fused_layers import FusedConv3D, SeparableMaxPooling3D
from keras_i3d.model.layers import ClipShapeCheck, LogitsPooling
from keras_i3d.utils.functional_graph import is_functional_config, map_histories, operations_by_name, replay

L = keras.layers


@dataclasses.dataclass(frozen=True)
class Frames:
    """Which frames of a tensor a boring video leaves equal to the 2D network's activations.

    Attributes:
        length: the tensor's frame count; ``None`` for a tensor without a time
            axis (after a global pool, or a plain input).
        start: the first unaffected frame.
        stop: one past the last unaffected frame (``start == stop``: none).
        flattened: the frames were flattened into the feature axis (after a
            ``Flatten``), frame-major.
    """

    length: int | None
    start: int
    stop: int
    flattened: bool = False

    @property
    def count(self) -> int:
        """How many frames are unaffected (1 or 0 for a tensor without a time axis)."""
        return max(self.stop - self.start, 0)

    @property
    def whole(self) -> bool:
        """Whether every frame is unaffected."""
        return self.count == (1 if self.length is None else self.length)

    def frames(self) -> range:
        """The unaffected frame indices."""
        return range(self.start, max(self.stop, self.start))


def _all_or_nothing(source: Frames, length: int | None) -> Frames:
    return Frames(length, 0, (1 if length is None else length) if source.whole else 0)


def _window(source: Frames, kernel: int, stride: int, dilation: int, same: bool, pads_zeros: bool) -> Frames:
    """Output frames of a windowed layer whose whole window is unaffected input."""
    n = source.length
    before = time_same_padding(n, kernel, stride, dilation)[0] if same else 0
    out = time_same_frames(n, stride) if same else (n - (kernel - 1) * dilation - 1) // stride + 1
    start, stop = source.start, source.stop
    good = []
    for j in range(max(out, 0)):
        first = j * stride - before
        last = first + (kernel - 1) * dilation
        if not pads_zeros:  # pools leave padding out of the window
            first, last = max(first, 0), min(last, n - 1)
        if first >= start and last < stop:
            good.append(j)
    if not good:
        return Frames(out, 0, 0)
    return Frames(out, good[0], good[-1] + 1)


def _merge(sources: list[Frames]) -> Frames:
    """Frames of an elementwise merge: every input's frames (a 1-frame or time-less input broadcasts)."""
    lengths = {s.length for s in sources if s.length not in (None, 1)}
    if len(lengths) > 1:
        raise InflationError(f"Cannot merge tensors of {sorted(lengths)} frames.")
    length = lengths.pop() if lengths else sources[0].length
    start, stop = 0, 1 if length is None else length
    for s in sources:
        if s.length in (None, 1) and length not in (None, 1):
            if not s.whole:
                return Frames(length, 0, 0)
        else:
            start, stop = max(start, s.start), min(stop, s.stop)
    return Frames(length, start, max(stop, start))


def _conv_geometry(layer) -> tuple[int, int, int, bool]:
    """``(time kernel, stride, dilation, same-in-time)`` of a 3D convolution."""
    if isinstance(layer, FusedConv3D):
        return layer.kernel_size[0], layer.strides[0], 1, True
    same = layer.padding == "same" or isinstance(layer, TimeSameConv3D)
    return layer.kernel_size[0], layer.strides[0], layer.dilation_rate[0], same


def _windowed_frames(layer, source: Frames) -> Frames | None:
    """Frames out of a convolution or pool (``None``: ``layer`` is neither)."""
    if isinstance(layer, (L.Conv3D, FusedConv3D)):
        kernel, stride, dilation, same = _conv_geometry(layer)
        return _window(source, kernel, stride, dilation, same, pads_zeros=True)
    if isinstance(layer, (L.MaxPooling3D, L.AveragePooling3D, SeparableMaxPooling3D)):
        same = layer.padding == "same" or isinstance(layer, (TimeSameMaxPooling3D, TimeSameAveragePooling3D))
        return _window(source, layer.pool_size[0], layer.strides[0], 1, same, pads_zeros=False)
    if isinstance(layer, LogitsPooling):
        return _all_or_nothing(source, 1)
    if isinstance(layer, (L.GlobalAveragePooling3D, L.GlobalMaxPooling3D)):
        return _all_or_nothing(source, 1 if layer.keepdims else None)
    return None


#: Layers that may leave the time axis alone, and the attribute whose time entry must say so.
_TIME_NEUTRAL = {L.ZeroPadding3D: ("padding", (0, 0)), L.Cropping3D: ("cropping", (0, 0)), L.UpSampling3D: ("size", 1)}


def _reshaped_frames(layer, source: Frames) -> Frames:
    """Frames out of a ``Flatten``, ``Reshape`` or a ``Dense`` after a ``Flatten``."""
    if isinstance(layer, L.Dense):
        return _all_or_nothing(source, None)
    if isinstance(layer, L.Flatten) or len(layer.target_shape) == 1:
        return dataclasses.replace(source, flattened=source.length is not None)
    if source.length is None and len(layer.target_shape) == 4:
        return dataclasses.replace(source, length=1)
    return source


def _layer_frames(layer, sources: list[Frames]) -> Frames:
    source = sources[0]
    if source.length is None and isinstance(layer, L.Conv3D):
        raise InflationError(f"Layer {layer.name!r} convolves a tensor without a time axis.")
    windowed = _windowed_frames(layer, source)
    if windowed is not None:
        return windowed
    if isinstance(layer, (L.Flatten, L.Reshape)) or (isinstance(layer, L.Dense) and source.flattened):
        return _reshaped_frames(layer, source)
    if type(layer) in _TIME_NEUTRAL:
        attr, value = _TIME_NEUTRAL[type(layer)]
        if tuple(np.atleast_1d(getattr(layer, attr)[0])) != tuple(np.atleast_1d(value)):
            raise InflationError(f"Layer {layer.name!r} changes the time axis ({attr}={getattr(layer, attr)}).")
        return source
    if len(sources) > 1:
        return _merge(sources)
    if isinstance(layer, (*PER_POSITION, *WITH_AXIS, L.PReLU, L.SpatialDropout3D, ClipShapeCheck)):
        return source
    if is_elementwise_operation(layer):
        return source
    raise InflationError(f"Cannot tell which frames of layer {layer.name!r} ({type(layer).__name__}) are unaffected.")


def _analyse(model: keras.Model, inputs: list[Frames], found: dict[str, Frames], prefix: str) -> list[Frames]:
    config = model.get_config()
    if not is_functional_config(config):
        raise InflationError(f"unaffected_frames needs a functional model; {model.name!r} is {type(model).__name__}.")
    feed = iter(inputs)
    operations = operations_by_name(model)

    def on_input(entry):
        value = next(feed)
        found[prefix + entry["name"]] = value
        return value

    def on_call(entry, args, kwargs):
        layer = operations[entry["name"]]
        sources = [v for v in keras.tree.flatten(args) if isinstance(v, Frames)]
        if isinstance(layer, keras.Model):
            outputs = _analyse(layer, sources, found, f"{prefix}{layer.name}/")
            value = outputs[0] if len(outputs) == 1 else outputs
        else:
            value = _layer_frames(layer, sources)
        found.setdefault(prefix + entry["name"], keras.tree.flatten(value)[0])
        return value

    outputs, _ = replay(config, on_input, on_call)
    return [v for v in keras.tree.flatten(outputs) if isinstance(v, Frames)]


def unaffected_frames(model_3d: keras.Model, frames: int | None = None) -> dict[str, Frames]:
    """For every layer of a 3D model, the output frames temporal padding does not reach.

    Args:
        model_3d: a functional 3D model (from `keras_i3d.inflate`, or `keras_i3d.I3D`).
        frames: the input clip's frame count; default the model's fixed one.

    Returns:
        ``{layer name: Frames}`` in graph order (``outer/inner`` inside nested models).

    Raises:
        InflationError: if the frame count is unknown or a layer's effect on
            time is unknown.
    """
    batch_shapes = [tuple(t.shape) for t in keras.tree.flatten(model_3d.inputs)]
    if frames is None:
        known = {s[1] for s in batch_shapes if len(s) == 5}
        if len(known) != 1 or None in known:
            raise InflationError(f"{model_3d.name!r} takes any number of frames: pass `frames=`.")
        frames = known.pop()
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise InflationError(f"`frames` must be a positive int; got {frames!r}.")
    inputs = [Frames(int(frames), 0, int(frames)) if len(s) == 5 else Frames(None, 0, 1) for s in batch_shapes]
    found: dict[str, Frames] = {}
    _analyse(model_3d, inputs, found, "")
    return found


@dataclasses.dataclass(frozen=True)
class LayerComparison:
    """One layer's boring-video comparison.

    Attributes:
        name: the layer name.
        frames: the output frames compared (empty: none is unaffected).
        length: the output's frame count (``None``: no time axis).
        max_abs_diff: the largest ``|3D - 2D|`` over the compared frames.
        scale: the largest ``|2D|`` activation (the yardstick of ``relative_diff``).
        relative_diff: ``max_abs_diff / scale``.
    """

    name: str
    frames: range
    length: int | None
    max_abs_diff: float
    scale: float
    relative_diff: float


@dataclasses.dataclass(frozen=True)
class BoringVideoReport:
    """The result of `boring_video_check`: one `LayerComparison` per layer, in graph order."""

    frames: int
    tolerance: float
    layers: list[LayerComparison]

    @property
    def compared(self) -> list[LayerComparison]:
        """The layers with at least one unaffected frame."""
        return [c for c in self.layers if c.frames]

    @property
    def uncompared(self) -> list[str]:
        """The layers every output frame of which temporal padding reaches."""
        return [c.name for c in self.layers if not c.frames]

    @property
    def worst(self) -> LayerComparison | None:
        """The compared layer with the largest relative difference."""
        return max(self.compared, key=lambda c: c.relative_diff, default=None)

    @property
    def passed(self) -> bool:
        """Whether every compared layer is within the tolerance (relative to its activations' scale)."""
        return all(c.relative_diff <= self.tolerance for c in self.compared)

    def summary(self) -> str:
        """A few lines for people: how many layers agree, the worst one, and what was not compared."""
        worst = self.worst
        lines = [
            f"boring video of {self.frames} frames: {len(self.compared)} of {len(self.layers)} layers compared, "
            f"{'all' if self.passed else 'NOT all'} within {self.tolerance:g} (relative)",
        ]
        if worst is not None:
            lines.append(
                f"  worst: {worst.name} {worst.relative_diff:.2e} (max |diff| {worst.max_abs_diff:.2e}, "
                f"frames {worst.frames.start}-{worst.frames.stop - 1} of {worst.length or 1})"
            )
        if self.uncompared:
            shown = ", ".join(self.uncompared[:5]) + (" ..." if len(self.uncompared) > 5 else "")
            lines.append(f"  no unaffected frame: {len(self.uncompared)} layers ({shown})")
        return "\n".join(lines)


def _compare(name: str, info: Frames, activations_2d, activations_3d) -> LayerComparison:
    """Compares a layer's unaffected 3D frames with its 2D activations."""
    a2, a3 = np.asarray(activations_2d, np.float64), np.asarray(activations_3d, np.float64)
    if info.length is None:
        picked = a3[:, None] if info.count else a3[:, :0]
    else:
        if info.flattened:
            a3 = a3.reshape(a3.shape[0], info.length, -1)
            a2 = a2.reshape(a2.shape[0], -1)
        picked = a3[:, info.start : info.stop]
    reference = a2[:, None]
    scale = float(np.abs(a2).max()) if a2.size else 0.0
    diff = float(np.abs(picked - reference).max()) if picked.size else 0.0
    relative = diff / scale if scale > 0 else (0.0 if diff == 0 else math.inf)
    return LayerComparison(name, info.frames(), info.length, diff, scale, relative)


def _trace_into(model: keras.Model, args, prefix: str, found: dict) -> object:
    """Calls ``model``'s layers (shared, not copied) on ``args``, recording each layer's first output.

    Nested models are traced inside, their layers recorded as ``outer/inner``.
    """
    if isinstance(model, keras.Sequential):
        x = keras.tree.flatten(args)[0]
        for layer in model.layers:
            x = found.setdefault(prefix + layer.name, layer(x))
        return x
    config = model.get_config()
    names = keras.tree.flatten(map_histories(config["input_layers"], lambda history: history[0]))
    given = dict(zip(names, keras.tree.flatten(args), strict=True))
    operations = operations_by_name(model)

    def on_call(entry, call_args, kwargs):
        operation = operations[entry["name"]]
        if isinstance(operation, keras.Model):
            value = _trace_into(operation, call_args, f"{prefix}{entry['name']}/", found)
        else:
            value = operation(*call_args, **kwargs)
        found.setdefault(prefix + entry["name"], keras.tree.flatten(value)[0])
        return value

    outputs, _ = replay(config, lambda entry: given[entry["name"]], on_call)
    return outputs


def _trace(model: keras.Model) -> tuple[keras.KerasTensor, dict]:
    """A fresh input for ``model`` and ``{layer name: its output}`` for every layer, nested ones included."""
    inputs = keras.Input(batch_shape=model.inputs[0].shape, dtype=model.inputs[0].dtype)
    found: dict = {}
    _trace_into(model, [inputs], "", found)
    return inputs, found


def boring_video_check(
    model_2d: keras.Model,
    model_3d: keras.Model,
    images: np.ndarray,
    frames: int | None = None,
    tolerance: float = 1e-5,
    batch_size: int = 1,
) -> BoringVideoReport:
    """Runs a 2D model on images and its inflation on those images repeated, comparing every layer.

    Every layer the two models share by name (those of nested models too,
    as ``outer/inner``) is compared over the output frames `unaffected_frames` says
    temporal padding does not reach; each comparison is relative to the
    layer's largest 2D activation, as activations of different layers differ
    in scale by orders of magnitude.

    Args:
        model_2d: the 2D model (one image input).
        model_3d: its inflation, e.g. ``keras_i3d.inflate(model_2d)``.
        images: ``(batch, height, width, channels)`` images the 2D model takes.
        frames: the boring video's length; default the 3D model's fixed frame count.
        tolerance: the largest relative difference that passes.
        batch_size: images per forward pass.

    Returns:
        A `BoringVideoReport` (``report.passed``, ``report.summary()``).

    Raises:
        InflationError: if the models do not take one image input / one clip
            input, or the frame count is unknown.
    """
    if len(model_2d.inputs) != 1 or len(model_3d.inputs) != 1:
        raise InflationError("boring_video_check takes models with one input (an image, a clip).")
    images = np.asarray(images, dtype="float32")
    if images.ndim != 4:
        raise InflationError(f"`images` must be (batch, height, width, channels); got shape {images.shape}.")
    found = unaffected_frames(model_3d, frames)
    frames = frames or keras.tree.flatten(model_3d.inputs)[0].shape[1]
    inputs_2d, traced_2d = _trace(model_2d)
    inputs_3d, traced_3d = _trace(model_3d)
    names = [name for name in traced_2d if name in traced_3d and name in found]
    video = np.repeat(images[:, None], frames, axis=1)
    probe_2d = keras.Model(inputs_2d, [traced_2d[name] for name in names])
    probe_3d = keras.Model(inputs_3d, [traced_3d[name] for name in names])
    outputs_2d = probe_2d.predict(images, batch_size=batch_size, verbose=0)
    outputs_3d = probe_3d.predict(video, batch_size=batch_size, verbose=0)
    if len(names) == 1:
        outputs_2d, outputs_3d = [outputs_2d], [outputs_3d]
    rows = [_compare(name, found[name], a2, a3) for name, a2, a3 in zip(names, outputs_2d, outputs_3d, strict=True)]
    return BoringVideoReport(int(frames), float(tolerance), rows)
