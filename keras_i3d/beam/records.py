"""A video's features as ``tf.train.SequenceExample`` bytes, encoded without TensorFlow.

Feature names follow MediaPipe's MediaSequence, with the prefix ``I3D`` for the
features (so readers of that format find ``I3D/feature/floats`` where they look):

Context:
    ``clip/media_id`` (the output name), ``clip/data_path`` (the source),
    ``clip/label/string`` (when the CSV gave one), ``clip/start/timestamp`` and
    ``clip/end/timestamp`` (microseconds, for a CSV's range), ``I3D/feature/dimensions``
    (one window's shape: ``[C]`` pooled), ``I3D/feature/rate`` (windows per second),
    ``I3D/feature/endpoint`` and ``I3D/feature/stream``.
Feature lists (one entry per window):
    ``I3D/feature/floats`` (the window's features, flattened), ``I3D/feature/timestamp``
    (its start, microseconds) and ``I3D/feature/end_timestamp`` (its end).

The protobuf wire format is written here directly (a few varints and lengths); the
tests parse the bytes with TensorFlow's own ``tf.train.SequenceExample``.
"""

from __future__ import annotations

import numpy as np

PREFIX = "I3D"


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64 two's complement, as protobuf encodes negative int64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def bytes_feature(values: list[bytes]) -> bytes:
    """A ``Feature`` holding a ``BytesList``."""
    return _field(1, b"".join(_field(1, v) for v in values))


def float_feature(values) -> bytes:
    """A ``Feature`` holding a packed ``FloatList``."""
    packed = np.asarray(values, "<f4").tobytes()
    return _field(2, _field(1, packed) if packed else b"")


def int64_feature(values) -> bytes:
    """A ``Feature`` holding a packed ``Int64List``."""
    packed = b"".join(_varint(int(v)) for v in values)
    return _field(3, _field(1, packed) if packed else b"")


def _map(entries: dict[str, bytes]) -> bytes:
    """A protobuf ``map<string, message>`` (field 1), entries sorted by key."""
    return b"".join(_field(1, _field(1, key.encode()) + _field(2, value)) for key, value in sorted(entries.items()))


def sequence_example(context: dict[str, bytes], feature_lists: dict[str, list[bytes]]) -> bytes:
    """``SequenceExample`` bytes from encoded context features and lists of encoded features."""
    lists = {key: b"".join(_field(1, f) for f in features) for key, features in feature_lists.items()}
    return _field(1, _map(context)) + _field(2, _map(lists))


def _microseconds(seconds: float) -> int:
    return round(seconds * 1e6)


def features_example(values: np.ndarray, sidecar: dict, endpoint: str, stream: str, rate: float) -> bytes:
    """One video's features (``(windows, ...)``) and its sidecar as a ``SequenceExample``."""
    values = np.asarray(values, np.float32)
    context = {
        "clip/media_id": bytes_feature([sidecar["name"].encode()]),
        "clip/data_path": bytes_feature([sidecar["source"].encode()]),
        f"{PREFIX}/feature/dimensions": int64_feature(values.shape[1:]),
        f"{PREFIX}/feature/rate": float_feature([rate]),
        f"{PREFIX}/feature/endpoint": bytes_feature([endpoint.encode()]),
        f"{PREFIX}/feature/stream": bytes_feature([stream.encode()]),
    }
    if sidecar.get("label"):
        context["clip/label/string"] = bytes_feature([sidecar["label"].encode()])
    if sidecar.get("start") is not None:
        context["clip/start/timestamp"] = int64_feature([_microseconds(sidecar["start"])])
    if sidecar.get("end") is not None:
        context["clip/end/timestamp"] = int64_feature([_microseconds(sidecar["end"])])
    lists = {
        f"{PREFIX}/feature/floats": [float_feature(window.ravel()) for window in values],
        f"{PREFIX}/feature/timestamp": [int64_feature([_microseconds(t)]) for t in sidecar["starts"]],
        f"{PREFIX}/feature/end_timestamp": [int64_feature([_microseconds(t)]) for t in sidecar["ends"]],
    }
    return sequence_example(context, lists)


__all__ = ["bytes_feature", "features_example", "float_feature", "int64_feature", "sequence_example"]
