"""Dual TV-L1 optical flow in Keras 3 ops: a batched port of OpenCV's CPU ``DualTVL1OpticalFlow``.

The algorithm is opencv_contrib's ``modules/optflow/src/tvl1flow.cpp`` (Zach,
Pock and Bischof's duality-based TV-L1, as implemented by Javier Sánchez),
step for step:

* frames are taken in OpenCV's intensity scale: float frames in ``[0, 1]`` are
  multiplied by 255, uint8 frames are used as they are;
* a pyramid built by repeated bilinear ``cv::resize`` by ``scale_step``
  (half-pixel centres, no smoothing), each level from the previous one, which
  stops before the first level with a side under 16 pixels;
* per level: centred gradients of the second frame (one-sided at the borders),
  then ``warps`` times: the second frame and its gradients warped by the
  current flow (``cv::remap``, bicubic, ``A = -0.75``, zero outside, at exact
  sub-pixel positions as OpenCV 5.x), the data term linearised, and up to
  ``outer_iterations`` rounds of (median filter of the flow, replicated
  borders, then up to ``inner_iterations`` of: thresholding step,
  divergence of the dual field, primal update, forward gradient, dual
  update), stopping as soon as the summed squared update of the flow falls to
  ``epsilon**2 * area``;
* the flow bilinearly upsampled to the next level and divided by ``scale_step``.

Pairs are batched: a pair that has converged keeps its flow and dual field
while the other pairs of its batch go on (a mask), so a pair computed in a
batch equals the pair computed alone.

The algorithm lives in the `TVL1Flow` layer, written once with ``keras.ops``
(loops with data-dependent stops are ``keras.ops.while_loop``); `tvl1_keras`
runs it through a small functional model (`tvl1_model`), XLA-compiled on JAX
and TensorFlow and eager on torch, cached per shape and parameters.
Parameters are any object with the field names of
`keras_i3d.video.flow.TVL1` (duck typing, so this module does not import it).

Agreement with OpenCV: every step matches OpenCV's to float32 rounding
(resize, remap, median and one iteration agree to ~1e-6 relative). TV-L1's
thresholding and median filter amplify such differences over its thousands of
iterations, as they amplify 1-ulp noise on OpenCV's own input: OpenCV against
OpenCV on frames perturbed by 1e-7 relative differs by a mean end-point error
of ~0.003-0.02 px, and so does this port (e.g. 0.01 px on DeepMind's sample clip).

OpenCV's CUDA implementation (``cv::cuda::OpticalFlowDual_TVL1``, the one
DeepMind's README links) has the same defaults except one loop of 300
iterations per warp and no median filter: build it as
``TVL1(**CUDA_TVL1_FIELDS)``. Its kernels differ in details this module does
not reproduce (see `CUDA_TVL1_FIELDS`).

May import: ``keras``, ``numpy`` and `keras_i3d.errors`.
"""

from __future__ import annotations

import types
from collections import OrderedDict
from typing import Any

import keras
import numpy as np
from keras import ops

from keras_i3d.errors import InputError

#: The parameter names a ``params`` object must have (those of ``keras_i3d.video.flow.TVL1``).
PARAM_FIELDS = (
    "tau",
    "lambda_",
    "theta",
    "scales",
    "warps",
    "epsilon",
    "inner_iterations",
    "outer_iterations",
    "scale_step",
    "gamma",
    "median_filtering",
)

#: OpenCV's defaults (``cv2.optflow.DualTVL1OpticalFlow_create()``).
OPENCV_DEFAULTS: dict[str, float | int] = {
    "tau": 0.25,
    "lambda_": 0.15,
    "theta": 0.3,
    "scales": 5,
    "warps": 5,
    "epsilon": 0.01,
    "inner_iterations": 30,
    "outer_iterations": 10,
    "scale_step": 0.8,
    "gamma": 0.0,
    "median_filtering": 5,
}

#: The fields that turn the CPU defaults into those of OpenCV's CUDA class
#: ``cv::cuda::OpticalFlowDual_TVL1::create()`` (tau 0.25, lambda 0.15, theta 0.3,
#: 5 scales, 5 warps, epsilon 0.01, 300 iterations, scale step 0.8, gamma 0):
#: one loop of 300 iterations per warp and no median filter. Use as
#: ``TVL1(**CUDA_TVL1_FIELDS)``. What the fields cannot express: the CUDA
#: class checks its stopping criterion only every other iteration and skips
#: checks while the last error was far above the threshold, and it warps with
#: a normalised Catmull-Rom (``A = -0.5``) bicubic with clamped borders; the
#: CPU variant here checks every iteration and warps like ``cv::remap``.
CUDA_TVL1_FIELDS: dict[str, int] = {"inner_iterations": 300, "outer_iterations": 1, "median_filtering": 1}

#: OpenCV's ``std::numeric_limits<float>::epsilon()`` guard in the thresholding step.
_FLT_EPSILON = float(np.finfo(np.float32).eps)
#: OpenCV's "not yet computed" error (``std::numeric_limits<float>::max()``).
_FLT_MAX = float(np.finfo(np.float32).max)
#: OpenCV stops adding pyramid levels before the first one with a side under this.
_MIN_LEVEL_SIDE = 16
#: ``cv::remap``'s bicubic kernel parameter.
_CUBIC_A = -0.75
#: Backends whose models `tvl1_model` compiles with XLA (a compile flag: the algorithm has no per-backend code).
_XLA_BACKENDS = ("jax", "tensorflow")
#: How many compiled models `tvl1_keras` keeps.
_CACHE_SIZE = 8


def _cv_round(value: float) -> int:
    """``cvRound``: nearest integer, ties to even (Python's `round` on the double)."""
    return round(value)


def pyramid_sizes(height: int, width: int, scales: int, scale_step: float) -> list[tuple[int, int]]:
    """The ``(height, width)`` of each pyramid level OpenCV's TV-L1 uses, finest first.

    Each level is ``cv::resize`` of the previous one by ``scale_step``
    (``cvRound`` of the scaled side); OpenCV drops the first level with a side
    under 16 pixels and every coarser one.

    Args:
        height: frame height.
        width: frame width.
        scales: the ``scales`` parameter (the most levels).
        scale_step: the ``scale_step`` parameter.

    Returns:
        One ``(height, width)`` per level used.
    """
    sizes = [(int(height), int(width))]
    for _ in range(1, int(scales)):
        h, w = sizes[-1]
        h, w = _cv_round(h * scale_step), _cv_round(w * scale_step)
        if h < _MIN_LEVEL_SIDE or w < _MIN_LEVEL_SIDE:
            break
        sizes.append((h, w))
    return sizes


def _linear_taps(src: int, dst: int, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``cv::resize`` INTER_LINEAR along one axis: source indices and weights of each output sample.

    ``scale`` is source pixels per output pixel (OpenCV's ``1 / inv_scale``).
    The coordinate is computed in double and rounded to float as OpenCV does;
    samples left of the first or right of the last source pixel take that pixel.
    """
    position = ((np.arange(dst, dtype=np.float64) + 0.5) * scale - 0.5).astype(np.float32)
    index = np.floor(position).astype(np.int64)
    frac = (position - index.astype(np.float32)).astype(np.float32)
    low = index < 0
    frac[low], index[low] = 0.0, 0
    high = index >= src - 1
    frac[high], index[high] = 0.0, src - 1
    return (
        index.astype(np.int32),
        np.minimum(index + 1, src - 1).astype(np.int32),
        (np.float32(1.0) - frac).astype(np.float32),
        frac,
    )


def _resize_axis(x, axis: int, src: int, dst: int, scale: float):
    """Bilinear ``cv::resize`` of ``x`` along ``axis`` (``-1`` or ``-2``) from ``src`` to ``dst`` samples."""
    if src == dst and scale == 1.0:
        return x
    index0, index1, weight0, weight1 = _linear_taps(src, dst, scale)
    if axis == -2:
        weight0, weight1 = weight0[:, None], weight1[:, None]
    weight0, weight1 = ops.convert_to_tensor(weight0), ops.convert_to_tensor(weight1)  # not NumPy * tensor
    rank = len(x.shape)
    axis = rank + axis
    return ops.take(x, index0, axis=axis) * weight0 + ops.take(x, index1, axis=axis) * weight1


def _resize(x, src: tuple[int, int], dst: tuple[int, int], scale: tuple[float, float]):
    """Bilinear ``cv::resize`` of the last two axes, horizontal pass first as OpenCV."""
    x = _resize_axis(x, -1, src[1], dst[1], scale[1])
    return _resize_axis(x, -2, src[0], dst[0], scale[0])


def _pad_edge(x, before: int, after: int, axis: int):
    """Replicate-pad ``x`` along ``axis`` (negative)."""
    first = x[..., :1] if axis == -1 else x[..., :1, :]
    last = x[..., -1:] if axis == -1 else x[..., -1:, :]
    return ops.concatenate([first] * before + [x] + [last] * after, axis=axis)


def _centered_gradient(image):
    """OpenCV's ``centeredGradient``: half central differences, one-sided half differences at the borders."""
    padded_x = _pad_edge(image, 1, 1, -1)
    padded_y = _pad_edge(image, 1, 1, -2)
    dx = 0.5 * (padded_x[..., 2:] - padded_x[..., :-2])
    dy = 0.5 * (padded_y[..., 2:, :] - padded_y[..., :-2, :])
    return dx, dy


def _forward_gradient(u):
    """OpenCV's ``forwardGradient``: forward differences, zero on the last column / row."""
    dx = ops.concatenate([u[..., 1:] - u[..., :-1], ops.zeros_like(u[..., :1])], axis=-1)
    dy = ops.concatenate([u[..., 1:, :] - u[..., :-1, :], ops.zeros_like(u[..., :1, :])], axis=-2)
    return dx, dy


def _divergence(px, py):
    """OpenCV's ``divergence``: backward differences with the field taken as zero before the first pixel.

    Summed in OpenCV's order, also in the first column (``(px + py) - py_above``).
    """
    dy = ops.concatenate([py[..., :1, 1:], py[..., 1:, 1:] - py[..., :-1, 1:]], axis=-2)
    inner = (px[..., 1:] - px[..., :-1]) + dy
    first_column = px[..., :1] + py[..., :1]
    first_column = ops.concatenate([first_column[..., :1, :], first_column[..., 1:, :] - py[..., :-1, :1]], axis=-2)
    return ops.concatenate([first_column, inner], axis=-1)


def _batcher_comparators(size: int) -> list[tuple[int, int]]:
    """Comparators ``(i, j)``, ``i < j``, of Batcher's odd-even merge sort on ``size = 2**k`` wires."""
    comparators: list[tuple[int, int]] = []

    def merge(low: int, length: int, stride: int) -> None:
        step = 2 * stride
        if step < length:
            merge(low, length, step)
            merge(low + stride, length, step)
            comparators.extend((i, i + stride) for i in range(low + stride, low + length - stride, step))
        else:
            comparators.append((low, low + stride))

    def sort(low: int, length: int) -> None:
        if length > 1:
            half = length // 2
            sort(low, half)
            sort(low + half, half)
            merge(low, length, 1)

    sort(0, size)
    return comparators


def _selection_network(count: int, rank: int) -> tuple[list[tuple[int, str, int, int]], int]:
    """A min/max network that selects the ``rank``-th smallest of ``count`` values.

    Batcher's sorting network on the next power of two (the extra wires hold
    ``+inf``, so their comparators are no-ops or renamings), pruned to the
    operations the selected wire depends on.

    Returns:
        ``[(node, "min" | "max", a, b), ...]`` in evaluation order (nodes ``0 ..
        count - 1`` are the inputs), and the output node.
    """
    size = 1 << max(count - 1, 0).bit_length()
    wires: list[int | None] = list(range(count)) + [None] * (size - count)
    operations: list[tuple[int, str, int, int]] = []
    for i, j in _batcher_comparators(size):
        a, b = wires[i], wires[j]
        if b is None:
            continue
        if a is None:
            wires[i], wires[j] = b, None
            continue
        low, high = count + len(operations), count + len(operations) + 1
        operations += [(low, "min", a, b), (high, "max", a, b)]
        wires[i], wires[j] = low, high
    output = wires[rank]
    needed = {output}
    kept = []
    for node, kind, a, b in reversed(operations):
        if node in needed:
            needed.update((a, b))
            kept.append((node, kind, a, b))
    return kept[::-1], output


_MEDIAN_NETWORKS: dict[int, tuple[list[tuple[int, str, int, int]], int]] = {}


def _median_blur(x, ksize: int):
    """``cv::medianBlur`` of float images (last two axes), replicated borders: an exact median."""
    if ksize not in _MEDIAN_NETWORKS:
        _MEDIAN_NETWORKS[ksize] = _selection_network(ksize * ksize, ksize * ksize // 2)
    network, output = _MEDIAN_NETWORKS[ksize]
    radius = ksize // 2
    height, width = x.shape[-2], x.shape[-1]
    padded = _pad_edge(_pad_edge(x, radius, radius, -1), radius, radius, -2)
    windows = [padded[..., dy : dy + height, dx : dx + width] for dy in range(ksize) for dx in range(ksize)]
    values = dict(enumerate(windows))
    last_use = {}
    for step, (_, _, a, b) in enumerate(network):
        last_use[a] = last_use[b] = step
    for step, (node, kind, a, b) in enumerate(network):
        values[node] = (ops.minimum if kind == "min" else ops.maximum)(values[a], values[b])
        for operand in (a, b):  # free dead intermediates early (eager backends allocate each one)
            if last_use.get(operand) == step and operand != output:
                values.pop(operand, None)
    return values[output]


def _cubic_weights(t):
    """``cv::remap``'s bicubic weights (``A = -0.75``) of the four taps around a fraction ``t`` in [0, 1)."""
    a = _CUBIC_A
    t1 = t + 1.0
    w0 = ((a * t1 - 5.0 * a) * t1 + 8.0 * a) * t1 - 4.0 * a
    w1 = ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0
    s = 1.0 - t
    w2 = ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0
    w3 = 1.0 - w0 - w1 - w2
    return [w0, w1, w2, w3]


def _remap_cubic(images, map_x, map_y, tab_size: int | None):
    """``cv::remap`` INTER_CUBIC, BORDER_CONSTANT 0, of several images at the same float maps.

    Args:
        images: ``(B, C, H, W)``.
        map_x: ``(B, H, W)`` source column of each output pixel.
        map_y: ``(B, H, W)`` source row.
        tab_size: ``None`` to use the coordinates as they are (OpenCV 5.x);
            32 to round them to 1/32 pixel first (``INTER_TAB_SIZE``, older OpenCV).

    Returns:
        ``(B, C, H, W)``: taps outside the image count as zero.
    """
    channels, height, width = images.shape[1], images.shape[2], images.shape[3]
    area = height * width
    if tab_size:
        map_x = ops.round(map_x * float(tab_size)) / float(tab_size)
        map_y = ops.round(map_y * float(tab_size)) / float(tab_size)
    floor_x, floor_y = ops.floor(map_x), ops.floor(map_y)
    weights_x = _cubic_weights(map_x - floor_x)
    weights_y = _cubic_weights(map_y - floor_y)
    base_x = ops.cast(floor_x, "int32") - 1
    base_y = ops.cast(floor_y, "int32") - 1
    # one gather of scalars per row of taps from the images flattened to 1-D (flat gathers are the fast
    # kind on every backend); flat index = ((b * C + c) * H + y) * W + x
    batch_offset = ops.cast(ops.cumsum(ops.ones_like(map_x[:, :1, :1]), axis=0) - 1.0, "int32") * (channels * area)
    channel_offset = ops.reshape(ops.arange(channels, dtype="int32") * area, (1, 1, channels, 1, 1))
    table = ops.reshape(images, (-1,))
    columns = []
    for k in range(4):
        column = base_x + k
        weights_x[k] = weights_x[k] * ops.cast((column >= 0) & (column < width), "float32")
        columns.append(ops.clip(column, 0, width - 1))
    columns = ops.stack(columns, axis=1)  # (B, 4, H, W)
    weights_x = ops.stack(weights_x, axis=1)
    rows = []
    for k in range(4):
        row = base_y + k
        weight_y = weights_y[k] * ops.cast((row >= 0) & (row < height), "float32")
        index = ops.expand_dims(ops.clip(row, 0, height - 1) * width + batch_offset, 1) + columns
        index = ops.expand_dims(index, 2) + channel_offset  # (B, 4, C, H, W)
        taps = ops.reshape(ops.take(table, ops.reshape(index, (-1,)), axis=0), (-1, 4, channels, height, width))
        weights = ops.expand_dims(weights_x * ops.expand_dims(weight_y, 1), 2)
        row_sum = taps[:, 0] * weights[:, 0]
        for j in range(1, 4):
            row_sum = row_sum + taps[:, j] * weights[:, j]
        rows.append(row_sum)
    return (rows[0] + rows[1]) + rows[2] + rows[3]


def _select(mask, new, old):
    """``where(mask, new, old)`` for finite values, as arithmetic: exact (``x * 1 + y * 0 == x``).

    ``mask`` broadcasts against the values. Compilers fuse it like a select;
    eager torch runs it an order of magnitude faster than its ``where`` on CPU.
    """
    mask = ops.cast(mask, "float32")
    return new * mask + old * (1.0 - mask)


def _param(params: Any, name: str):
    if not hasattr(params, name):
        raise TypeError(f"TV-L1 params must have the fields of keras_i3d.video.flow.TVL1; {params!r} has no {name!r}.")
    return getattr(params, name)


def _params_key(params: Any) -> tuple:
    """The parameters as a hashable, validated tuple in `PARAM_FIELDS` order."""
    values = {name: _param(params, name) for name in PARAM_FIELDS}
    for name in ("scales", "warps", "inner_iterations", "outer_iterations", "median_filtering"):
        values[name] = int(values[name])
    for name in ("tau", "lambda_", "theta", "epsilon", "scale_step", "gamma"):
        values[name] = float(values[name])
    if min(values["scales"], values["warps"], values["inner_iterations"], values["outer_iterations"]) < 1:
        raise ValueError(f"TV-L1 scales, warps and iteration counts must be >= 1; got {values}.")
    if values["median_filtering"] > 1 and values["median_filtering"] not in (3, 5):
        raise ValueError(
            f"median_filtering={values['median_filtering']}: OpenCV's median filter of float images only takes "
            "ksize 3 or 5 (or <= 1 for none)."
        )
    if not 0.0 < values["scale_step"] < 1.0:
        raise ValueError(f"scale_step must be in (0, 1); got {values['scale_step']}.")
    if values["theta"] <= 0.0:
        raise ValueError(f"theta must be > 0; got {values['theta']}.")
    return tuple(values[name] for name in PARAM_FIELDS)


class TVL1Flow(keras.layers.Layer):
    """OpenCV's CPU Dual TV-L1 optical flow as a Keras layer (batched, no weights).

    ``call(first, second)`` takes two batches of grayscale frames ``(B, H, W)``
    and returns the flow ``(B, H, W, 2)``, float32 ``(dx, dy)`` in pixels:
    the pixel at ``(x, y)`` of ``first`` is at ``(x + dx, y + dy)`` in ``second``.
    ``H`` and ``W`` must be static.

    Args:
        params: any object with the fields of ``keras_i3d.video.flow.TVL1``
            (``None``: OpenCV's defaults, `OPENCV_DEFAULTS`).
        value_scale: multiplies the frames first: 255 (default) for float
            frames in ``[0, 1]``, 1 for frames already in ``[0, 255]`` (uint8 values).
        remap_tab_size: ``None`` (default) to warp at exact sub-pixel
            positions as OpenCV 5.x's ``cv::remap`` does; 32 to round positions
            to 1/32 pixel as older OpenCV versions do.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(self, params: Any = None, value_scale: float = 255.0, remap_tab_size: int | None = None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        params = params if params is not None else types.SimpleNamespace(**OPENCV_DEFAULTS)
        key = _params_key(params)
        self.params = dict(zip(PARAM_FIELDS, key, strict=True))
        self.value_scale = float(value_scale)
        self.remap_tab_size = int(remap_tab_size) if remap_tab_size else None
        self.built = True

    def get_config(self) -> dict:
        """The layer's configuration (parameters as a plain dict)."""
        config = super().get_config()
        config.update(params=dict(self.params), value_scale=self.value_scale, remap_tab_size=self.remap_tab_size)
        return config

    @classmethod
    def from_config(cls, config: dict) -> TVL1Flow:
        """Rebuild a layer from `get_config`."""
        config = dict(config)
        config["params"] = types.SimpleNamespace(**config["params"])
        return cls(**config)

    def compute_output_shape(self, first_shape, second_shape):
        """``(B, H, W, 2)``."""
        return (*tuple(first_shape), 2)

    def call(self, first, second):
        """Flow from ``first`` to ``second``, both ``(B, H, W)``; see the class docstring."""
        p = self.params
        first = ops.cast(first, "float32")
        second = ops.cast(second, "float32")
        if self.value_scale != 1.0:
            first, second = first * self.value_scale, second * self.value_scale
        height, width = first.shape[-2], first.shape[-1]
        if height is None or width is None:
            raise InputError("TVL1Flow needs frames of static height and width.")
        if height < 3 or width < 3:
            raise InputError(f"TV-L1 needs frames of at least 3x3 pixels; got {height}x{width}.")
        sizes = pyramid_sizes(height, width, p["scales"], p["scale_step"])
        step = 1.0 / p["scale_step"]
        levels = [(first, second)]
        for src, dst in zip(sizes[:-1], sizes[1:], strict=True):
            levels.append(tuple(_resize(image, src, dst, (step, step)) for image in levels[-1]))
        use_gamma = p["gamma"] != 0.0
        channels = 3 if use_gamma else 2
        coarsest = levels[-1][0]
        u = ops.zeros_like(ops.stack([coarsest] * channels, axis=1))
        for s in range(len(sizes) - 1, -1, -1):
            u = self._one_scale(levels[s][0], levels[s][1], u)
            if s == 0:
                break
            (h, w), (hf, wf) = sizes[s], sizes[s - 1]
            u = _resize(u, (h, w), (hf, wf), (1.0 / (hf / h), 1.0 / (wf / w)))
            factor = float(np.float32(1.0 / p["scale_step"]))
            scale = np.ones((1, channels, 1, 1), np.float32)
            scale[:, :2] = factor
            u = u * ops.convert_to_tensor(scale)
        return ops.stack([u[:, 0], u[:, 1]], axis=-1)

    def _one_scale(self, image0, image1, u):
        """OpenCV's ``procOneScale``: ``warps`` warps of the TV-L1 iterations at one pyramid level."""
        p = self.params
        height, width = image0.shape[-2], image0.shape[-1]
        use_gamma = p["gamma"] != 0.0
        gamma = p["gamma"]
        scaled_epsilon = float(np.float32(p["epsilon"] * p["epsilon"] * height * width))
        l_t = float(np.float32(p["lambda_"] * p["theta"]))
        taut = float(np.float32(p["tau"] / p["theta"]))
        theta = float(np.float32(p["theta"]))
        median = p["median_filtering"]
        inner, outer = p["inner_iterations"], p["outer_iterations"]

        grad_x, grad_y = _centered_gradient(image1)
        sources = ops.stack([image1, grad_x, grad_y], axis=1)
        grid_x = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width))
        grid_y = ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1))

        def data_term(warped, u_start):
            """OpenCV's ``calcGradRho`` (and constants of the thresholding step) from the warped second frame."""
            warped_i, warped_dx, warped_dy = warped[:, 0], warped[:, 1], warped[:, 2]
            grad = warped_dx * warped_dx + warped_dy * warped_dy
            rho_c = warped_i - warped_dx * u_start[:, 0] - warped_dy * u_start[:, 1] - image0
            has_grad = grad > _FLT_EPSILON
            slopes = [warped_dx, warped_dy] + ([ops.full_like(warped_dx, gamma)] if use_gamma else [])
            return {
                "dx": warped_dx,
                "dy": warped_dy,
                "rho_c": rho_c,
                "bound": l_t * grad,
                "neg_bound": -(l_t * grad),
                "safe_grad": _select(has_grad, grad, 1.0),
                "has_grad": ops.cast(has_grad, "float32"),
                "slopes": ops.stack(slopes, axis=1),
            }

        def iteration(term, u, px, py, error):
            """estimateV, divergence, estimateU, forwardGradient, estimateDualVariables; masked per pair.

            A pair whose error is already small keeps its ``u``, ``p`` and
            error: its updates are multiplied by 0 (1 for the others), which
            is exact for finite values and cheaper than selects when eager.
            """
            active = error > scaled_epsilon
            keep = ops.reshape(ops.cast(active, "float32"), (-1, 1, 1))
            rho = term["rho_c"] + (term["dx"] * u[:, 0] + term["dy"] * u[:, 1])
            if use_gamma:
                rho = rho + gamma * u[:, 2]
            # the thresholding step's three cases, as exact arithmetic selects
            below = ops.cast(rho < term["neg_bound"], "float32")
            above = ops.cast(rho > term["bound"], "float32")
            inside = (-rho / term["safe_grad"]) * term["has_grad"]
            step = ((below - above) * l_t + inside * (1.0 - below - above)) * keep
            keep = ops.expand_dims(keep, 1)
            new_u = (u + ops.expand_dims(step, 1) * term["slopes"]) + (theta * _divergence(px, py)) * keep
            new_error = ops.sum(ops.square(new_u - u), axis=(1, 2, 3))
            ux, uy = _forward_gradient(new_u)
            ux, uy = ux * keep, uy * keep
            norm = 1.0 + taut * ops.sqrt(ux * ux + uy * uy)
            return new_u, (px + taut * ux) / norm, (py + taut * uy) / norm, ops.where(active, new_error, error)

        def warp(_, state):
            """One warp: warp the second frame by the flow, then iterate until converged or out of iterations."""
            u_start, px, py = state
            warped = _remap_cubic(sources, grid_x + u_start[:, 0], grid_y + u_start[:, 1], self.remap_tab_size)

            def outer_cond(n, u, px, py, error):
                return ops.logical_and(n < outer, ops.any(error > scaled_epsilon))

            def outer_body(n, u, px, py, error):
                # The data term is computed here, from the loop's operand, rather than once before
                # the loop: compilers then materialise the warp once instead of fusing it into (and
                # recomputing it in) each of the data term's arrays. It costs little (once per round).
                term = data_term(warped, u_start)
                if median > 1:
                    filtered = _median_blur(u[:, :2], median)
                    if use_gamma:  # OpenCV filters u1 and u2 only
                        filtered = ops.concatenate([filtered, u[:, 2:]], axis=1)
                    u = _select(ops.reshape(error > scaled_epsilon, (-1, 1, 1, 1)), filtered, u)

                def inner_cond(n, u, px, py, error):
                    return ops.logical_and(n < inner, ops.any(error > scaled_epsilon))

                def inner_body(n, u, px, py, error):
                    return (n + 1, *iteration(term, u, px, py, error))

                zero = ops.zeros((), "int32")
                _, u, px, py, error = ops.while_loop(inner_cond, inner_body, (zero, u, px, py, error))
                return n + 1, u, px, py, error

            error = ops.full_like(u_start[:, 0, 0, 0], _FLT_MAX)
            start = (ops.zeros((), "int32"), u_start, px, py, error)
            _, u, px, py, _ = ops.while_loop(outer_cond, outer_body, start)
            return u, px, py

        zeros = ops.zeros_like(u)
        u, _, _ = ops.fori_loop(0, p["warps"], warp, (u, zeros, zeros))
        return u


_MODELS: OrderedDict[tuple, keras.Model] = OrderedDict()


def tvl1_model(
    height: int,
    width: int,
    batch: int,
    params: Any = None,
    remap_tab_size: int | None = None,
    jit_compile: bool | str | None = None,
) -> keras.Model:
    """The compiled model `tvl1_keras` runs: ``[first, second]`` ``(batch, H, W)`` in ``[0, 255]`` -> flow.

    Models are cached per shape and parameters (the last few).

    Args:
        height: frame height.
        width: frame width.
        batch: pairs per call (static).
        params: TV-L1 parameters (fields of ``keras_i3d.video.flow.TVL1``; ``None``: OpenCV's defaults).
        remap_tab_size: see `TVL1Flow`.
        jit_compile: passed to ``Model.compile``. ``None`` (default): ``True``
            on the backends that compile whole graphs with XLA (JAX,
            TensorFlow), ``"auto"`` elsewhere (eager torch). Keras's ``"auto"``
            leaves XLA off for TensorFlow on machines without a GPU, where
            TensorFlow's graph executor runs this model about 4x slower.

    Returns:
        A compiled functional model.
    """
    params = params if params is not None else types.SimpleNamespace(**OPENCV_DEFAULTS)
    if jit_compile is None:
        jit_compile = True if keras.backend.backend() in _XLA_BACKENDS else "auto"
    key = (
        int(height),
        int(width),
        int(batch),
        _params_key(params),
        remap_tab_size,
        jit_compile,
        keras.backend.backend(),
    )
    model = _MODELS.get(key)
    if model is None:
        first = keras.Input(batch_shape=(batch, height, width), dtype="float32", name="first")
        second = keras.Input(batch_shape=(batch, height, width), dtype="float32", name="second")
        flow = TVL1Flow(params, value_scale=1.0, remap_tab_size=remap_tab_size, name="tvl1")(first, second)
        model = keras.Model([first, second], flow, name=f"tvl1_{height}x{width}x{batch}")
        model.compile(jit_compile=jit_compile)
        _MODELS[key] = model
        while len(_MODELS) > _CACHE_SIZE:
            _MODELS.popitem(last=False)
    else:
        _MODELS.move_to_end(key)
    return model


def _as_intensity(frames: np.ndarray) -> np.ndarray:
    """Frames in OpenCV's internal scale: uint8 as is, floats (``[0, 1]``) times 255, float32."""
    if frames.dtype == np.uint8:
        return frames.astype(np.float32)
    if not np.issubdtype(frames.dtype, np.floating):
        raise InputError(f"TV-L1 takes uint8 or float frames; got {frames.dtype}.")
    return frames.astype(np.float32) * np.float32(255.0)


def tvl1_keras(
    first: np.ndarray,
    second: np.ndarray,
    params: Any = None,
    batch_size: int = 8,
    remap_tab_size: int | None = None,
    jit_compile: bool | str | None = None,
) -> np.ndarray:
    """TV-L1 flow from ``first`` to ``second`` with `TVL1Flow`: NumPy in, NumPy out.

    The Keras counterpart of ``cv2.optflow.DualTVL1OpticalFlow_create(...).calc``.

    Args:
        first: grayscale frames ``(B, H, W)`` or one frame ``(H, W)``: float in
            ``[0, 1]`` or uint8 (like OpenCV, both frames of one dtype).
        second: the following frames, same shape and dtype.
        params: TV-L1 parameters: an object with the fields of
            ``keras_i3d.video.flow.TVL1`` (``None``: OpenCV's defaults).
        batch_size: pairs computed together: the memory knob (about
            ``250 * H * W`` bytes per pair compiled with XLA, ``800 * H * W``
            eager on torch). A smaller last batch is padded with copies of its
            last pair, so one model serves every call.
        remap_tab_size: see `TVL1Flow`.
        jit_compile: see `tvl1_model`.

    Returns:
        float32 flow ``(B, H, W, 2)`` (or ``(H, W, 2)``), ``(dx, dy)`` in pixels.
    """
    first, second = np.asarray(first), np.asarray(second)
    if first.shape != second.shape or first.dtype != second.dtype or first.ndim not in (2, 3):
        raise InputError(
            "tvl1_keras takes two grayscale frames (H, W) or batches (B, H, W) of one shape and dtype; "
            f"got {first.shape} {first.dtype} and {second.shape} {second.dtype}."
        )
    single = first.ndim == 2
    first, second = (
        _as_intensity(first.reshape((-1, *first.shape[-2:]))),
        _as_intensity(second.reshape((-1, *second.shape[-2:]))),
    )
    count, height, width = first.shape
    if count == 0:
        return np.zeros((0, height, width, 2), np.float32)
    batch = max(1, min(int(batch_size), count))
    model = tvl1_model(height, width, batch, params, remap_tab_size, jit_compile)
    flows = []
    for start in range(0, count, batch):
        a, b = first[start : start + batch], second[start : start + batch]
        real = len(a)
        if real < batch:  # pad with copies of the last pair: pairs do not interact
            fill = np.repeat(a[-1:], batch - real, axis=0), np.repeat(b[-1:], batch - real, axis=0)
            a, b = np.concatenate([a, fill[0]]), np.concatenate([b, fill[1]])
        flow = np.asarray(keras.ops.convert_to_numpy(model.predict_on_batch([a, b])), np.float32)
        flows.append(flow[:real])
    flow = np.concatenate(flows)
    return flow[0] if single else flow


__all__ = [
    "CUDA_TVL1_FIELDS",
    "OPENCV_DEFAULTS",
    "PARAM_FIELDS",
    "TVL1Flow",
    "pyramid_sizes",
    "tvl1_keras",
    "tvl1_model",
]
