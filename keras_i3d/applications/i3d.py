"""`I3D`: the keras.applications-style builder of DeepMind's I3D."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import keras
import numpy as np

from keras_i3d.errors import InputError, one_line
from keras_i3d.model import clip_checks
from keras_i3d.model.architecture import (
    DEFAULT_KERNEL_INITIALIZER,
    DEFAULT_SIZE,
    builder_top,
    i3d_features,
    restore_default_initializer,
)
from keras_i3d.model.i3d_model import I3DModel
from keras_i3d.weights.load import load_weights
from keras_i3d.weights.spec import WeightsSpec, check_fits, describe

#: What Keras says when a saved model names a class it does not know: the line a user needs.
_CLASS_NOT_FOUND = ("Could not locate", "Unknown layer")


def _validate_input_shape(input_shape, channels: int | None) -> tuple:
    """Checks a ``(frames, height, width, channels)`` input shape; returns it as a tuple."""
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(
            f"`input_shape` must be a tuple (frames, height, width, channels); got {input_shape!r}."
        ) from None
    if len(shape) != 4:
        raise InputError(f"`input_shape` must be (frames, height, width, channels); got {shape}.")
    for size in shape:
        if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer))):
            raise ValueError(f"`input_shape` must hold ints or None; got {shape}.")
    if shape[3] is None or shape[3] < 1:
        raise InputError(f"The channel dimension of `input_shape` must be a positive int; got {shape}.")
    problem = clip_checks.size_problem(*shape[:3])
    if problem is None and channels is not None:
        problem = clip_checks.channels_problem(channels, shape[3])
    if problem is not None:
        raise InputError(f"`input_shape` {shape}: {problem}")
    return shape


def validate_builder_arguments(include_top, weights, input_tensor, pooling, classes, dropout_rate) -> None:
    """The keras.applications argument checks of `I3D` (and `keras_i3d.InceptionV1`).

    Raises:
        ValueError: naming the argument and what it received.
    """
    if not isinstance(include_top, bool):
        raise ValueError(f"`include_top` must be True or False; got {include_top!r}.")
    if weights is not None and not isinstance(weights, (str, os.PathLike, WeightsSpec)):
        raise ValueError(
            f"`weights` must be None, a preset name or a path to a .weights.h5 file; got {type(weights).__name__}."
        )
    if input_tensor is not None and not keras.backend.is_keras_tensor(input_tensor):
        shape = getattr(input_tensor, "shape", None)
        raise ValueError(
            "`input_tensor` must be a Keras tensor (keras.Input(...) or a layer's output); got "
            f"{type(input_tensor).__name__}{'' if shape is None else f' of shape {tuple(shape)}'}. "
            "To run the model on data, build it and call model.predict(data)."
        )
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 1:
        raise ValueError(f"`classes` must be a positive int; got {classes!r}.")
    if pooling not in (None, "avg", "max"):
        raise ValueError(f"`pooling` must be None, 'avg' or 'max'; got {pooling!r}.")
    if include_top and pooling is not None:
        raise ValueError("`pooling` only applies with include_top=False.")
    if isinstance(dropout_rate, bool) or not isinstance(dropout_rate, (int, float)) or not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"`dropout_rate` must be a number in [0, 1); got {dropout_rate!r}.")


def I3D(  # noqa: N802 - keras.applications naming
    include_top: bool = True,
    weights: str | None = "kinetics400_rgb",
    input_tensor=None,
    input_shape: tuple | None = None,
    pooling: str | None = None,
    classes: int = 400,
    classifier_activation: str | None = "softmax",
    dropout_rate: float = 0.0,
    name: str = "i3d",
) -> keras.Model:
    """Instantiates DeepMind's I3D (Inflated 3D Inception-v1).

    Reference: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New
    Model and the Kinetics Dataset", CVPR 2017.

    The input is a channels-last video batch ``(batch, frames, height, width,
    channels)``: RGB frames scaled to ``[-1, 1]`` (3 channels) or TV-L1 optical
    flow clipped to ``[-20, 20]`` and scaled to ``[-1, 1]`` (2 channels); see
    `keras_i3d.preprocess_input`. Any number of frames (at least 1) and any
    spatial size of at least 32x32 works; DeepMind used 224x224 at 25 fps.

    Args:
        include_top: whether to include the ``Logits`` classifier.
        weights: ``None`` (random initialization), a preset name (see
            ``keras_i3d.presets.PRESETS``), a path to a ``.weights.h5`` file,
            or a `keras_i3d.weights.spec.WeightsSpec` from ``describe``.
        input_tensor: optional Keras tensor to use as the model input.
        input_shape: optional ``(frames, height, width, channels)``; defaults to
            ``(None, 224, 224, C)`` with ``C`` from the weights (3 for RGB).
        pooling: with ``include_top=False``: ``None`` returns the ``Mixed_5c``
            map, ``"avg"`` / ``"max"`` return a global pooled ``(batch, 1024)``.
        classes: number of classes; must match the preset when a preset is loaded
            with ``include_top=True``.
        classifier_activation: activation of the top layer (``"Predictions"``),
            or ``None`` to return logits.
        dropout_rate: dropout before the classifier.
        name: the model name.

    Returns:
        A functional `keras.Model` (an `I3DModel`, which checks clip shapes
        before Keras does).

    Raises:
        ValueError: for an unknown preset or bad arguments.
        InputError: (a ``ValueError``) for an input shape the network cannot
            take: fewer than 1 frame, frames under 32x32 pixels, or channels
            that do not match the weights. The model itself rejects such clips
            too, whatever shape it was built for.
        WeightsError: (a ``ValueError``) if the weights cannot be found, read
            or verified, or do not fit (``classes`` with ``include_top=True``:
            checked before any graph is built).
    """
    validate_builder_arguments(include_top, weights, input_tensor, pooling, classes, dropout_rate)
    spec = describe(weights)  # the weights path: describe -> check -> build -> fetch, verify, load
    channels = None if spec is None else spec.channels
    check_fits(spec, classes=classes if include_top else None)

    if input_tensor is not None:
        tensor_shape = tuple(input_tensor.shape)
        _validate_input_shape(tensor_shape[1:], channels)
        if input_shape is not None and tuple(input_shape) != tensor_shape[1:]:
            raise ValueError(
                f"`input_shape` {tuple(input_shape)} disagrees with `input_tensor`'s shape {tensor_shape}."
            )
        inputs = input_tensor
    else:
        if input_shape is None:
            input_shape = (None, DEFAULT_SIZE, DEFAULT_SIZE, channels or 3)
        input_shape = _validate_input_shape(input_shape, channels)
        inputs = keras.Input(shape=input_shape, name="inputs")

    # Weights about to be loaded need no random initialization, which on JAX
    # compiles once per kernel shape (~15 s for the whole network).
    init = "zeros" if spec is not None else DEFAULT_KERNEL_INITIALIZER
    x = i3d_features(inputs, init)
    x = builder_top(x, include_top, pooling, classes, classifier_activation, dropout_rate, init)

    if input_tensor is not None:
        inputs = keras.utils.get_source_inputs(input_tensor)
    model = I3DModel(inputs, x, name=name)

    if spec is not None:
        load_weights(model, spec, include_top=include_top)
        restore_default_initializer(model)
    return model


def load_model(path: str | os.PathLike, **kwargs) -> keras.Model:
    """Loads a whole model saved with ``model.save("x.keras")``, keras_i3d's layers included.

    `keras.saving.load_model` works too after ``import keras_i3d``, which
    registers keras_i3d's layers and model class with Keras; this also checks
    the path first and names what is wrong with it.

    Args:
        path: a ``.keras`` file.
        **kwargs: passed to `keras.saving.load_model`.

    Raises:
        ValueError: if ``path`` is missing, a folder, or not a ``.keras`` file
            (a ``.weights.h5`` goes to ``I3D(weights=path)`` instead), or its
            config is not one Keras can rebuild (a crafted or foreign file: one
            line naming the file, never a raw ``TypeError``). Keras' safe mode
            holds: code in a file is refused as Keras refuses it.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"`path` must be a path to a .keras file; got {type(path).__name__}.")
    path = Path(path)
    if path.is_dir() or not path.is_file():
        raise ValueError(f"Model file {path} {'is a directory' if path.is_dir() else 'does not exist'}.")
    if path.name.endswith(".weights.h5"):
        raise ValueError(f"{path} holds weights only: load it with keras_i3d.I3D(weights=path).")
    if path.suffix != ".keras":
        raise ValueError(f"keras_i3d.load_model reads .keras files; got {path}.")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a .keras file (not a zip archive; truncated or corrupt?).")
    try:
        return keras.saving.load_model(path, **kwargs)
    except ValueError as e:
        if "safe_mode" in str(e) or "safe mode" in str(e):
            raise  # Keras' own refusal of code in the file, as Keras words it
        raise ValueError(f"{path} is not a Keras model keras_i3d can load: {_gist(e)}") from e
    except (TypeError, KeyError, AttributeError, IndexError) as e:  # a crafted or foreign config
        raise ValueError(f"{path} is not a Keras model keras_i3d can load: {_gist(e)}") from e


def _gist(error: BaseException) -> str:
    return one_line(error, prefer=_CLASS_NOT_FOUND)
