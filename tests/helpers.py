"""Shared test helpers: data location, reference input, synthetic checkpoints."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from keras_i3d import data_paths

SOURCES = ("rgb_scratch", "rgb_imagenet", "flow_scratch", "flow_imagenet", "rgb_scratch_kin600")


def data_dir() -> Path:
    """The kinetics-i3d data folder; skips the test without it (fails under CI=true)."""
    path = data_paths.find_data_dir()
    if path is None or not path.is_dir():
        message = f"kinetics-i3d data not found: set {data_paths.DATA_ENV} (or put it at ../shared/kinetics-i3d)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " -- under CI=true this is a failure, not a skip")
        pytest.skip(message)
    return path


def reference_input() -> np.ndarray:
    """The cricket clip exactly as the reference logits were computed."""
    from PIL import Image, ImageSequence

    with Image.open(data_dir() / "v_CricketShot_g04_c01_rgb.gif") as image:
        frames = np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(image)])
    x = frames[None].astype(np.float32)
    return x / 255 * 2 - 1


def reference_logits() -> np.ndarray:
    return np.load(data_dir() / "reference" / "cricket_rgb_logits.npy")


def checkpoint_layout(source: str) -> dict[str, tuple[list[int], str]]:
    """``{name: (shape, dtype)}`` of an upstream checkpoint, from its real ``.index``."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(data_dir() / "checkpoints" / source / "model.ckpt"))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    return {name: (shapes[name], dtypes[name].name) for name in shapes}


def write_synthetic_checkpoint(
    prefix: Path, layout: dict[str, tuple[list[int], str]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Writes a TF checkpoint with exactly ``layout``'s names and shapes.

    Values are random (variances positive). Returns ``{name: value}``.
    """
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    values = {}
    for name, (shape, dtype) in sorted(layout.items()):
        value = rng.standard_normal(shape).astype(dtype)
        if name.endswith("moving_variance"):
            value = np.abs(value) + 0.5
        values[name] = value
    prefix.parent.mkdir(parents=True, exist_ok=True)
    names = sorted(values)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(values[n]) for n in names],
    )
    return values
