"""Writes the legacy files in this folder with the keras_i3d release of the day (run once, by hand).

The files were written by keras_i3d 0.2.0 at commit 3674c86, the last commit before the package
was split into capability folders (issue 20), with Keras 3 on TensorFlow:

    KERAS_BACKEND=tensorflow python tests/data/legacy/make_legacy_files.py tests/data/legacy

They pin what a user's saved files look like: ``tests/applications/test_legacy_files.py`` loads them
on every backend and compares the outputs with ``expected.npz``, written here beside them. Weights
are tiled from a short seeded pattern so that the archives compress to a few hundred KB.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import keras
import numpy as np

import keras_i3d

CLIP_SHAPE = (1, 8, 32, 32)


def tile_weights(model: keras.Model, seed: int) -> None:
    """Sets every variable to a tiled seeded pattern of small values (compresses well, not degenerate)."""
    pattern = np.random.default_rng(seed).normal(0.0, 0.05, 997).astype("float32")
    for variable in model.weights:
        size = int(np.prod(variable.shape))
        value = np.resize(pattern, size).reshape(variable.shape)
        if "moving_variance" in variable.path:
            value = 1.0 + np.abs(value)
        variable.assign(value)


def clip(channels: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (*CLIP_SHAPE, channels)).astype("float32")


def save_keras(model: keras.Model, path: Path) -> None:
    """``model.save`` then recompress the archive (Keras stores its members uncompressed)."""
    tmp = path.with_suffix(".tmp.keras")
    model.save(tmp)
    with zipfile.ZipFile(tmp) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, src.read(item.filename))
    tmp.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    expected = {}

    i3d = keras_i3d.I3D(weights=None, classes=7, input_shape=(None, 32, 32, 3), classifier_activation=None)
    tile_weights(i3d, 0)
    expected["i3d_input"] = clip(3, 1)
    expected["i3d_output"] = keras.ops.convert_to_numpy(i3d(expected["i3d_input"]))
    save_keras(i3d, out / "i3d_small.keras")

    fused = keras_i3d.fuse_for_inference(i3d)
    tile_weights(fused, 7)  # folded weights do not repeat; tiled ones keep the file small
    expected["fused_output"] = keras.ops.convert_to_numpy(fused(expected["i3d_input"]))
    save_keras(fused, out / "i3d_fused.keras")

    two = keras_i3d.TwoStreamI3D(rgb_weights=None, flow_weights=None, classes=5, size=32, classifier_activation=None)
    tile_weights(two, 2)
    expected["two_stream_rgb"] = clip(3, 3)
    expected["two_stream_flow"] = clip(2, 4)
    inputs = {"rgb": expected["two_stream_rgb"], "flow": expected["two_stream_flow"]}
    expected["two_stream_output"] = keras.ops.convert_to_numpy(two(inputs))
    save_keras(two, out / "two_stream.keras")

    inputs_2d = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="conv1")(inputs_2d)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(16, 3, strides=2, padding="valid", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(4, name="head")(x)
    cnn = keras.Model(inputs_2d, outputs, name="small_cnn")
    inflated = keras_i3d.inflate(cnn)
    tile_weights(inflated, 5)
    expected["inflated_input"] = clip(3, 6)
    expected["inflated_output"] = keras.ops.convert_to_numpy(inflated(expected["inflated_input"]))
    keras_i3d.save_inflated_weights(inflated, out / "inflated_cnn.weights.h5")

    np.savez_compressed(out / "expected.npz", **expected)


if __name__ == "__main__":
    main()
