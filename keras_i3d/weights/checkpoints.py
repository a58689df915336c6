"""Read DeepMind's TF1 kinetics-i3d checkpoints and map them onto the model.

Variables map by name: the checkpoint variable
``RGB/inception_i3d/Mixed_4f/Branch_1/Conv3d_0b_3x3/conv_3d/w`` is the
``kernel`` of layer ``Mixed_4f_Branch_1_Conv3d_0b_3x3_conv_3d``. Upstream's
layouts are handled: the ``RGB/`` / ``Flow/`` and ``inception_i3d/`` scopes
are optional (the Kinetics-600 checkpoint has none), batch-norm statistics may
be stored as ``[C]`` or ``[1, 1, 1, 1, C]``, and optimizer slots
(``.../Momentum``), ``global_step`` and the like are ignored.

Checkpoints are read with `keras_i3d.weights.tensor_bundle` (NumPy, every tensor
CRC-checked): converting needs no TensorFlow on any backend. A conversion is
validated before it is published: full accounting of every variable, the
registered content digest where one is known, and optionally the converted
network on DeepMind's sample clip against reference logits.
"""

from __future__ import annotations

import glob
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from keras_i3d import presets as presets_lib
from keras_i3d.errors import ConversionError, DownloadError
from keras_i3d.model.architecture import FIRST_CONV_SCOPE, LOGITS_CONV_SCOPE, scope_to_layer_name, weights_holder
from keras_i3d.preprocessing import decode_predictions, preprocess_input
from keras_i3d.utils import paths
from keras_i3d.utils.files import ensure_writable_file
from keras_i3d.utils.progress import bar as progress_bar
from keras_i3d.video.decode import flow_from_gif, read_gif
from keras_i3d.weights import deepmind as deepmind_data
from keras_i3d.weights.files import check_weights_filename, weights_digest, write_weights
from keras_i3d.weights.tensor_bundle import TensorBundle

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
_FIRST_CONV = f"{FIRST_CONV_SCOPE}/w"
_LOGITS_BIAS = f"{LOGITS_CONV_SCOPE}/conv_3d/b"


#: Reference logits of the sample clip, by source checkpoint (in ``$KINETICS_I3D_DATA/reference``).
REFERENCE_LOGITS = {"rgb_scratch": "cricket_rgb_logits.npy"}
#: Default tolerance of the parity check (max abs logit difference).
PARITY_TOLERANCE = 1e-4


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
    """Reads the model variables of a DeepMind I3D TF1 checkpoint (no TensorFlow needed).

    Args:
        checkpoint: the checkpoint prefix (``.../model.ckpt``) or its folder.
        progress: show a progress bar while reading tensors.

    Returns:
        A `Checkpoint`.

    Raises:
        FileNotFoundError: if the checkpoint files are missing.
        CheckpointError: if a file is truncated, corrupted (CRC mismatch) or not
            a TensorFlow checkpoint.
        ConversionError: if variables come from several stream scopes.
    """
    prefix = resolve_checkpoint_prefix(checkpoint)
    bundle = TensorBundle(prefix)
    tensors: dict[str, np.ndarray] = {}
    scopes = set()
    ignored = []
    names = sorted(bundle.entries)
    for name in progress_bar(
        names, progress=progress, desc=f"Reading {prefix.parent.name or prefix}", unit="var", leave=False
    ):
        split = _split_name(name)
        if split is None:
            ignored.append(name)
            continue
        scope, relative = split
        scopes.add(scope)
        tensors[relative] = bundle.read(name)
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


def _load_reference(source: str | None) -> np.ndarray | None:
    data_dir = paths.find_data_dir()
    name = REFERENCE_LOGITS.get(source or "")
    if data_dir is None or name is None or not (data_dir / "reference" / name).is_file():
        return None
    return np.load(data_dir / "reference" / name)


def sample_clip_input(stream: str, progress: bool = False) -> np.ndarray:
    """DeepMind's cricket clip as model input ``(1, 79, 224, 224, C)``.

    RGB is decoded exactly as the reference logits were computed. Flow is
    recovered from upstream's visualisation GIF (channels ``(u, v, 0) + 0.5``),
    which is lossy, so it only serves as a sanity check.

    Raises:
        DownloadError: if the clip is not local and cannot be downloaded.
    """
    frames = read_gif(deepmind_data.sample_clip(stream, progress=progress))
    if stream == "rgb":
        return preprocess_input(frames)[None]
    return flow_from_gif(frames)[None]


def validate_on_sample_clip(
    model, preset: presets_lib.Preset, tolerance: float = PARITY_TOLERANCE, progress: bool = False
) -> dict:
    """Runs converted weights on DeepMind's sample clip and checks the logits.

    Where reference logits exist for the preset's source checkpoint (in
    ``$KINETICS_I3D_DATA/reference``), the max abs difference must be within
    ``tolerance``; otherwise the logits must be finite and the top-1 class is
    reported.

    Args:
        model: a `weights_holder` (logits out) holding the converted weights.
        preset: the preset the weights are for.
        tolerance: max abs logit difference allowed against the reference.
        progress: show a progress bar if the clip must be downloaded.

    Returns:
        ``{"checked": bool, "top1": label, "top1_logit": float, "max_abs_diff": float?}``;
        ``checked`` is ``False`` (with a ``reason``) when the clip is unavailable.

    Raises:
        ConversionError: for non-finite logits or a parity failure.
    """
    try:
        clip = sample_clip_input(preset.stream, progress=progress)
    except DownloadError as e:
        return {"checked": False, "reason": str(e)}
    logits = np.asarray(model.predict(clip, verbose=0))[0]
    if not np.all(np.isfinite(logits)):
        raise ConversionError(f"{preset.name}: the converted network gives non-finite logits on the sample clip.")
    ((_, top1, score),) = decode_predictions(logits[None], top=1, dataset=preset.dataset)[0]
    result = {"checked": True, "top1": top1, "top1_logit": round(float(score), 4)}
    reference = _load_reference(preset.source)
    if reference is not None:
        diff = float(np.abs(logits - reference).max())
        result["max_abs_diff"] = diff
        if diff > tolerance:
            raise ConversionError(
                f"Parity check failed for {preset.name}: max |logits - reference| = {diff:.3g} > {tolerance}."
            )
    return result


def check_tolerance(tolerance: float) -> float:
    """Returns ``tolerance`` if it is a finite number >= 0.

    Raises:
        ValueError: otherwise (``nan`` would silently pass every comparison).
    """
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not math.isfinite(tolerance):
        raise ValueError(f"The parity tolerance must be a finite number >= 0; got {tolerance!r}.")
    if tolerance < 0:
        raise ValueError(f"The parity tolerance must be >= 0; got {tolerance!r}.")
    return float(tolerance)


@dataclass
class ConversionResult:
    """What `convert_checkpoint` wrote.

    Attributes:
        output: the ``.weights.h5`` file.
        sha256: sha256 of its bytes (also in its ``.sha256`` sidecar).
        weights_digest: its content digest (see `weights_files.weights_digest`).
        registered: ``True``/``False`` whether ``weights_digest`` equals the
            preset's registered one, ``None`` when none is registered.
        validation: the `validate_on_sample_clip` summary, if it ran.
    """

    output: Path
    sha256: str
    weights_digest: str
    preset: str | None = None
    registered: bool | None = None
    validation: dict | None = None

    def summary(self) -> str:
        """A few lines for humans: what was written, its digests, the validation."""
        registry = {True: "matches the registry", False: "differs from the registry", None: "none registered"}
        lines = [
            f"{self.preset or 'checkpoint'}: wrote {self.output}",
            f"  sha256 {self.sha256}",
            f"  weights digest {self.weights_digest} ({registry[self.registered]})",
        ]
        v = self.validation
        if v and v.get("checked"):
            diff = f", max abs diff vs reference {v['max_abs_diff']:.2e}" if "max_abs_diff" in v else ""
            lines.append(f"  sample clip top-1: {v['top1']} ({v['top1_logit']}){diff}")
        elif v:
            lines.append(f"  sample clip not checked: {v['reason']}")
        return "\n".join(lines)


def convert_checkpoint(
    checkpoint: str | os.PathLike,
    output: str | os.PathLike,
    preset: str | None = None,
    progress: bool = True,
    validate: bool = False,
    tolerance: float = PARITY_TOLERANCE,
    require_registered: bool = False,
) -> ConversionResult:
    """Converts a DeepMind I3D checkpoint into a Keras ``.weights.h5`` file.

    Validates first, publishes after: the file is written (atomically, with a
    ``.sha256`` sidecar and a ``.config.json``) only once every check passed,
    so a failed conversion leaves nothing at ``output``.

    Args:
        checkpoint: the TF checkpoint prefix (``.../model.ckpt``) or its folder.
        output: destination, ending in ``.weights.h5``.
        preset: optional preset name; the checkpoint's stream and classes are
            checked against it and recorded in the config.
        progress: show a progress bar while reading.
        validate: also run the network on DeepMind's sample clip (see
            `validate_on_sample_clip`).
        tolerance: parity tolerance of that check.
        require_registered: fail unless the content digest equals the preset's
            registered digest (where one is registered).

    Returns:
        A `ConversionResult`.

    Raises:
        ConversionError: if the checkpoint does not fit (see `assign_checkpoint`),
            fails validation, or differs from the registered digest when
            ``require_registered``.
        CheckpointError: if the checkpoint files are corrupted or truncated.
        ValueError: for an unknown preset, a bad output name or tolerance.
        FileAccessError: if ``output`` cannot be written (a folder, under a
            file, no permission); checked before any work is done.
    """
    return convert_checkpoint_weights(checkpoint, output, preset, progress, validate, tolerance, require_registered)[0]


def convert_checkpoint_weights(
    checkpoint: str | os.PathLike,
    output: str | os.PathLike,
    preset: str | None = None,
    progress: bool = True,
    validate: bool = False,
    tolerance: float = PARITY_TOLERANCE,
    require_registered: bool = False,
) -> tuple[ConversionResult, keras.Model]:
    """`convert_checkpoint`, also returning the weights holder the checkpoint was converted into.

    The weights stay in memory, so a caller that uses them at once (the
    weights fetch) reads the file back into this holder instead of building
    another graph. Arguments and errors are `convert_checkpoint`'s.
    """
    output = check_weights_filename(output)
    check_tolerance(tolerance)
    preset_obj = presets_lib.get_preset(preset) if preset is not None else None
    ensure_writable_file(output)
    ckpt = read_checkpoint(checkpoint, progress=progress)
    if preset_obj is not None:
        check_compatible(ckpt, preset_obj)
    model = weights_holder(ckpt.channels, ckpt.classes)
    assign_checkpoint(model, ckpt)
    digest = weights_digest(model)
    registered = None
    if preset_obj is not None and preset_obj.weights_digest is not None:
        registered = digest == preset_obj.weights_digest
        if require_registered and not registered:
            raise ConversionError(
                f"{ckpt.path} converts to weights with digest {digest}, but preset {preset_obj.name!r} is "
                f"registered as {preset_obj.weights_digest}: this is not DeepMind's {preset_obj.source} checkpoint."
            )
    validation = validate_on_sample_clip(model, preset_obj, tolerance, progress) if validate and preset_obj else None
    if preset_obj is not None:
        config = preset_obj.weights_config
    else:
        config = {
            "architecture": "i3d",
            "channels": ckpt.channels,
            "classes": ckpt.classes,
            "stream": ckpt.stream,
            "source": ckpt.path.parent.name,
        }
    written = write_weights(model, output, config, digest=digest)
    result = ConversionResult(output, written["sha256"], digest, config.get("preset"), registered, validation)
    return result, model
