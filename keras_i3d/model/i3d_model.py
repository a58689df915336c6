"""`I3DModel`: the functional model `keras_i3d.I3D` returns, checking clips before Keras does."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras

from keras_i3d.errors import InputError
from keras_i3d.model import clip_checks


@keras.saving.register_keras_serializable(package="keras_i3d")
class I3DModel(keras.Model):
    """A functional `keras.Model` that checks clips before Keras sees them.

    It is the plain functional model (same layers, config, saving), plus a
    check of array inputs (shape and dtype, see `check_input`) in ``__call__``, ``predict``, ``evaluate``,
    ``fit`` and the ``*_on_batch`` methods, so that every backend rejects a
    clip it cannot take with the same `InputError` sentence (see
    `keras_i3d.model.clip_checks`), instead of Keras' backend-specific messages, a
    3,000-character TensorFlow graph dump, or Keras' ``UnboundLocalError`` for
    an empty batch. The ``clip_shape_check`` layer inside the graph checks
    again whatever arrives another way (``tf.data``, exported graphs).

    On JAX, Keras detaches a model's weights while ``predict`` and
    ``evaluate`` run (and donates their buffers) and loses them if the call
    fails (every later call then fails with ``'NoneType' object is not
    callable``); this model keeps a copy and puts it back when those calls
    raise, so one bad call (or Ctrl-C) does not ruin it.

    Values are checked too where they are known (NumPy arrays and eager
    tensors, not inside a traced graph): integer clips (raw frames) and values
    far outside the network's ``[-1, 1]`` (beyond `input_range` widened by
    `RANGE_MARGIN`, e.g. RGB in ``[0, 255]`` or flow in pixels) are refused
    with the sentence naming `keras_i3d.preprocess_input` and
    `keras_i3d.preprocess_frames`. To feed such values on purpose, set
    ``model.input_range = None``.
    """

    def __init__(self, *args, class_names=None, **kwargs):
        """A functional model (``inputs``, ``outputs``, ``name``...), with optional ``class_names``.

        Args:
            *args: `keras.Model`'s functional arguments.
            class_names: the names of the classifier's classes (e.g. what
                ``keras-i3d finetune`` trained), saved with the model; ``None``
                for Kinetics' by the number of classes.
            **kwargs: `keras.Model`'s functional arguments.
        """
        super().__init__(*args, **kwargs)
        self.class_names = class_names

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """The classifier's class names saved with this model, or ``None`` (Kinetics' by class count)."""
        return self.__dict__.get("_keras_i3d_class_names")

    @class_names.setter
    def class_names(self, value) -> None:
        if value is not None:
            value = tuple(str(name) for name in value)
            if not value or any(not name.strip() or name != " ".join(name.split()) for name in value):
                raise ValueError("`class_names` must be non-empty names on one line each, without outer spaces.")
        self.__dict__["_keras_i3d_class_names"] = value

    def get_config(self) -> dict:
        """The functional config, plus ``class_names`` when set."""
        config = super().get_config()
        if self.class_names is not None:
            config["class_names"] = list(self.class_names)
        return config

    #: How far outside `input_range` values may lie (augmentation can push
    #: scaled values a little past it; unscaled frames lie far outside).
    RANGE_MARGIN = 0.5

    @property
    def input_range(self) -> tuple[float, float] | None:
        """The value range clips are checked against (``(-1, 1)``); ``None`` turns the value check off."""
        return self.__dict__.get("_keras_i3d_input_range", clip_checks.INPUT_RANGE)

    @input_range.setter
    def input_range(self, value: tuple[float, float] | None) -> None:
        if value is not None:
            value = tuple(float(v) for v in value)
            if len(value) != 2 or not value[0] < value[1]:
                raise ValueError(f"`input_range` must be (low, high) with low < high, or None; got {value!r}.")
        self.__dict__["_keras_i3d_input_range"] = value  # a plain attribute: not tracked, not saved

    @property
    def clip_shape(self) -> tuple | dict[str, tuple]:
        """The ``(frames, height, width, channels)`` this model takes, ``None`` for free sizes.

        A dict of them, by input name, for a model of several streams (`TwoStreamI3D`).
        """
        if isinstance(self.input, dict):
            return {name: tuple(tensor.shape[1:]) for name, tensor in self.input.items()}
        return tuple(self.inputs[0].shape[1:])

    def check_input(self, x, allow_empty: bool = True) -> None:
        """Raises `InputError` if ``x`` is a batch this model cannot take.

        Checks anything with a ``.shape`` (NumPy arrays, backend tensors,
        Keras tensors): rank, channels, sizes, dtype (real numbers only), and
        unless ``allow_empty`` a batch size of at least 1. Also refuses
        ``None`` and nested Python lists of numbers. A model of several
        streams takes a dict of such arrays with exactly its input names, of
        one batch size. Datasets and generators are left to the in-graph check.
        """
        expected = self.clip_shape
        value_range = self.input_range
        if value_range is not None:
            value_range = (value_range[0] - self.RANGE_MARGIN, value_range[1] + self.RANGE_MARGIN)
        if isinstance(expected, dict):
            self._check_streams(x, expected, allow_empty, value_range)
        else:
            _check_clip_batch(x, expected, allow_empty, "The input", value_range)

    @staticmethod
    def _check_streams(x, expected: dict[str, tuple], allow_empty: bool, value_range) -> None:
        names = ", ".join(f"'{name}'" for name in expected)
        if x is None or (not isinstance(x, dict) and (hasattr(x, "shape") or isinstance(x, (list, tuple)))):
            raise InputError(f"This model takes a dict of clips with keys {names}; got {type(x).__name__}.")
        if not isinstance(x, dict):
            return  # a dataset or generator: checked in the graph
        if set(x) != set(expected):
            raise InputError(f"This model takes a dict of clips with keys {names}; got keys {sorted(map(str, x))}.")
        for name, shape in expected.items():
            _check_clip_batch(x[name], shape, allow_empty, f"The '{name}' input", value_range)
        batches = {name: getattr(value, "shape", (None,))[0] for name, value in x.items()}
        if len({b for b in batches.values() if b is not None}) > 1:
            raise InputError(f"The streams' batch sizes differ: {batches}.")

    def _check_compiled(self, method: str) -> None:
        # Keras says so on JAX and TensorFlow; on PyTorch it fails on a missing attribute.
        if not self.compiled:
            raise ValueError(f"Call model.compile(...) before model.{method}().")

    @contextlib.contextmanager
    def _weights_kept(self) -> Iterator[None]:
        # Copies, not references: JAX donates the buffers it is handed. For
        # I3D this is ~50 MB, a memcpy next to the cost of any predict.
        values = [keras.ops.copy(variable.value) for variable in self.variables]
        try:
            yield
        except BaseException:
            for variable, value in zip(self.variables, values, strict=True):
                variable.assign(value)
            raise

    def __call__(self, *args, **kwargs):
        """Calls the model after checking the clip's shape."""
        if args:
            self.check_input(args[0])
        return super().__call__(*args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict` after checking ``x``'s shape (keeping the weights if it fails)."""
        self.check_input(x, allow_empty=False)
        with self._weights_kept():
            return super().predict(x, *args, **kwargs)

    def evaluate(self, x=None, *args, **kwargs):
        """`keras.Model.evaluate` after checking ``x``'s shape (keeping the weights if it fails)."""
        self.check_input(x, allow_empty=False)
        self._check_compiled("evaluate")
        with self._weights_kept():
            return super().evaluate(x, *args, **kwargs)

    def fit(self, x=None, *args, **kwargs):
        """`keras.Model.fit` after checking ``x``'s shape."""
        self.check_input(x, allow_empty=False)
        self._check_compiled("fit")
        return super().fit(x, *args, **kwargs)

    def predict_on_batch(self, x):
        """`keras.Model.predict_on_batch` after checking ``x``'s shape."""
        self.check_input(x, allow_empty=False)
        return super().predict_on_batch(x)

    def test_on_batch(self, x, *args, **kwargs):
        """`keras.Model.test_on_batch` after checking ``x``'s shape."""
        self.check_input(x, allow_empty=False)
        self._check_compiled("test_on_batch")
        return super().test_on_batch(x, *args, **kwargs)

    def train_on_batch(self, x, *args, **kwargs):
        """`keras.Model.train_on_batch` after checking ``x``'s shape."""
        self.check_input(x, allow_empty=False)
        self._check_compiled("train_on_batch")
        return super().train_on_batch(x, *args, **kwargs)


def _check_clip_batch(x, expected: tuple, allow_empty: bool, what: str, value_range=None) -> None:
    """Raises `InputError` if ``x`` is not a batch of clips of ``expected`` shape (see `I3DModel.check_input`).

    With ``value_range``, also refuses integer dtypes and known values outside it.
    """
    prefix = "" if what == "The input" else f"{what}: "
    if x is None:
        raise InputError(f"{what} is None; pass a batch of clips (batch, frames, height, width, channels).")
    if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
        x = x[0]  # Keras' list form of a single input
    elif isinstance(x, (list, tuple)):
        raise InputError(
            f"{prefix}Pass clips as one array (NumPy or a backend tensor), not a Python {type(x).__name__} "
            f"of {len(x)} items: e.g. np.asarray(x, dtype='float32')."
        )
    shape = getattr(x, "shape", None)
    if shape is None:
        return
    try:
        shape = tuple(None if size is None else int(size) for size in shape)
    except TypeError:  # unknown rank
        return
    problem = clip_checks.shape_problem(shape, expected)
    if problem is None and not allow_empty and shape[0] == 0:
        problem = f"The batch is empty (shape {shape}); there is nothing to run."
    if problem is not None:
        raise InputError(prefix + problem)
    clip_checks.check_dtype(x, what)
    if value_range is not None:
        clip_checks.check_scaled(x, expected[-1], value_range, what)
