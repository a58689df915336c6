"""Inflated weights files: `save_inflated_weights` and `load_inflated`.

The ``.weights.h5`` travels with its ``.sha256`` sidecar and a config JSON
that holds the whole Keras model config and the model's `Inflation`, so
`load_inflated` rebuilds the 3D model without guessing; an inflated
Inception-v1 is recorded as ``"architecture": "i3d"``, so
``keras_i3d.I3D(weights=path)`` loads it too.
"""

from __future__ import annotations

import json
import os

import keras

from keras_i3d.errors import WeightsError
from keras_i3d.inflation.inflate import Inflation, i3d_differences, input_channels
from keras_i3d.model.architecture import LOGITS_LAYER
from keras_i3d.weights.files import (
    WeightsFile,
    check_weights_filename,
    check_weights_path,
    write_weights,
)
from keras_i3d.weights.verify import check_content_digest, check_sha256


def _find_inflation(model: keras.Model) -> Inflation | None:
    """The model's `Inflation`, or that of the first model nested in it that has one."""
    found = getattr(model, "inflation", None)
    for layer in model.layers:
        if found is None and isinstance(layer, keras.Model):
            found = _find_inflation(layer)
    return found


def save_inflated_weights(model: keras.Model, path: str | os.PathLike) -> dict:
    """Saves an inflated model's weights with a config JSON that holds its whole architecture.

    Writes ``x.weights.h5`` with its ``.sha256`` sidecar and ``x.config.json``
    (atomically, see `keras_i3d.weights.files.write_weights`). The config
    holds the Keras model config and the model's `Inflation`, so
    `load_inflated` rebuilds the model without guessing. When the model is
    I3D's architecture (an inflated `keras_i3d.InceptionV1`, see
    `i3d_differences`), the config says ``"architecture": "i3d"`` and
    ``keras_i3d.I3D(weights=path)`` loads the file too.

    Args:
        model: a model from `inflate` or `load_inflated`, or a model around
            one (a new head on an inflated backbone: the backbone's `Inflation`
            is recorded); any functional model saves, with no `Inflation`.
        path: the destination, ending in ``.weights.h5``.

    Returns:
        The config as written.

    Raises:
        ValueError: for a path not ending in ``.weights.h5``.
    """
    path = check_weights_filename(path)
    is_i3d = not i3d_differences(model)
    channels = input_channels(model)
    has_logits = LOGITS_LAYER in {layer.name for layer in model.layers}
    inflation = _find_inflation(model)
    config = {
        "architecture": "i3d" if is_i3d else "inflated",
        "channels": channels,
        "classes": int(model.get_layer(LOGITS_LAYER).output.shape[-1]) if is_i3d and has_logits else None,
        "stream": {3: "rgb", 2: "flow"}.get(channels) if is_i3d else None,
        "source": f"inflated from {inflation.source}" if inflation else model.name,
        "inflation": inflation.to_dict() if inflation else None,
        "keras_model": json.loads(model.to_json()),
    }
    return write_weights(model, path, config)


def load_inflated(path: str | os.PathLike) -> keras.Model:
    """Loads a file written by `save_inflated_weights`: the 3D model rebuilt from its config, verified.

    Args:
        path: the ``.weights.h5`` file (its ``.config.json`` must be beside it).

    Returns:
        The model, with ``model.inflation`` as recorded.

    Raises:
        WeightsError: for a missing file or config, a config without the
            architecture, or weights that do not verify (sha256 sidecar,
            content digest) or do not fit.
    """
    weights_file = WeightsFile(check_weights_path(path))
    config = weights_file.config
    if config is None or "keras_model" not in config:
        raise WeightsError(
            f"{weights_file.path} has no config JSON with a model architecture beside it; save inflated models "
            "with keras_i3d.save_inflated_weights (an I3D weights file loads with keras_i3d.I3D(weights=path))."
        )
    check_sha256(weights_file)
    try:
        model = keras.models.model_from_json(json.dumps(config["keras_model"]))
    except Exception as e:
        raise WeightsError(f"Cannot rebuild the model described beside {weights_file.path}: {e}") from e
    weights_file.read_into(model, "the model its config describes")
    check_content_digest(weights_file, model)
    if config.get("inflation"):
        model.inflation = Inflation.from_dict(config["inflation"])
    return model
