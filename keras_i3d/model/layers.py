"""Custom layers of the I3D model (backend-agnostic, ``keras.ops`` only)."""

from __future__ import annotations

import keras
from keras import ops

from keras_i3d.errors import InputError
from keras_i3d.model import clip_checks
from keras_i3d.utils.tf_loader import import_tensorflow


def _window_weights(size, window: int, dtype):
    """Weight of each position in the mean of VALID sliding-window means.

    Averaging every stride-1 VALID window of length ``k = min(window, size)``
    and then averaging the ``size - k + 1`` results weights position ``i`` by
    the number of windows covering it, divided by ``k * (size - k + 1)``.
    """
    k = ops.minimum(window, size)
    last_start = size - k
    i = ops.arange(size)
    count = ops.minimum(i, last_start) - ops.maximum(0, i - k + 1) + 1
    return ops.cast(count, dtype) / ops.cast(k * (last_start + 1), dtype)


@keras.saving.register_keras_serializable(package="keras_i3d")
class LogitsPooling(keras.layers.Layer):
    """Average pooling (VALID, stride 1) followed by a mean over all positions.

    This is DeepMind's I3D head pooling, ``avg_pool3d(ksize=pool_size,
    padding=VALID)`` then the mean over the remaining positions, computed as
    one weighted average (the 1x1x1 logits convolution in between is linear,
    so the order does not change the function). Where the input is smaller
    than ``pool_size`` along an axis, the window shrinks to the input's size
    instead of failing, so any frame count and spatial size work.

    With a 2D ``pool_size`` it is the same pooling over images (the head of
    the 2D Inception-v1 that I3D is inflated from).

    Args:
        pool_size: ``(frames, height, width)`` window; upstream uses (2, 7, 7).
            Or ``(height, width)`` for images.
        **kwargs: base layer arguments (``name``, ``dtype``...).

    Input shape:
        ``(batch, frames, height, width, channels)`` (``(batch, height, width,
        channels)`` with a 2D ``pool_size``).

    Output shape:
        ``(batch, 1, 1, 1, channels)`` (``(batch, 1, 1, channels)``).
    """

    def __init__(self, pool_size=(2, 7, 7), **kwargs):
        super().__init__(**kwargs)
        self.pool_size = tuple(int(p) for p in pool_size)
        if len(self.pool_size) not in (2, 3) or min(self.pool_size) < 1:
            raise ValueError(f"`pool_size` must be 2 or 3 positive ints; got {pool_size}.")

    def call(self, inputs):
        """Returns the weighted mean of ``inputs`` with every pooled axis of size 1."""
        x = inputs
        shape = ops.shape(x)
        rank = len(self.pool_size)
        for axis, window in enumerate(self.pool_size, start=1):
            weights = _window_weights(shape[axis], window, x.dtype)
            weights = ops.reshape(weights, [-1] + [1] * (rank + 1 - axis))
            x = ops.sum(x * weights, axis=1, keepdims=False)
        # x is (batch, channels) now; restore the layout for the 1x1(x1) conv.
        for _ in range(rank):
            x = ops.expand_dims(x, 1)
        return x

    def compute_output_shape(self, input_shape):
        """Returns ``(batch, 1, ..., 1, channels)``."""
        return (input_shape[0], *(1,) * len(self.pool_size), input_shape[-1])

    def get_config(self):
        """Returns the layer config, with ``pool_size``."""
        config = super().get_config()
        config["pool_size"] = self.pool_size
        return config


def _input_error(message: str) -> InputError:
    error = InputError(message)
    # Keras re-raises layer errors with the call arguments appended (and, for
    # a NumPy input, the whole array); this marks ours as already explained.
    error._keras_call_info_injected = True
    return error


@keras.saving.register_keras_serializable(package="keras_i3d")
class ClipShapeCheck(keras.layers.Layer):
    """Passes clips through unchanged, rejecting those the network cannot take.

    Rejects, with the sentences of `keras_i3d.model.clip_checks` and an `InputError`,
    a clip whose rank or channel count is wrong, that has fewer than
    ``MIN_FRAMES`` frames or frames smaller than ``MIN_SIZE`` x ``MIN_SIZE``,
    or whose frames, height or width differ from the fixed ones the model was
    built with. Shapes are static when a backend traces or runs the model, so
    the check costs nothing at run time. The one exception is TensorFlow after
    a relaxed retrace (sizes unknown while tracing): there a graph assertion
    checks the sizes when the function runs, with the same sentence (raised
    as TensorFlow's ``InvalidArgumentError``).

    Input shape:
        ``(batch, frames, height, width, channels)``.

    Output shape:
        The same.
    """

    def build(self, input_shape):
        """Records the model's declared ``(frames, height, width, channels)``."""
        self.declared = tuple(input_shape[1:])
        super().build(input_shape)

    def call(self, inputs):
        """Returns ``inputs`` if the network can take them; raises `InputError` otherwise."""
        shape = tuple(inputs.shape)
        problem = clip_checks.shape_problem(shape, self.declared)
        if problem is not None:
            raise _input_error(problem)
        if any(size is None for size in shape[1:]):
            return _check_sizes_at_run_time(inputs, self.declared)
        return inputs

    def compute_output_shape(self, input_shape):
        """Returns ``input_shape`` (checked)."""
        problem = clip_checks.shape_problem(tuple(input_shape), self.declared)
        if problem is not None:
            raise _input_error(problem)
        return input_shape


def _check_sizes_at_run_time(x, declared: tuple):
    """Adds a graph assertion on sizes (and channels) that were unknown while tracing.

    Only TensorFlow traces with unknown sizes (after ``reduce_retracing``
    relaxes them); JAX and PyTorch always see concrete shapes, so on those
    backends this returns ``x`` untouched.
    """
    if keras.backend.backend() != "tensorflow":
        return x
    tf = import_tensorflow("The clip check")  # already imported: this is the TensorFlow backend

    sizes = tf.shape(x)[1:4]
    big_enough = tf.reduce_all(
        sizes >= tf.constant([clip_checks.MIN_FRAMES, clip_checks.MIN_SIZE, clip_checks.MIN_SIZE])
    )
    size_message = tf.strings.format(
        clip_checks.SIZE_MESSAGE.format(
            min_frames=clip_checks.MIN_FRAMES, min_size=clip_checks.MIN_SIZE, frames="{}", height="{}", width="{}"
        ),
        (sizes[0], sizes[1], sizes[2]),
    )
    channels = tf.shape(x)[4]
    checks = [
        tf.debugging.Assert(
            tf.equal(channels, declared[3]),
            [tf.strings.format(clip_checks.channels_problem(declared[3], "{}"), (channels,))],
        ),
        tf.debugging.Assert(big_enough, [size_message]),
    ]
    fixed = [(axis, size) for axis, size in enumerate(declared[:3]) if size is not None]
    if fixed:
        matches = tf.reduce_all([tf.equal(sizes[axis], size) for axis, size in fixed])
        declared_message = tf.strings.format(
            clip_checks.DECLARED_MESSAGE.format(declared=clip_checks.format_sizes(declared[:3]), actual="{} x {} x {}")
            + clip_checks.BUILD_HINT,
            (sizes[0], sizes[1], sizes[2]),
        )
        checks.append(tf.debugging.Assert(matches, [declared_message]))
    with tf.control_dependencies(checks):
        return tf.identity(x)
