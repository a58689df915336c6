"""I3D weights files: the ``.weights.h5``, its config JSON and its digests.

A weights file written by keras_i3d travels with two small files beside it::

    i3d_kinetics400_rgb.weights.h5          the Keras weights
    i3d_kinetics400_rgb.weights.h5.sha256   sha256 of its bytes (``sha256sum -c`` format)
    i3d_kinetics400_rgb.config.json         what it is: architecture, stream,
                                            channels, classes, source, digests

so loading never has to guess the model from tensor shapes. The config also
records the `weights_digest`: a sha256 over every variable's name, dtype,
shape and value, which (unlike the file's sha256) does not depend on how a
given h5py/HDF5 version lays the file out; the preset registry records it for
weights whose source is known. Files without a config (foreign files) are
described from their tensor shapes instead.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import warnings
from pathlib import Path

import h5py
import keras
import numpy as np

from keras_i3d import presets as presets_lib
from keras_i3d.errors import WeightsError
from keras_i3d.utils.files import (
    atomic_path,
    read_sidecar,
    sha256_file,
    sidecar_path,
    write_bytes_atomic,
    write_json_atomic,
    write_sidecar,
)
from keras_i3d.utils.termination import cleanup_on_termination
from keras_i3d.version import __version__

#: Version of the config JSON layout.
CONFIG_FORMAT = 1
_SUFFIX = ".weights.h5"


@dataclasses.dataclass(frozen=True)
class WeightsInfo:
    """What a weights file holds.

    Attributes:
        channels: input channels of the first convolution (3 RGB, 2 flow).
        classes: classifier width, or ``None`` for a file without classifier.
        architecture: ``"i3d"``.
        stream: ``"rgb"``, ``"flow"``, or ``None`` when unknown.
        preset: the preset it was made for, if any.
        source: the DeepMind checkpoint it was converted from, if any.
        weights_digest: the content digest recorded in the config, if any.
        from_config: whether this came from the config JSON (``False``: guessed
            from tensor shapes).
    """

    channels: int
    classes: int | None
    architecture: str = "i3d"
    stream: str | None = None
    preset: str | None = None
    source: str | None = None
    weights_digest: str | None = None
    from_config: bool = False


def check_weights_filename(path: str | os.PathLike) -> Path:
    """Returns ``path`` as a `Path` if it ends in ``.weights.h5`` (Keras requires it).

    Raises:
        ValueError: otherwise.
    """
    path = Path(path)
    if not path.name.endswith(_SUFFIX):
        raise ValueError(f"A weights file name must end in '{_SUFFIX}'; got {path}.")
    return path


def check_weights_path(path: str | os.PathLike) -> Path:
    """Returns ``path`` as a `Path` if it is an existing ``.weights.h5`` file.

    Raises:
        WeightsError: naming what it is instead: missing, a folder, a whole
            saved model (``.keras``), or a file not named ``*.weights.h5``.
    """
    path = Path(path)
    if path.is_dir():
        raise WeightsError(f"Weights path {path} is a directory; give the .weights.h5 file inside it.")
    if not path.exists():
        raise WeightsError(f"Weights file {path} does not exist.")
    if path.suffix == ".keras":
        raise WeightsError(
            f"{path} is a whole saved Keras model, not a weights file: load it with keras_i3d.load_model(path)."
        )
    if not path.name.endswith(_SUFFIX):
        raise WeightsError(f"A weights file name must end in '{_SUFFIX}' (Keras 3 weights); got {path}.")
    if not path.is_file():
        raise WeightsError(f"Weights path {path} is not a regular file.")
    return path


def config_path(weights_path: str | os.PathLike) -> Path:
    """``x.weights.h5`` -> ``x.config.json``, the config beside a weights file."""
    path = Path(weights_path)
    stem = path.name[: -len(_SUFFIX)] if path.name.endswith(_SUFFIX) else path.stem
    return path.with_name(f"{stem}.config.json")


def weights_digest(model: keras.Model) -> str:
    """Content digest of a model's weights: sha256 over sorted (path, dtype, shape, bytes).

    Independent of the HDF5 byte layout, and of the order layers were created
    in; changed by any change of any value.
    """
    digest = hashlib.sha256()
    for variable in sorted(model.weights, key=lambda v: v.path):
        value = np.ascontiguousarray(keras.ops.convert_to_numpy(variable.value))
        value = value.astype(value.dtype.newbyteorder("<"), copy=False)
        digest.update(f"{variable.path}\0{value.dtype.str}\0{value.shape}\0".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def write_weights(model: keras.Model, output: str | os.PathLike, config: dict, digest: str | None = None) -> dict:
    """Saves ``model``'s weights with their sha256 sidecar and config JSON, atomically.

    The sidecar and config are written first and the ``.weights.h5`` is moved
    into place last, so a reader that sees the weights file also sees its
    sidecar and config. An interrupted write (error, Ctrl-C, SIGTERM, SIGHUP)
    leaves no new weights file, and puts back the sidecar and config of the
    file that was there before (or removes the new ones).

    Args:
        model: the model whose weights to save.
        output: destination ending in ``.weights.h5``.
        config: what the weights are (``channels``, ``classes``, ``stream``,
            ``preset``, ``source`` ...); the digests and versions are added.
        digest: the model's `weights_digest` when the caller has just
            computed it (a conversion does), so it is not computed again.

    Returns:
        The config as written (with ``sha256`` and ``weights_digest``).
    """
    output = check_weights_filename(output)
    companions = (sidecar_path(output), config_path(output))
    previous = {path: path.read_bytes() if path.is_file() else None for path in companions}
    with cleanup_on_termination():  # outermost, so a signal is handled after the restore below
        try:
            with atomic_path(output, suffix=_SUFFIX) as tmp:
                model.save_weights(tmp)
                config = {
                    **config,
                    "format": CONFIG_FORMAT,
                    "sha256": sha256_file(tmp),
                    "weights_digest": digest or weights_digest(model),
                    "keras_i3d_version": __version__,
                    "keras_version": keras.__version__,
                }
                write_sidecar(output, config["sha256"])
                write_json_atomic(config_path(output), config)
        except BaseException:
            # Interrupted before the new file took its place: put the sidecar and
            # config of the file still there back (or remove the new ones).
            if not (output.is_file() and "sha256" in config and sha256_file(output) == config["sha256"]):
                for path, data in previous.items():
                    if data is None:
                        path.unlink(missing_ok=True)
                    else:
                        write_bytes_atomic(path, data)
            raise
    return config


def _is_count(value, minimum: int = 1) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def read_config(weights_path: str | os.PathLike) -> dict | None:
    """Returns the config JSON beside a weights file, or ``None`` if there is none.

    Raises:
        WeightsError: if the config exists but is not valid JSON of this
            format, has fields of the wrong type, or contradicts the preset it
            names.
    """
    path = config_path(weights_path)
    if not path.is_file():
        return None
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise WeightsError(f"Cannot read {path}: {e}") from e
    if not isinstance(config, dict) or "channels" not in config or "classes" not in config:
        raise WeightsError(f"{path} is not a keras_i3d weights config (no 'channels'/'classes').")
    fmt = config.get("format", 0)
    if not _is_count(fmt, minimum=0):
        raise WeightsError(f"{path} has an invalid 'format' {fmt!r}.")
    if fmt > CONFIG_FORMAT:
        raise WeightsError(f"{path} has config format {fmt}; upgrade keras_i3d to read it.")
    if not _is_count(config["channels"]):
        raise WeightsError(f"{path}: 'channels' must be a positive int; got {config['channels']!r}.")
    if config["classes"] is not None and not _is_count(config["classes"]):
        raise WeightsError(f"{path}: 'classes' must be a positive int or null; got {config['classes']!r}.")
    preset = presets_lib.PRESETS.get(config.get("preset") or "")
    if preset is not None and (config["channels"], config["classes"]) != (preset.channels, preset.classes):
        raise WeightsError(
            f"{path} says it holds preset {preset.name!r} ({preset.channels} channels, {preset.classes} "
            f"classes) but records {config['channels']} channels and {config['classes']} classes."
        )
    return config


def _guess_from_shapes(path: Path) -> WeightsInfo:
    shapes = []
    try:
        with h5py.File(path, "r") as f:
            f.visititems(lambda _, obj: shapes.append(obj.shape) if isinstance(obj, h5py.Dataset) else None)
    except OSError as e:
        raise WeightsError(f"Cannot read weights file {path}: {e} (truncated or not HDF5?)") from e
    first = [s for s in shapes if len(s) == 5 and s[:3] == (7, 7, 7) and s[4] == 64]
    logits = [s for s in shapes if len(s) == 5 and s[:4] == (1, 1, 1, 1024)]
    if len(first) != 1 or len(logits) > 1:
        raise WeightsError(f"{path} does not hold I3D weights (and has no {config_path(path).name}).")
    return WeightsInfo(channels=int(first[0][3]), classes=int(logits[0][4]) if logits else None)


def describe_weights_file(path: str | os.PathLike, config: dict | None = None) -> WeightsInfo:
    """Says what a weights file holds: from its config JSON, else from tensor shapes.

    Args:
        path: the ``.weights.h5`` file.
        config: its config when the caller has read it already (else it is read here).

    Raises:
        WeightsError: if the file (or its config) is unreadable or not I3D weights.
    """
    path = Path(path)
    if config is None:
        config = read_config(path)
    if config is None:
        return _guess_from_shapes(path)
    if config.get("architecture", "i3d") != "i3d":
        hint = " (an inflated model: load it with keras_i3d.load_inflated(path))" if "keras_model" in config else ""
        raise WeightsError(f"{path} holds {config['architecture']!r} weights, not I3D{hint}.")
    return WeightsInfo(
        channels=int(config["channels"]),
        classes=None if config["classes"] is None else int(config["classes"]),
        architecture="i3d",
        stream=config.get("stream"),
        preset=config.get("preset"),
        source=config.get("source"),
        weights_digest=config.get("weights_digest"),
        from_config=True,
    )


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """A ``.weights.h5`` with its ``.sha256`` sidecar and config JSON, each read at most once.

    Attributes:
        path: the ``.weights.h5`` file.
    """

    path: Path

    @property
    def sidecar(self) -> Path:
        """The ``.sha256`` file beside it."""
        return sidecar_path(self.path)

    @property
    def config_file(self) -> Path:
        """The ``.config.json`` file beside it."""
        return config_path(self.path)

    @functools.cached_property
    def config(self) -> dict | None:
        """The config JSON (see `read_config`), or ``None`` when there is none."""
        return read_config(self.path)

    @functools.cached_property
    def info(self) -> WeightsInfo:
        """What the file holds (see `describe_weights_file`), from the config read once."""
        return describe_weights_file(self.path, self.config)

    @functools.cached_property
    def recorded_sha256(self) -> str | None:
        """The sha256 its sidecar records, or ``None`` without a sidecar.

        Raises:
            FileAccessError: if the sidecar exists but cannot be read (a folder, no permission).
        """
        return read_sidecar(self.path)

    def read_into(self, model: keras.Model, expected: str = "the model it should fit") -> None:
        """Loads the file's weights into ``model`` (built for them).

        Args:
            model: the model to fill.
            expected: what the file should hold, for the error message.

        Raises:
            WeightsError: if Keras or HDF5 cannot read the file into the model.
        """
        try:
            with warnings.catch_warnings():  # Keras warns per layer before it fails; the error says it all
                warnings.simplefilter("ignore")
                model.load_weights(self.path)
        except Exception as e:  # Keras and h5py raise several types for a bad file
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise WeightsError(
                f"Cannot load weights file {self.path}: {reason} (truncated, corrupted, or not {expected}?)"
            ) from e

    def discard(self) -> None:
        """Removes the file with its sidecar and config (folders in their place are left alone)."""
        for p in (self.path, self.sidecar, self.config_file):
            if not p.is_dir():
                p.unlink(missing_ok=True)
