"""Read DeepMind's TF1 kinetics-i3d checkpoints and map them onto the model.

Variables map by name: the checkpoint variable
``RGB/inception_i3d/Mixed_4f/Branch_1/Conv3d_0b_3x3/conv_3d/w`` is the
``kernel`` of layer ``Mixed_4f_Branch_1_Conv3d_0b_3x3_conv_3d``. Upstream's
layouts are handled: the ``RGB/`` / ``Flow/`` and ``inception_i3d/`` scopes
are optional (the Kinetics-600 checkpoint has none), batch-norm statistics may
be stored as ``[C]`` or ``[1, 1, 1, 1, C]``, and optimizer slots
(``.../Momentum``), ``global_step`` and the like are ignored.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from keras_i3d import presets as presets_lib
from keras_i3d._files import atomic_path, sha256_file, write_sidecar
from keras_i3d.model import scope_to_layer_name, weights_holder

#: Checkpoint variable name -> Keras layer attribute, per owning module.
_VARIABLE_ATTRS = {
    "conv_3d": {"w": "kernel", "b": "bias"},
    "batch_norm": {
        "beta": "beta",
        "gamma": "gamma",
        "moving_mean": "moving_mean",
        "moving_variance": "moving_variance",
    },
}
_FIRST_CONV = "Conv3d_1a_7x7/conv_3d/w"
_LOGITS_BIAS = "Logits/Conv3d_0c_1x1/conv_3d/b"


class ConversionError(ValueError):
    """A checkpoint does not fit the model (names, shapes, stream, classes)."""


@dataclass
class Checkpoint:
    """The model variables of a DeepMind I3D checkpoint.

    Attributes:
        path: the checkpoint prefix (``.../model.ckpt``).
        tensors: ``{"Mixed_3b/Branch_0/Conv3d_0a_1x1/conv_3d/w": array, ...}``,
            names relative to the ``inception_i3d`` scope.
        scope: the stream scope the variables were under (``"RGB"``, ``"Flow"``)
            or ``""`` when unscoped.
        ignored: names of checkpoint variables that are not model variables
            (optimizer slots, step counters).
    """

    path: Path
    tensors: dict[str, np.ndarray]
    scope: str = ""
    ignored: list[str] = field(default_factory=list)

    @property
    def channels(self) -> int:
        """Input channels of the first convolution (3 RGB, 2 flow)."""
        if _FIRST_CONV not in self.tensors:
            raise ConversionError(f"{self.path}: no {_FIRST_CONV!r} variable; this is not an I3D checkpoint.")
        return int(self.tensors[_FIRST_CONV].shape[3])

    @property
    def stream(self) -> str:
        """``"rgb"`` or ``"flow"``, from the first convolution's input channels."""
        by_channels = {c: s for s, c in presets_lib.STREAM_CHANNELS.items()}
        if self.channels not in by_channels:
            raise ConversionError(f"{self.path}: first convolution has {self.channels} input channels.")
        return by_channels[self.channels]

    @property
    def classes(self) -> int | None:
        """Number of classes of the logits layer, ``None`` if it has none."""
        bias = self.tensors.get(_LOGITS_BIAS)
        return None if bias is None else int(bias.shape[-1])


def _split_name(name: str) -> tuple[str, str] | None:
    """Returns ``(stream_scope, relative_name)`` of a model variable, else None.

    A model variable ends in ``<conv_3d|batch_norm>/<known variable>``; anything
    else (``.../w/Momentum``, ``global_step``) is not one.
    """
    parts = name.split("/")
    if len(parts) < 3 or parts[-2] not in _VARIABLE_ATTRS or parts[-1] not in _VARIABLE_ATTRS[parts[-2]]:
        return None
    if "inception_i3d" in parts:
        i = parts.index("inception_i3d")
        return "/".join(parts[:i]), "/".join(parts[i + 1 :])
    return "", name


def resolve_checkpoint_prefix(checkpoint: str | os.PathLike) -> Path:
    """Turns a checkpoint folder or prefix into the ``model.ckpt`` prefix.

    Raises:
        FileNotFoundError: if the index or data files are missing.
    """
    path = Path(checkpoint)
    if path.is_dir():
        indexes = sorted(path.glob("*.index"))
        if len(indexes) != 1:
            raise FileNotFoundError(
                f"{path} is a folder with {len(indexes)} '*.index' files; pass the "
                "checkpoint prefix, e.g. .../model.ckpt."
            )
        path = indexes[0].with_suffix("")
    index = Path(f"{path}.index")
    if not index.is_file():
        raise FileNotFoundError(
            f"No TF checkpoint at {path}: {index} does not exist. Pass a prefix such as "
            "data/checkpoints/rgb_scratch/model.ckpt (DeepMind kinetics-i3d layout)."
        )
    if not glob.glob(glob.escape(str(path)) + ".data-*-of-*"):
        raise FileNotFoundError(
            f"TF checkpoint {path} has an index but no data file ({path.name}.data-*-of-*); "
            "download the full checkpoint."
        )
    return path


def read_checkpoint(checkpoint: str | os.PathLike, progress: bool = True) -> Checkpoint:
    """Reads the model variables of a DeepMind I3D TF1 checkpoint.

    Args:
        checkpoint: the checkpoint prefix (``.../model.ckpt``) or its folder.
        progress: show a progress bar while reading tensors.

    Returns:
        A `Checkpoint`.

    Raises:
        FileNotFoundError: if the checkpoint files are missing.
        ImportError: if TensorFlow (the checkpoint reader) is not installed.
        ConversionError: if variables come from several stream scopes.
    """
    prefix = resolve_checkpoint_prefix(checkpoint)
    try:
        import tensorflow as tf  # noqa: PLC0415 - optional, only to read TF checkpoints
    except ImportError as e:
        raise ImportError(
            "Reading DeepMind's TF checkpoints needs TensorFlow: pip install 'keras-i3d[tensorflow]'."
        ) from e
    from tqdm.auto import tqdm  # noqa: PLC0415

    reader = tf.train.load_checkpoint(str(prefix))
    names = sorted(reader.get_variable_to_shape_map())
    tensors: dict[str, np.ndarray] = {}
    scopes = set()
    ignored = []
    for name in tqdm(
        names, desc=f"Reading {prefix.parent.name or prefix}", unit="var", disable=not progress, leave=False
    ):
        split = _split_name(name)
        if split is None:
            ignored.append(name)
            continue
        scope, relative = split
        scopes.add(scope)
        tensors[relative] = np.asarray(reader.get_tensor(name))
    if len(scopes) > 1:
        raise ConversionError(f"{prefix}: variables under several scopes {sorted(scopes)}.")
    return Checkpoint(path=prefix, tensors=tensors, scope=scopes.pop() if scopes else "", ignored=ignored)


def check_compatible(ckpt: Checkpoint, preset: presets_lib.Preset) -> None:
    """Checks a checkpoint against a preset's stream and classes.

    Raises:
        ConversionError: naming what differs.
    """
    if ckpt.stream != preset.stream:
        raise ConversionError(
            f"{ckpt.path} is a {ckpt.stream} checkpoint (Conv3d_1a_7x7 takes {ckpt.channels} "
            f"channels{', scope ' + repr(ckpt.scope) if ckpt.scope else ''}) but preset "
            f"{preset.name!r} is a {preset.stream} preset ({preset.channels} channels)."
        )
    if ckpt.classes is not None and ckpt.classes != preset.classes:
        raise ConversionError(
            f"{ckpt.path} has {ckpt.classes} classes but preset {preset.name!r} "
            f"({preset.dataset}) has {preset.classes}."
        )


def assign_checkpoint(model, ckpt: Checkpoint) -> None:
    """Assigns every checkpoint variable to the model layer of the same scope.

    Args:
        model: an `I3D` model (any head).
        ckpt: the checkpoint.

    Raises:
        ConversionError: unless every model weight is assigned and every model
            variable of the checkpoint is used; the message lists the offenders.
    """
    unused, mismatched = [], []
    assigned = set()
    layers = {layer.name: layer for layer in model.layers}
    for name, tensor in ckpt.tensors.items():
        scope, var = name.rsplit("/", 1)
        module = scope.rsplit("/", 1)[-1]
        layer = layers.get(scope_to_layer_name(scope))
        variable = getattr(layer, _VARIABLE_ATTRS[module][var], None) if layer is not None else None
        if variable is None:
            unused.append(name)
            continue
        target = tuple(variable.shape)
        value = tensor
        if value.shape != target:
            if module == "batch_norm" and value.size == int(np.prod(target)):
                value = value.reshape(target)  # [1, 1, 1, 1, C] -> [C]
            else:
                mismatched.append(f"{name}: checkpoint {value.shape} vs model {target}")
                continue
        variable.assign(value.astype(variable.dtype))
        assigned.add(variable.path)
    missing = [v.path for v in model.weights if v.path not in assigned]
    if unused or mismatched or missing:
        lines = [f"{ckpt.path} does not fit the model:"]
        for title, items in (
            ("checkpoint variables with no model weight", unused),
            ("shape mismatches", mismatched),
            ("model weights not in the checkpoint", missing),
        ):
            if items:
                lines.append(f"  {title} ({len(items)}):")
                lines.extend(f"    {item}" for item in items[:20])
                if len(items) > 20:
                    lines.append(f"    ... and {len(items) - 20} more")
        raise ConversionError("\n".join(lines))


def convert_checkpoint(
    checkpoint: str | os.PathLike,
    output: str | os.PathLike,
    preset: str | None = None,
    progress: bool = True,
) -> str:
    """Converts a DeepMind I3D checkpoint into a Keras ``.weights.h5`` file.

    The file is written atomically (never half-written) together with a
    ``<output>.sha256`` sidecar.

    Args:
        checkpoint: the TF checkpoint prefix (``.../model.ckpt``) or its folder.
        output: destination, ending in ``.weights.h5``.
        preset: optional preset name; the checkpoint's stream and classes are
            checked against it.
        progress: show a progress bar while reading.

    Returns:
        The sha256 of the written file.

    Raises:
        ConversionError: if the checkpoint does not fit (see `assign_checkpoint`).
        ValueError: for an unknown preset or a bad output name.
    """
    output = Path(output)
    if not output.name.endswith(".weights.h5"):
        raise ValueError(f"The output file name must end in '.weights.h5'; got {output}.")
    preset_obj = presets_lib.get_preset(preset) if preset is not None else None
    ckpt = read_checkpoint(checkpoint, progress=progress)
    if preset_obj is not None:
        check_compatible(ckpt, preset_obj)
    model = weights_holder(ckpt.channels, ckpt.classes)
    assign_checkpoint(model, ckpt)
    with atomic_path(output, suffix=".weights.h5") as tmp:
        model.save_weights(tmp)
    digest = sha256_file(output)
    write_sidecar(output, digest)
    return digest
