"""Verification: the one place where a weights file's digests are compared.

`verify` checks, in order, the file's sha256 against its ``.sha256`` sidecar
(cheap, catches truncation), then loads it into a weights holder and compares
the content digest (`keras_i3d.weights.files.weights_digest`) with every
digest known for it: the registry's (the spec's ``trusted_digest``, the most
trusted) and the one its config records.
"""

from __future__ import annotations

import keras

from keras_i3d.errors import FileAccessError, WeightsError
from keras_i3d.model.architecture import weights_holder
from keras_i3d.utils.files import sha256_file
from keras_i3d.weights.files import WeightsFile, weights_digest
from keras_i3d.weights.spec import WeightsSpec


def check_sha256(weights_file: WeightsFile, require_sidecar: bool = False) -> None:
    """Compares a file's sha256 with its ``.sha256`` sidecar (when it has one).

    Raises:
        WeightsError: if the sidecar is missing (when required), unreadable, or
            differs (truncated or corrupted file).
    """
    try:
        expected = weights_file.recorded_sha256
    except FileAccessError as e:
        raise WeightsError(str(e)) from e
    if expected is None and require_sidecar:
        raise WeightsError(f"{weights_file.path} has no .sha256 sidecar (unverifiable)")
    if expected is not None:
        actual = sha256_file(weights_file.path)
        if actual != expected:
            raise WeightsError(
                f"{weights_file.path} does not match its sidecar {weights_file.sidecar.name}: sha256 {actual}, "
                f"expected {expected} (truncated or corrupted)."
            )


def check_content_digest(weights_file: WeightsFile, model: keras.Model, trusted: str | None = None) -> None:
    """Compares the content digest of ``model`` (holding the file's weights) with every digest known.

    Args:
        weights_file: the file the weights were read from.
        model: the model holding them.
        trusted: the registry's digest, if one applies (checked first).

    Raises:
        WeightsError: naming which digest differs.
    """
    actual = weights_digest(model)
    recorded = (weights_file.config or {}).get("weights_digest")
    for source, expected in (("the registry", trusted), (weights_file.config_file.name, recorded)):
        if expected is not None and actual != expected:
            raise WeightsError(
                f"{weights_file.path} does not verify: its weights digest is {actual}, but {source} says "
                f"{expected} (corrupted or different weights)."
            )


def verify(
    weights_file: WeightsFile,
    spec: WeightsSpec,
    holder: keras.Model | None = None,
    require_sidecar: bool = False,
) -> keras.Model:
    """Loads a weights file into a weights holder, verified against every digest known for it.

    Args:
        weights_file: the file.
        spec: what it must be (channels, classes, the registry's digest).
        holder: a `keras_i3d.model.architecture.weights_holder` of the spec's
            shape to read into (a conversion passes the one it filled, so the
            read-back needs no second graph); a new one by default.
        require_sidecar: fail when the file has no ``.sha256`` sidecar (a cache
            entry without one is unverifiable).

    Returns:
        The holder, holding the file's weights.

    Raises:
        WeightsError: if the sidecar is missing (when required) or differs, the
            file cannot be read, or a content digest differs.
    """
    check_sha256(weights_file, require_sidecar)
    if holder is None:
        holder = weights_holder(spec.channels, spec.classes)
    weights_file.read_into(holder, f"the I3D its config describes: {spec.channels} channels, {spec.classes} classes")
    check_content_digest(weights_file, holder, spec.trusted_digest)
    return holder
