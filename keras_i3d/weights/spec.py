"""What a ``weights`` argument names, and whether it fits a network: steps 1 and 2 of the weights path.

Every caller (`keras_i3d.I3D`, `keras_i3d.TwoStreamI3D`, the CLI) goes the same way::

    spec = describe(weights)                # 1. a frozen WeightsSpec, or None for no weights
    check_fits(spec, channels, classes)     # 2. before any graph is built
    model = ...                             # 3. build the graph
    load_weights(model, spec)               # 4. fetch -> verify -> assign (keras_i3d.weights.load)

A preset is described from the registry (`keras_i3d.presets`) without
touching a file; a ``.weights.h5`` path from its config JSON (read once, kept
by the spec's `WeightsFile`), or from its tensor shapes when it has none.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from keras_i3d import presets as presets_lib
from keras_i3d.errors import WeightsError
from keras_i3d.weights.files import WeightsFile, check_weights_path


def is_weights_file(weights) -> bool:
    """Whether ``weights`` names a file rather than a preset."""
    if isinstance(weights, os.PathLike):
        return True
    return isinstance(weights, str) and (weights.endswith((".h5", ".keras")) or os.sep in weights or "/" in weights)


@dataclasses.dataclass(frozen=True)
class WeightsSpec:
    """What a ``weights`` argument names, decided once and passed along.

    Attributes:
        kind: ``"preset"`` or ``"file"``.
        label: how errors name it: ``"Preset 'kinetics400_rgb'"`` or the file's path.
        channels: input channels of the first convolution (3 RGB, 2 flow).
        classes: classifier width, or ``None`` for weights without a classifier.
        stream: ``"rgb"``, ``"flow"``, or ``None`` when a file does not say.
        preset: the preset (for ``kind="preset"``, or the one a file's config names).
        file: the `WeightsFile` (for ``kind="file"``).
        trusted_digest: the registry's content digest the weights must have,
            where one is known (the most trusted digest: a corrupted file with a
            regenerated sidecar and config still fails it).
    """

    kind: str
    label: str
    channels: int
    classes: int | None
    stream: str | None = None
    preset: presets_lib.Preset | None = None
    file: WeightsFile | None = None
    trusted_digest: str | None = None

    @property
    def path(self) -> Path | None:
        """The file's path (``kind="file"``), else ``None``."""
        return None if self.file is None else self.file.path


def preset_spec(preset: presets_lib.Preset) -> WeightsSpec:
    """The spec of a registry preset."""
    return WeightsSpec(
        kind="preset",
        label=f"Preset {preset.name!r}",
        channels=preset.channels,
        classes=preset.classes,
        stream=preset.stream,
        preset=preset,
        trusted_digest=preset.weights_digest,
    )


def file_spec(path: str | os.PathLike) -> WeightsSpec:
    """The spec of a ``.weights.h5`` file, from its config JSON (or its tensor shapes).

    Raises:
        WeightsError: for a missing or misnamed file, an unreadable config, or
            a file that does not hold I3D weights.
    """
    weights_file = WeightsFile(check_weights_path(path))
    info = weights_file.info
    preset = presets_lib.PRESETS.get(info.preset or "")
    # The registry's digest applies to a file converted from the preset's own DeepMind checkpoint.
    registered = preset is not None and (info.source is None or info.source == preset.source)
    return WeightsSpec(
        kind="file",
        label=str(weights_file.path),
        channels=info.channels,
        classes=info.classes,
        stream=info.stream,
        preset=preset,
        file=weights_file,
        trusted_digest=preset.weights_digest if registered else None,
    )


def describe(weights) -> WeightsSpec | None:
    """Step 1: what ``weights`` names, as a `WeightsSpec` (``None`` for no weights).

    Args:
        weights: ``None``, a preset name, a path to a ``.weights.h5`` file, or
            a `WeightsSpec` (returned as it is).

    Raises:
        ValueError: for an unknown preset or a value of the wrong type.
        WeightsError: for a file that is missing, misnamed, unreadable or not
            I3D weights.
    """
    if weights is None or isinstance(weights, WeightsSpec):
        return weights
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(
            f"`weights` must be None, a preset name or a path to a .weights.h5 file; got {type(weights).__name__}."
        )
    if is_weights_file(weights):
        return file_spec(weights)
    return preset_spec(presets_lib.get_preset(weights))


def check_fits(spec: WeightsSpec | None, channels: int | None = None, classes: int | None = None) -> None:
    """Step 2: whether weights fit a network of ``channels`` inputs and ``classes`` outputs.

    Runs before any graph is built, with one error type for presets and files.

    Args:
        spec: from `describe` (``None`` fits anything).
        channels: the network's input channels, or ``None`` not to check them.
        classes: the network's classifier width, or ``None`` for a network
            without classifier (``include_top=False``: any weights fit, the
            classifier is skipped).

    Raises:
        WeightsError: naming the weights and what does not fit.
    """
    if spec is None:
        return
    if channels is not None and channels != spec.channels:
        raise WeightsError(f"{spec.label} has weights for {spec.channels} input channels; the model takes {channels}.")
    if classes is not None and classes != spec.classes:
        has = "no classifier" if spec.classes is None else f"{spec.classes} classes"
        raise WeightsError(
            f"{spec.label} has {has}; got classes={classes}. "
            "Use include_top=False to put your own classifier on top, or matching `classes`."
        )
