"""SavedModel export for TF Serving, from a model built on any Keras backend.

`export_saved_model` writes TF Serving's layout, ``export_dir/<version>/``,
with two signatures (see `describe_signatures`): ``serving_default`` takes
preprocessed float clips, ``classify`` takes raw uint8 frames of any size and
runs `keras_i3d.preprocess_frames` (DeepMind's resize and centre crop) inside
the graph, answering with label names, which are embedded in the graph.

The route: a SavedModel is a TensorFlow graph, and Keras can trace one only
from a model running on the TensorFlow backend (its own ``model.export``
fails on JAX and PyTorch). So a model built on JAX or PyTorch is saved as a
``.keras`` file (config and weights) and rebuilt on the TensorFlow backend
in a subprocess, which traces and writes the SavedModel; on TensorFlow this
happens in the calling process. Either way the written SavedModel is
reloaded and run on a test clip, and its logits are compared with the
original model's, on the original backend.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
from tqdm.auto import tqdm

from keras_i3d.applications.i3d import load_model
from keras_i3d.errors import ExportError, InputError, KerasI3DError
from keras_i3d.model import clip_checks
from keras_i3d.model.architecture import LOGITS_LAYER
from keras_i3d.preprocessing import CROP_SIZE, SHORT_SIDE, load_labels, preprocess_frames
from keras_i3d.presets import DATASET_CLASSES, STREAM_CHANNELS
from keras_i3d.utils.files import ensure_writable_dir, scratch_dir
from keras_i3d.utils.quiet import quiet_framework_startup
from keras_i3d.utils.tf_loader import SERVING_EXTRA, import_tensorflow, tensorflow_installed

#: Largest relative difference (to the largest logit) allowed between the SavedModel and the model.
VERIFY_TOLERANCE = 1e-4
#: Labels ``classify`` returns unless told otherwise.
DEFAULT_TOP_K = 5
#: Frames of the test clip the export is verified on.
_VERIFY_FRAMES = 8
_STREAM_OF_CHANNELS = {channels: stream for stream, channels in STREAM_CHANNELS.items()}


@dataclasses.dataclass(frozen=True)
class ServingOptions:
    """What the signatures need besides the model (JSON-serializable, for the TensorFlow subprocess).

    Attributes:
        labels: class names, in logit order.
        top_k: how many labels ``classify`` returns.
        size: height and width of the clips (the crop of ``classify``).
        short_side: ``classify`` resizes frames to this short side before cropping.
        logits_layer: the name of the layer whose output is the logits.
    """

    labels: tuple[str, ...]
    top_k: int
    size: int
    short_side: int
    logits_layer: str


def export_saved_model(
    model: keras.Model,
    export_dir: str | os.PathLike,
    version: int | None = None,
    top_k: int | None = None,
    labels: Sequence[str] | None = None,
    short_side: int | None = None,
    logits_layer: str = LOGITS_LAYER,
    verify: bool = True,
    progress: bool = False,
) -> Path:
    """Exports ``model`` as a SavedModel that TF Serving loads: ``export_dir/<version>/``.

    Works for a model built on any backend (see the module docstring for the
    route). Signatures (``-1`` batch and frame dimensions everywhere):

    - ``serving_default``: float32 clips in ``[-1, 1]``, ``(batch, frames,
      size, size, C)``, named ``clips`` (``rgb`` and ``flow`` for a
      `TwoStreamI3D`) -> ``logits``, ``probabilities``.
    - ``classify``: raw frames of any size -> `preprocess_frames` in the
      graph -> ``labels`` (top ``top_k`` names, best first), ``scores``
      (their probabilities), ``class_ids``, ``logits``. RGB comes as uint8
      ``frames`` ``(batch, frames, height, width, 3)``; flow as float32 TV-L1
      pixels ``(batch, frames, height, width, 2)``, named ``flow``. A
      `TwoStreamI3D` takes ``rgb`` and ``flow``; ``flow`` may have one frame
      less than ``rgb`` (flow between consecutive frames), its last one is
      then repeated, as `predict_video` does.

    Inputs the network cannot take (wrong rank or channels, zero frames,
    frames under 32x32, streams of different batch sizes, NaN) fail with an
    ``InvalidArgumentError`` whose message names the problem.

    Args:
        model: an `I3D` or `TwoStreamI3D` model with its classifier, or any
            functional Keras model with a layer named ``logits_layer``. Its
            frame count may be fixed; the export takes any.
        export_dir: the model's base path (TF Serving's ``--model_base_path``).
        version: the version folder to write; default one more than the
            largest there (1 for a new folder). An existing version is
            never overwritten.
        top_k: labels ``classify`` returns per clip; default 5 (or all, for fewer classes).
        labels: class names in logit order; default the Kinetics-400 or -600
            names for 400 or 600 classes. Embedded in the SavedModel.
        short_side: ``classify`` resizes frames to this short side before the
            centre crop; default 256 for 224 clips (scaled with the model's size).
        logits_layer: the layer whose output is the logits (``"Logits"`` in
            keras_i3d's models, whatever the classifier activation).
        verify: reload the SavedModel, run it on a random clip and compare
            its logits with ``model``'s (within `VERIFY_TOLERANCE`).
        progress: show a progress bar of the steps.

    Returns:
        The version folder written.

    Raises:
        ValueError: for bad arguments, or a model without ``logits_layer``.
        ExportError: if ``version`` exists, or tracing, writing or verifying failed.
        FileAccessError: if ``export_dir`` cannot be created or written.
        MissingExtraError: if TensorFlow is not installed.
    """
    options = serving_options(model, top_k=top_k, labels=labels, short_side=short_side, logits_layer=logits_layer)
    if version is not None and (isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1):
        raise ValueError(f"`version` must be a positive int or None; got {version!r}.")
    export_dir = Path(export_dir)
    if (export_dir / "saved_model.pb").is_file():
        raise ValueError(
            f"{export_dir} is a SavedModel version folder; pass its parent, the model's base path "
            "(TF Serving's --model_base_path), which holds the numbered versions."
        )
    if not tensorflow_installed():
        import_tensorflow("Exporting a SavedModel")  # raises MissingExtraError
    export_dir = ensure_writable_dir(export_dir)
    check_version_free(export_dir, version)
    steps = ["trace and write (TensorFlow)", "verify", "publish"]
    if keras.backend.backend() != "tensorflow":
        steps.insert(0, f"save for TensorFlow ({keras.backend.backend()})")
    with (
        tqdm(total=len(steps), desc="export", unit="step", disable=not progress, leave=False) as bar,
        scratch_dir(export_dir, "saved_model") as scratch,
    ):
        target = scratch / "saved_model"
        clip = verification_clip(model, options) if verify else None
        bar.set_postfix_str(steps[0])
        if keras.backend.backend() == "tensorflow":
            served = write_saved_model(model, target, options, clip)
        else:
            served = _write_in_tensorflow_process(model, target, options, clip, scratch, bar)
        bar.update()
        bar.set_postfix_str("verify")
        if clip is not None:
            _compare(served, _logits_model(model, logits_layer)(clip, training=False))
        bar.update()
        final = _publish(target, export_dir, version)
        bar.update()
    return final


def serving_options(
    model: keras.Model,
    top_k: int | None = None,
    labels: Sequence[str] | None = None,
    short_side: int | None = None,
    logits_layer: str = LOGITS_LAYER,
) -> ServingOptions:
    """Checks the export arguments against ``model``; returns the `ServingOptions`.

    Raises:
        ValueError: for a model without ``logits_layer``, a clip size that is
            not fixed and square, labels that do not match the classes, or a
            bad ``top_k`` or ``short_side``.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"`model` must be a keras.Model; got {type(model).__name__}.")
    names = [layer.name for layer in model.layers]
    if logits_layer not in names:
        raise ValueError(
            f"The model has no layer named {logits_layer!r} to take logits from (built with include_top=False?). "
            "Export a model with a classifier, or name its logits layer with `logits_layer`."
        )
    classes = model.get_layer(logits_layer).output.shape[-1]
    if labels is None:
        by_classes = {n: dataset for dataset, n in DATASET_CLASSES.items()}
        if classes not in by_classes:
            raise ValueError(
                f"The model has {classes} classes, not Kinetics': pass `labels`, one name per class "
                "(keras-i3d export --labels FILE, one per line)."
            )
        labels = load_labels(by_classes[classes])
    if isinstance(labels, str) or not all(isinstance(label, str) for label in labels):
        raise ValueError("`labels` must be a sequence of str, one per class.")
    labels = tuple(labels)
    if len(labels) != classes:
        raise ValueError(f"`labels` has {len(labels)} names; the model has {classes} classes.")
    if top_k is None:
        top_k = min(DEFAULT_TOP_K, classes)
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= classes:
        raise ValueError(f"`top_k` must be an int from 1 to the {classes} classes; got {top_k!r}.")
    sizes = {tuple(tensor.shape[2:4]) for tensor in model.inputs}
    if len(sizes) != 1 or None in next(iter(sizes)):
        size = CROP_SIZE
    else:
        height, width = next(iter(sizes))
        if height != width:
            raise ValueError(f"Serving takes square clips (DeepMind's centre crop); the model takes {height}x{width}.")
        size = int(height)
    for tensor in model.inputs:
        if tensor.shape[-1] not in _STREAM_OF_CHANNELS:
            raise ValueError(f"Model input {tensor.name!r} has {tensor.shape[-1]} channels; serving takes 3 or 2.")
    if short_side is None:
        short_side = SHORT_SIDE if size == CROP_SIZE else round(size * SHORT_SIDE / CROP_SIZE)
    if isinstance(short_side, bool) or not isinstance(short_side, (int, np.integer)) or short_side < size:
        raise ValueError(f"`short_side` must be an int of at least the clip size ({size}); got {short_side!r}.")
    return ServingOptions(labels, int(top_k), size, int(short_side), logits_layer)


def verification_clip(model: keras.Model, options: ServingOptions) -> dict[str, np.ndarray]:
    """A fixed random clip (per model input) to compare the SavedModel with the model on."""
    rng = np.random.default_rng(0)
    frames = model.inputs[0].shape[1] or _VERIFY_FRAMES
    return {
        _input_name(tensor, len(model.inputs)): rng.uniform(
            -1, 1, (1, frames, options.size, options.size, tensor.shape[-1])
        ).astype(np.float32)
        for tensor in model.inputs
    }


def _input_name(tensor, count: int) -> str:
    """The signature input name of a model input: ``clips``, or the stream (``rgb``/``flow``) of several."""
    return "clips" if count == 1 else _STREAM_OF_CHANNELS[tensor.shape[-1]]


def _logits_model(model: keras.Model, logits_layer: str):
    """Calls ``model``'s graph up to ``logits_layer``, taking the signature's input names."""
    sub = keras.Model(model.inputs, model.get_layer(logits_layer).output)  # called with a list, in this order

    def call(inputs: dict, training: bool = False):
        return sub([inputs[_input_name(t, len(model.inputs))] for t in model.inputs], training=training)

    return call


def _compare(served: np.ndarray, expected) -> None:
    expected = keras.ops.convert_to_numpy(expected)
    scale = max(float(np.abs(expected).max()), 1e-6)
    error = float(np.abs(np.asarray(served) - expected).max()) / scale
    if not error <= VERIFY_TOLERANCE:
        raise ExportError(
            f"The SavedModel's logits differ from the model's by {error:.3g} (relative to the largest logit; "
            f"tolerance {VERIFY_TOLERANCE:g}). Nothing was published."
        )


# -- the TensorFlow side ----------------------------------------------------------------------------------


def _free_frames(config):
    """A copy of a model config that takes any number of frames.

    Frees the frame axis of every 5D shape the config records: the
    ``InputLayer`` batch shapes, and the input shapes layers were built with
    (``build_config``), which layers such as ``ClipShapeCheck`` take as the
    clip shape they accept.
    """
    if isinstance(config, dict):
        return {
            key: _free_shape(value) if key in ("batch_shape", "input_shape") else _free_frames(value)
            for key, value in config.items()
        }
    if isinstance(config, (list, tuple)):
        return [_free_frames(value) for value in config]
    return config


def _free_shape(shape):
    """``shape`` (or each of several shapes) with the frame axis of 5D shapes set to ``None``."""
    if isinstance(shape, dict):
        return {key: _free_shape(value) for key, value in shape.items()}
    if isinstance(shape, (list, tuple)) and shape and all(isinstance(s, (list, tuple, dict)) for s in shape):
        return [_free_shape(s) for s in shape]
    if isinstance(shape, (list, tuple)) and len(shape) == 5:
        return [shape[0], None, *shape[2:]]
    return shape


def _serving_network(model: keras.Model) -> keras.Model:
    """A copy of ``model`` (same weights) that takes any number of frames."""
    try:
        network = model.__class__.from_config(_free_frames(model.get_config()))
        network.set_weights(model.get_weights())
    except Exception as e:
        raise ExportError(
            f"Cannot rebuild {model.__class__.__name__} {model.name!r} from its config for export: {e}. "
            "Export functional models (I3D, TwoStreamI3D, keras.Model(inputs, outputs)) of serializable layers."
        ) from e
    return network


def write_saved_model(
    model: keras.Model, target: str | os.PathLike, options: ServingOptions, clip: dict | None = None
) -> np.ndarray | None:
    """Traces and writes the SavedModel (TensorFlow backend only); runs the reloaded one on ``clip``.

    Args:
        model: the model, built on the TensorFlow backend.
        target: the SavedModel folder to create.
        options: see `ServingOptions`.
        clip: inputs by signature name for ``serving_default``, or ``None``.

    Returns:
        The reloaded SavedModel's logits for ``clip`` (``None`` without a clip).
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError("write_saved_model runs on the TensorFlow backend; use export_saved_model.")
    tf = import_tensorflow("Exporting a SavedModel")
    network = _serving_network(model)
    logits_of = _logits_model(network, options.logits_layer)
    streams = model_streams(network)
    labels = tf.constant(list(options.labels))
    size = options.size

    def outputs(logits) -> dict:
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    float_specs = [tf.TensorSpec([None, None, size, size, c], tf.float32, name=name) for name, c in streams.items()]

    @tf.function(input_signature=float_specs)
    def serving_default(*clips):
        inputs = dict(zip(streams, clips, strict=True))
        checked = _checked_inputs(tf, inputs, streams, "serving_default", raw=False)
        return outputs(logits_of(checked, training=False))

    raw_names = {name: _raw_name(name, streams) for name in streams}
    raw_specs = [
        tf.TensorSpec([None, None, None, None, c], tf.uint8 if c == 3 else tf.float32, name=raw_names[name])
        for name, c in streams.items()
    ]

    @tf.function(input_signature=raw_specs)
    def classify(*frames):
        inputs = _checked_inputs(tf, dict(zip(streams, frames, strict=True)), streams, "classify", raw=True)
        if "rgb" in inputs and "flow" in inputs:
            inputs["flow"] = _pad_flow(tf, inputs["flow"], tf.shape(inputs["rgb"])[1])
        clips = {
            name: preprocess_frames(x, _STREAM_OF_CHANNELS[streams[name]], size=size, short_side=options.short_side)
            for name, x in inputs.items()
        }
        logits = logits_of(clips, training=False)
        probabilities = tf.nn.softmax(logits)
        scores, class_ids = tf.math.top_k(probabilities, k=options.top_k)
        return {"labels": tf.gather(labels, class_ids), "scores": scores, "class_ids": class_ids, "logits": logits}

    module = tf.Module()
    module.network_variables = [variable.value for variable in network.variables]
    signatures = {
        "serving_default": serving_default.get_concrete_function(),
        "classify": classify.get_concrete_function(),
    }
    target = Path(target)
    tf.saved_model.save(module, str(target), signatures=signatures)
    if clip is None:
        return None
    reloaded = tf.saved_model.load(str(target)).signatures["serving_default"]
    return reloaded(**{name: tf.constant(value) for name, value in clip.items()})["logits"].numpy()


def _raw_name(name: str, streams: dict[str, int]) -> str:
    """The ``classify`` input name: ``frames`` (RGB) or ``flow`` for one stream, the stream's name for several."""
    if len(streams) > 1:
        return name
    return "frames" if streams[name] == 3 else "flow"


def _checked_inputs(tf, inputs: dict, streams: dict, signature: str, raw: bool) -> dict:
    """``inputs`` behind graph assertions whose messages name what is wrong with them."""
    checked = {}
    batches = []
    for name, given in inputs.items():
        channels = streams[name]
        label = _raw_name(name, streams) if raw else name
        # EnsureShape checks at run time (TF Serving feeds tensors without checking them).
        x = tf.ensure_shape(given, [None, None, None, None, channels] if raw else given.shape)
        shape = tf.shape(x)
        frames, height, width = shape[1], shape[2], shape[3]
        where = f"{signature}: `{label}`"
        shape_text = tf.strings.join(["(", tf.strings.reduce_join(tf.strings.as_string(shape), separator=", "), ")"])
        checks = [
            _assert(tf, shape[0] >= 1, where, " is an empty batch, shape ", shape_text, "; send at least one clip."),
            _assert(tf, frames >= clip_checks.MIN_FRAMES, where, " has no frames, shape ", shape_text,
                    f"; I3D needs at least {clip_checks.MIN_FRAMES}."),
        ]  # fmt: skip
        if raw:
            small = tf.logical_or(height < clip_checks.MIN_SIZE, width < clip_checks.MIN_SIZE)
            checks.append(
                _assert(
                    tf,
                    tf.logical_not(small),
                    where,
                    " frames are too small, shape ",
                    shape_text,
                    f"; they must be at least {clip_checks.MIN_SIZE}x{clip_checks.MIN_SIZE} pixels.",
                )  # fmt: skip
            )
        if x.dtype.is_floating:
            checks.append(_assert(tf, tf.reduce_all(tf.math.is_finite(x)), where, " has NaN or infinite values."))
        with tf.control_dependencies(checks):
            checked[name] = tf.identity(x)
        batches.append(shape[0])
    if len(batches) > 1:
        names = " and ".join(f"`{_raw_name(n, streams) if raw else n}`" for n in inputs)
        same = tf.reduce_all(tf.equal(tf.stack(batches), batches[0]))
        got = tf.strings.reduce_join(tf.strings.as_string(tf.stack(batches)), separator=" and ")
        with tf.control_dependencies(
            [_assert(tf, same, f"{signature}: {names}", " must have the same batch size; got ", got, ".")]
        ):
            checked = {name: tf.identity(x) for name, x in checked.items()}
    return checked


def _assert(tf, condition, *message):
    """A graph assertion whose message is one sentence (pieces: str or string tensors)."""
    return tf.debugging.Assert(condition, [tf.strings.join(list(message))])


def _pad_flow(tf, flow, rgb_frames):
    """Flow of ``rgb_frames`` or ``rgb_frames - 1`` frames -> ``rgb_frames`` (the last one repeated)."""
    missing = rgb_frames - tf.shape(flow)[1]
    flow_frames = tf.strings.as_string(tf.shape(flow)[1])
    check = _assert(
        tf, tf.logical_or(tf.equal(missing, 0), tf.equal(missing, 1)),
        "classify: `flow` must have as many frames as `rgb`, or one less (flow between consecutive frames); got ",
        flow_frames, " flow and ", tf.strings.as_string(rgb_frames), " rgb frames.",
    )  # fmt: skip
    with tf.control_dependencies([check]):
        return tf.concat([flow, tf.repeat(flow[:, -1:], missing, axis=1)], axis=1)


# -- the subprocess route (JAX, PyTorch) ---------------------------------------------------------------------


def _write_in_tensorflow_process(model, target: Path, options: ServingOptions, clip, scratch: Path, bar) -> np.ndarray:
    """Saves ``model`` as ``.keras`` and has a TensorFlow-backend process write the SavedModel."""
    model_file = scratch / "model.keras"
    with quiet_framework_startup():  # Keras' saving code imports TensorFlow (for tf.io.gfile) when it is installed
        model.save(model_file)
    bar.update()
    bar.set_postfix_str("trace and write (TensorFlow)")
    request = {
        "model": str(model_file),
        "target": str(target),
        "options": dataclasses.asdict(options),
        "clip": None,
        "result": str(scratch / "result.json"),
        "logits": str(scratch / "logits.npy"),
    }
    if clip is not None:
        request["clip"] = {}
        for name, value in clip.items():
            np.save(scratch / f"clip_{name}.npy", value)
            request["clip"][name] = str(scratch / f"clip_{name}.npy")
    request_file = scratch / "request.json"
    request_file.write_text(json.dumps(request))
    env = dict(os.environ, KERAS_BACKEND="tensorflow")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    command = [
        sys.executable,
        "-c",
        "import sys; from keras_i3d.serving.export import _worker; sys.exit(_worker(sys.argv[1]))",
    ]
    process = subprocess.Popen(
        [*command, str(request_file)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = process.communicate()
    finally:
        if process.poll() is None:  # interrupted: do not leave it writing
            process.kill()
            process.wait()
    result_file = Path(request["result"])
    result = json.loads(result_file.read_text()) if result_file.is_file() else None
    if process.returncode != 0 or result is None or "error" in result:
        if result is not None and "error" in result:
            raise ExportError(f"Exporting in the TensorFlow process failed: {result['error']}")
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise ExportError(f"The TensorFlow export process failed (exit status {process.returncode}):\n{tail}")
    return np.load(request["logits"]) if clip is not None else None


def _worker(request_file: str) -> int:
    """The TensorFlow-backend subprocess: reads the request, writes the SavedModel and the result."""
    request = json.loads(Path(request_file).read_text())
    result_file = Path(request["result"])
    try:
        options = ServingOptions(**{**request["options"], "labels": tuple(request["options"]["labels"])})
        model = load_model(request["model"])
        clip = None
        if request["clip"] is not None:
            clip = {name: np.load(path) for name, path in request["clip"].items()}
        logits = write_saved_model(model, request["target"], options, clip)
        if logits is not None:
            np.save(request["logits"], logits)
    except (KerasI3DError, InputError, ValueError, OSError, RuntimeError) as e:
        result_file.write_text(json.dumps({"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}))
        return 1
    result_file.write_text(json.dumps({"ok": True}))
    return 0


# -- publishing ------------------------------------------------------------------------------------------------


def existing_versions(export_dir: str | os.PathLike) -> list[int]:
    """The version numbers (all-digit folder names) in ``export_dir``, ascending."""
    folder = Path(export_dir)
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir())


def check_version_free(export_dir: str | os.PathLike, version: int | None) -> None:
    """Raises `ExportError` if the requested ``version`` already exists in ``export_dir`` (``None``: any is free)."""
    if version is not None and (Path(export_dir) / str(version)).exists():
        raise ExportError(f"{Path(export_dir) / str(version)} exists; versions are never overwritten. Pick another.")


def _publish(source: Path, export_dir: Path, version: int | None) -> Path:
    """Renames the finished SavedModel to its version folder (atomic; never over an existing version)."""
    if not (source / "saved_model.pb").is_file():
        raise ExportError(f"TensorFlow wrote no saved_model.pb in {source}.")
    for _ in range(1000):
        number = version if version is not None else max(existing_versions(export_dir), default=0) + 1
        final = export_dir / str(number)
        if final.exists():  # os.rename would replace an empty folder
            check_version_free(export_dir, version)  # raises for a requested version
            continue
        try:
            os.rename(source, final)
        except OSError as e:
            if e.errno in (errno.EEXIST, errno.ENOTEMPTY) and version is None:
                continue  # another export took this number meanwhile
            raise ExportError(f"Cannot publish the SavedModel as {final}: {e.strerror or e}.") from e
        return final
    raise ExportError(f"Cannot find a free version number in {export_dir}.")


def describe_signatures(options: ServingOptions, streams: dict[str, int]) -> list[str]:
    """One line per signature: inputs (dtype, shape with -1 for any) -> outputs."""
    size = options.size
    default_inputs = ", ".join(f"{name} float32 (-1, -1, {size}, {size}, {c})" for name, c in streams.items())
    raw_inputs = ", ".join(
        f"{_raw_name(name, streams)} {'uint8' if c == 3 else 'float32'} (-1, -1, -1, -1, {c})"
        for name, c in streams.items()
    )
    return [
        f"serving_default: {default_inputs} -> logits, probabilities",
        f"classify: {raw_inputs} -> labels, scores, class_ids, logits (top {options.top_k})",
    ]


def model_streams(model: keras.Model) -> dict[str, int]:
    """Signature input names of ``model`` and their channels (RGB before flow, DeepMind's order)."""
    streams = {_input_name(t, len(model.inputs)): int(t.shape[-1]) for t in model.inputs}
    return dict(sorted(streams.items(), key=lambda item: -item[1]))


__all__ = [
    "SERVING_EXTRA",
    "ServingOptions",
    "check_version_free",
    "describe_signatures",
    "existing_versions",
    "export_saved_model",
    "model_streams",
    "serving_options",
    "write_saved_model",
]
