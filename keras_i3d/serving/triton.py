"""NVIDIA Triton's model configuration: ``config.pbtxt`` and ``labels.txt`` beside the versions.

A Triton model folder is ``<model>/config.pbtxt`` plus numbered versions,
``<model>/<version>/model.onnx`` (platform ``onnxruntime_onnx``) or
``<model>/<version>/model.savedmodel/`` (``tensorflow_savedmodel``). The
config is checked against Triton's own model-config schema, the
``ModelConfig`` protobuf that ships in ``tritonclient`` (the only module that
imports it). The config leaves out ``name``: Triton then takes the folder's
name, so the folder can be renamed.
"""

from __future__ import annotations

from collections.abc import Sequence

from keras_i3d.errors import ExportError, MissingExtraError

#: What installs Triton's client and its model-config protos.
TRITON_EXTRA = 'pip install "keras-i3d[triton]"'

#: Triton's platform of each export format.
PLATFORMS = {"onnx": "onnxruntime_onnx", "savedmodel": "tensorflow_savedmodel"}

#: The file a version folder holds, by format (Triton's default model file names).
MODEL_FILES = {"onnx": "model.onnx", "savedmodel": "model.savedmodel"}

CONFIG_FILE = "config.pbtxt"
LABELS_FILE = "labels.txt"


def triton_config(
    platform_format: str, streams: dict[str, int], size: int, classes: int, max_batch_size: int = 0
) -> str:
    """The text of ``config.pbtxt`` for an exported model.

    Args:
        platform_format: ``"onnx"`` or ``"savedmodel"`` (the file Triton loads).
        streams: input names and channels (``{"clips": 3}``, or ``rgb`` and ``flow``).
        size: the clips' height and width.
        classes: logits per clip.
        max_batch_size: Triton's ``max_batch_size``. 0 (the default): the
            batch axis is part of each request's shape, as the model takes it;
            above 0, Triton may batch requests together (``dynamic_batching``),
            which needs requests of one frame count.

    Returns:
        The configuration in protobuf text format, validated with `check_triton_config`.
    """
    if platform_format not in PLATFORMS:
        raise ValueError(f"`platform_format` must be one of {tuple(PLATFORMS)}; got {platform_format!r}.")
    if isinstance(max_batch_size, bool) or not isinstance(max_batch_size, int) or max_batch_size < 0:
        raise ValueError(f"`max_batch_size` must be an int of at least 0; got {max_batch_size!r}.")
    batch = [] if max_batch_size else [-1]
    lines = [
        "# I3D exported by keras_i3d. Triton takes the model's name from this folder's name.",
        f'platform: "{PLATFORMS[platform_format]}"',
        f"max_batch_size: {max_batch_size}",
        "input [",
    ]
    entries = [
        f'  {{ name: "{name}" data_type: TYPE_FP32 dims: {_dims([*batch, -1, size, size, channels])} }}'
        for name, channels in streams.items()
    ]
    lines += [",\n".join(entries), "]", "output ["]
    lines.append(f'  {{ name: "logits" data_type: TYPE_FP32 dims: {_dims([*batch, classes])} }},')
    lines.append(
        f'  {{ name: "probabilities" data_type: TYPE_FP32 dims: {_dims([*batch, classes])} '
        f'label_filename: "{LABELS_FILE}" }}'
    )
    lines.append("]")
    if max_batch_size:
        lines.append("dynamic_batching { }")
    text = "\n".join(lines) + "\n"
    check_triton_config(text)
    return text


def _dims(values: Sequence[int]) -> str:
    return "[ " + ", ".join(str(v) for v in values) + " ]"


def check_triton_config(text: str):
    """Parses ``text`` with Triton's ``ModelConfig`` schema; returns the message.

    Raises:
        ExportError: if the text does not parse, or names no platform, inputs or outputs.
        MissingExtraError: if tritonclient is not installed.
    """
    try:
        from google.protobuf import text_format  # noqa: PLC0415 - with tritonclient's protos
        from tritonclient.grpc import model_config_pb2  # noqa: PLC0415 - optional
    except ImportError as e:
        raise MissingExtraError(
            f"Checking a Triton config.pbtxt needs tritonclient's protos, which are not installed: {TRITON_EXTRA}"
        ) from e
    config = model_config_pb2.ModelConfig()
    try:
        text_format.Parse(text, config)
    except text_format.ParseError as e:
        raise ExportError(f"The Triton config is not valid for Triton's ModelConfig schema: {e}") from e
    if not config.platform or not config.input or not config.output:
        raise ExportError("The Triton config names no platform, inputs or outputs.")
    return config


def labels_text(labels: Sequence[str]) -> str:
    """``labels.txt``: one class name per line, in logit order (Triton's classification extension)."""
    return "".join(f"{label}\n" for label in labels)
