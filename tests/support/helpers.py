"""Shared test helpers: data, synthetic checkpoints, a DeepMind-like server, model contracts."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_i3d import presets
from keras_i3d.utils import paths
from keras_i3d.utils.nested import leaf_layers

SOURCES = ("rgb_scratch", "rgb_imagenet", "flow_scratch", "flow_imagenet", "rgb_scratch_kin600")


#: The data folder as configured when the session started (tests may change the variable).
_SESSION_DATA_DIR = paths.find_data_dir()


def data_dir() -> Path:
    """The real kinetics-i3d data folder; skips the test without it (fails under CI=true).

    Always the folder the session started with, even inside a test that points
    ``$KINETICS_I3D_DATA`` elsewhere.
    """
    path = _SESSION_DATA_DIR
    if path is None or not path.is_dir():
        message = f"kinetics-i3d data not found: set {paths.DATA_ENV}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " -- under CI=true this is a failure, not a skip")
        pytest.skip(message)
    return path


def reference_input() -> np.ndarray:
    """The cricket clip exactly as the reference logits were computed (data README)."""
    from PIL import Image, ImageSequence

    with Image.open(data_dir() / "v_CricketShot_g04_c01_rgb.gif") as image:
        frames = np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(image)])
    x = frames[None].astype(np.float32)
    return x / 255 * 2 - 1


def reference_logits() -> np.ndarray:
    return np.load(data_dir() / "reference" / "cricket_rgb_logits.npy")


def checkpoint_layout(source: str) -> dict[str, tuple[list[int], str]]:
    """``{name: (shape, dtype)}`` of an upstream checkpoint, from its real ``.index`` (read by TensorFlow)."""
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(data_dir() / "checkpoints" / source / "model.ckpt"))
    shapes = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    return {name: (shapes[name], dtypes[name].name) for name in shapes}


def write_synthetic_checkpoint(
    prefix: Path, layout: dict[str, tuple[list[int], str]], seed: int = 0
) -> dict[str, np.ndarray]:
    """Writes a TF checkpoint (with TensorFlow's own writer) with exactly ``layout``'s names and shapes.

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


# -- a local server laid out like DeepMind's data/ folder ---------------------


class DeepMindServer:
    """Serves a folder laid out like DeepMind's ``data/`` over HTTP, in a thread.

    The folder links to the real files of ``$KINETICS_I3D_DATA`` (read-only);
    ``tamper(relative)`` replaces one with a copy that has one flipped byte and
    ``cut_off(relative)`` makes the server announce the full size but close the
    connection half-way. ``requests`` lists every path asked for.
    """

    def __init__(self, root: Path):
        self.root = root
        source = data_dir()
        for relative in presets.deepmind_files():
            if (source / relative).is_file():
                (root / relative).parent.mkdir(parents=True, exist_ok=True)
                (root / relative).symlink_to(source / relative)
        self.requests: list[str] = []
        self.cut_offs: set[str] = set()
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):  # noqa: N802 - http.server API
                relative = self.path.lstrip("/")
                server.requests.append(relative)
                if relative in server.cut_offs:
                    body = (server.root / relative).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                super().do_GET()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def tamper(self, relative: str, position: int = 1000) -> None:
        target = self.root / relative
        data = bytearray(target.read_bytes())
        data[position] ^= 0x01
        target.unlink()
        target.write_bytes(bytes(data))

    def cut_off(self, relative: str) -> None:
        self.cut_offs.add(relative)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def files_under(folder: Path) -> list[Path]:
    """Every file under ``folder`` (empty if it does not exist)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# -- contract helpers, one per concern, for every model the package builds ----


def run_model_test(
    model: keras.Model,
    input_shape: tuple,
    expected_output_shape: tuple,
    tmp_path: Path,
    endpoints: dict[str, tuple] | None = None,
    batch_size: int = 2,
    atol: float = 1e-5,
) -> None:
    """The model contract: eager call, ``predict``, ``predict`` on a ``tf.data`` dataset,
    ``get_config``/``from_config`` and a ``.keras`` round trip all agree; endpoint shapes.

    Args:
        model: the model under test.
        input_shape: one example's shape, e.g. ``(8, 64, 64, 3)``, or a dict of
            them by input name (a model of several inputs).
        expected_output_shape: one example's output shape.
        tmp_path: a folder for the ``.keras`` file.
        endpoints: ``{layer name: output shape without batch}`` to check.
        batch_size: examples per batch.
        atol: tolerance between the code paths.
    """
    import tensorflow as tf

    rng = np.random.default_rng(0)
    if isinstance(input_shape, dict):
        x = {name: rng.uniform(-1, 1, (batch_size, *shape)).astype("float32") for name, shape in input_shape.items()}
    else:
        x = rng.uniform(-1, 1, (batch_size, *input_shape)).astype("float32")
    eager = keras.ops.convert_to_numpy(model(x, training=False))
    assert eager.shape == (batch_size, *expected_output_shape)
    assert np.all(np.isfinite(eager))
    np.testing.assert_allclose(model.predict(x, batch_size=batch_size, verbose=0), eager, atol=atol)
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(1)
    np.testing.assert_allclose(model.predict(dataset, verbose=0), eager, atol=atol)

    clone = model.__class__.from_config(model.get_config())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clone(x, training=False)), eager, atol=atol)

    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(restored(x, training=False)), eager, atol=atol)

    for name, shape in (endpoints or {}).items():
        assert tuple(model.get_layer(name).output.shape[1:]) == tuple(shape), name


def run_weights_file_test(model: keras.Model, build, tmp_path: Path, save=None) -> None:
    """The weights-file contract: save the weights, then ``build(weights=path)`` gives equal weights.

    Args:
        model: a model with non-trivial weights.
        build: a builder taking ``weights=`` (e.g. ``functools.partial(I3D, classes=7)``).
        tmp_path: a folder for the file.
        save: ``save(model, path)`` writing the file; default ``model.save_weights``
            (`keras_i3d.save_inflated_weights` for inflated models, whose file
            carries the architecture in the JSON beside it).
    """
    path = tmp_path / "model.weights.h5"
    if save is None:
        model.save_weights(path)
    else:
        save(model, path)
    again = build(weights=str(path))
    assert len(again.weights) == len(model.weights)
    for a, b in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b), err_msg=a.path)


def randomize_batch_norm(model: keras.Model, seed: int = 0) -> None:
    """Gives every BatchNormalization of ``model`` (nested ones too) random statistics, scale and offset."""
    rng = np.random.default_rng(seed)
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            for variable in layer.weights:
                kind, shape = variable.path.rsplit("/", 1)[-1], tuple(variable.shape)
                low_high = (0.5, 2.0) if "variance" in kind else (0.5, 1.5) if "gamma" in kind else None
                value = rng.uniform(*low_high, shape) if low_high else rng.normal(0.0, 0.3, shape)
                variable.assign(value.astype(variable.dtype))


def temp_files(folder: Path) -> list[Path]:
    """The temporary files (``.tmp`` in the name) left under ``folder``."""
    return [p for p in folder.rglob("*") if ".tmp" in p.name] if folder.exists() else []
