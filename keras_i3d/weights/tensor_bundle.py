"""A NumPy reader of TensorFlow's checkpoint format (the V2 "tensor bundle").

A checkpoint ``<prefix>`` is two kinds of files:

- ``<prefix>.index``: an SSTable (LevelDB's table format). Each of its blocks
  ends with a compression byte and a masked CRC-32C; its keys are tensor names
  and its values ``BundleEntryProto`` messages (dtype, shape, shard, offset,
  size, masked CRC-32C of the tensor's bytes). The empty key holds a
  ``BundleHeaderProto`` (number of shards, endianness, format version).
- ``<prefix>.data-NNNNN-of-MMMMM``: the raw tensor bytes, back to back.

Nothing here needs TensorFlow. Every block and every tensor read is checked
against its CRC, and a truncated, corrupted or foreign file raises
`CheckpointError` saying which file and what is wrong.
"""

from __future__ import annotations

import dataclasses
import math
import os
import struct
from pathlib import Path

import numpy as np

from keras_i3d.errors import CheckpointError
from keras_i3d.utils.crc32c import crc32c, unmask

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48
_BLOCK_TRAILER_SIZE = 5
#: Newest tensor-bundle format version this reader understands.
_BUNDLE_VERSION = 1

#: TensorFlow ``DataType`` enum -> NumPy dtype (the numeric types).
_DTYPES = {
    1: np.float32,
    2: np.float64,
    3: np.int32,
    4: np.uint8,
    5: np.int16,
    6: np.int8,
    9: np.int64,
    10: np.bool_,
    17: np.uint16,
    19: np.float16,
    22: np.uint32,
    23: np.uint64,
}
_DTYPE_NAMES = {7: "string", 8: "complex64", 14: "bfloat16", 18: "complex128", 20: "resource", 21: "variant"}


def _varint(data: bytes, pos: int, where: str) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise CheckpointError(f"{where}: malformed varint (truncated or not a TensorFlow checkpoint).")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_fields(data: bytes, where: str) -> dict[int, list]:
    """Decodes a protobuf message into ``{field number: [values]}`` (no schema)."""
    fields: dict[int, list] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos, where)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos, where)
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos, where)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        else:
            raise CheckpointError(f"{where}: unsupported protobuf wire type {wire}.")
        if pos > len(data):
            raise CheckpointError(f"{where}: truncated protobuf message.")
        fields.setdefault(number, []).append(value)
    return fields


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the data files (a ``BundleEntryProto``).

    Attributes:
        name: the variable name, e.g. ``"RGB/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/b"``.
        dtype_enum: TensorFlow's ``DataType`` number (1 is float32).
        shape: the tensor shape.
        shard_id: which data file holds it.
        offset: byte offset in that file.
        size: number of bytes.
        masked_crc32c: TensorFlow's masked CRC-32C of those bytes.
        sliced: whether the tensor is stored as partitioned slices.
    """

    name: str
    dtype_enum: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    masked_crc32c: int
    sliced: bool = False

    @property
    def dtype_name(self) -> str:
        """NumPy name of the dtype (``"float32"``), or TensorFlow's for types NumPy lacks."""
        if self.dtype_enum in _DTYPES:
            return np.dtype(_DTYPES[self.dtype_enum]).name
        return _DTYPE_NAMES.get(self.dtype_enum, f"dtype#{self.dtype_enum}")


class TensorBundle:
    """Reads a TensorFlow V2 checkpoint with NumPy only.

    >>> bundle = TensorBundle("data/checkpoints/rgb_scratch/model.ckpt")
    >>> bundle.shapes()["RGB/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/b"]
    (400,)
    >>> bias = bundle.read("RGB/inception_i3d/Logits/Conv3d_0c_1x1/conv_3d/b")

    Args:
        prefix: the checkpoint prefix (``.../model.ckpt``; the ``.index`` and
            ``.data-*`` files sit beside it).
        check_data: check at once that the data files exist and are long
            enough. ``False`` reads names, dtypes and shapes from an index alone.

    Raises:
        CheckpointError: if the index is missing, truncated, corrupted, not a
            tensor bundle, of a newer format, or a data file is missing or
            shorter than the index says.
    """

    def __init__(self, prefix: str | os.PathLike, check_data: bool = True):
        self.prefix = Path(prefix)
        self.index_path = Path(f"{self.prefix}.index")
        try:
            data = self.index_path.read_bytes()
        except OSError as e:
            raise CheckpointError(f"Cannot read checkpoint index {self.index_path}: {e.strerror or e}.") from e
        self._where = str(self.index_path)
        records = self._read_table(data)
        if "" not in records:
            raise CheckpointError(
                f"{self.index_path} is an SSTable without a tensor-bundle header: not a TensorFlow V2 checkpoint."
            )
        self.num_shards, self.little_endian = self._parse_header(records.pop(""))
        self.entries: dict[str, TensorEntry] = {name: self._parse_entry(name, value) for name, value in records.items()}
        if check_data:
            self._check_data_files()

    # -- index -----------------------------------------------------------------
    def _read_block(self, data: bytes, offset: int, size: int, what: str) -> bytes:
        end = offset + size
        if end + _BLOCK_TRAILER_SIZE > len(data) - _FOOTER_SIZE:
            raise CheckpointError(f"{self._where}: {what} block lies beyond the end of the file (truncated index).")
        contents = data[offset:end]
        kind = data[end]
        (stored,) = struct.unpack("<I", data[end + 1 : end + 5])
        if crc32c(data[offset : end + 1]) != unmask(stored):
            raise CheckpointError(f"{self._where}: CRC-32C mismatch in the {what} block (the index is corrupted).")
        if kind != 0:
            raise CheckpointError(
                f"{self._where}: {what} block uses compression type {kind}; only uncompressed tables "
                "(what TensorFlow writes for checkpoints) are supported."
            )
        return contents

    def _block_records(self, block: bytes, what: str):
        if len(block) < 4:
            raise CheckpointError(f"{self._where}: {what} block too short.")
        (restarts,) = struct.unpack("<I", block[-4:])
        limit = len(block) - 4 - 4 * restarts
        if limit < 0:
            raise CheckpointError(f"{self._where}: {what} block has a bad restart array.")
        pos, key = 0, b""
        while pos < limit:
            shared, pos = _varint(block, pos, self._where)
            unshared, pos = _varint(block, pos, self._where)
            length, pos = _varint(block, pos, self._where)
            if shared > len(key) or pos + unshared + length > limit:
                raise CheckpointError(f"{self._where}: malformed entry in the {what} block.")
            key = key[:shared] + block[pos : pos + unshared]
            pos += unshared
            yield key, block[pos : pos + length]
            pos += length

    def _read_table(self, data: bytes) -> dict[str, bytes]:
        if len(data) < _FOOTER_SIZE:
            raise CheckpointError(
                f"{self._where} has {len(data)} bytes: too short to be a TensorFlow checkpoint index "
                "(truncated or not a checkpoint)."
            )
        footer = data[-_FOOTER_SIZE:]
        (magic,) = struct.unpack("<Q", footer[-8:])
        if magic != _TABLE_MAGIC:
            raise CheckpointError(
                f"{self._where} is not a TensorFlow checkpoint index (no SSTable magic number at its end; "
                "truncated, or another kind of file)."
            )
        pos = 0
        _, pos = _varint(footer, pos, self._where)  # metaindex offset (unused)
        _, pos = _varint(footer, pos, self._where)  # metaindex size
        index_offset, pos = _varint(footer, pos, self._where)
        index_size, pos = _varint(footer, pos, self._where)
        index_block = self._read_block(data, index_offset, index_size, "table index")
        records: dict[str, bytes] = {}
        for _, handle in self._block_records(index_block, "table index"):
            offset, p = _varint(handle, 0, self._where)
            size, _ = _varint(handle, p, self._where)
            for key, value in self._block_records(self._read_block(data, offset, size, "data"), "data"):
                try:
                    records[key.decode("utf-8")] = value
                except UnicodeDecodeError as e:
                    raise CheckpointError(f"{self._where}: a tensor name is not UTF-8 text.") from e
        return records

    def _parse_header(self, value: bytes) -> tuple[int, bool]:
        fields = _proto_fields(value, self._where)
        num_shards = fields.get(1, [0])[-1]
        endianness = fields.get(2, [0])[-1]
        version = _proto_fields(fields[3][-1], self._where) if 3 in fields else {}
        min_consumer = version.get(2, [0])[-1]
        if min_consumer > _BUNDLE_VERSION:
            raise CheckpointError(
                f"{self._where} needs a tensor-bundle reader of version >= {min_consumer}; this one reads "
                f"version {_BUNDLE_VERSION} (written by a newer TensorFlow)."
            )
        if num_shards < 1:
            raise CheckpointError(f"{self._where}: header says {num_shards} data shards.")
        return int(num_shards), endianness == 0

    def _parse_entry(self, name: str, value: bytes) -> TensorEntry:
        where = f"{self._where} entry {name!r}"
        fields = _proto_fields(value, where)
        shape: tuple[int, ...] = ()
        if 2 in fields:
            shape_fields = _proto_fields(fields[2][-1], where)
            if shape_fields.get(3, [0])[-1]:
                raise CheckpointError(f"{where}: the tensor's shape has unknown rank.")
            shape = tuple(_signed64(_proto_fields(d, where).get(1, [0])[-1]) for d in shape_fields.get(2, []))
        crc = fields.get(6, [b"\0\0\0\0"])[-1]
        return TensorEntry(
            name=name,
            dtype_enum=fields.get(1, [0])[-1],
            shape=shape,
            shard_id=fields.get(3, [0])[-1],
            offset=fields.get(4, [0])[-1],
            size=fields.get(5, [0])[-1],
            masked_crc32c=struct.unpack("<I", crc)[0],
            sliced=7 in fields,
        )

    # -- data ------------------------------------------------------------------
    def data_path(self, shard_id: int) -> Path:
        """The data file holding shard ``shard_id``."""
        return Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")

    def _check_data_files(self) -> None:
        needed: dict[int, int] = {}
        for entry in self.entries.values():
            if entry.shard_id >= self.num_shards:
                raise CheckpointError(
                    f"{self._where}: {entry.name!r} is in shard {entry.shard_id} of {self.num_shards}."
                )
            needed[entry.shard_id] = max(needed.get(entry.shard_id, 0), entry.offset + entry.size)
        for shard_id, size in sorted(needed.items()):
            path = self.data_path(shard_id)
            if not path.is_file():
                raise CheckpointError(f"Checkpoint {self.prefix} has an index but no data file {path.name}.")
            actual = path.stat().st_size
            if actual < size:
                raise CheckpointError(
                    f"{path} is truncated: it has {actual} bytes, the index needs {size} "
                    f"({size - actual} missing). Download the checkpoint again."
                )

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """``{tensor name: shape}`` of every tensor."""
        return {name: entry.shape for name, entry in self.entries.items()}

    def dtypes(self) -> dict[str, str]:
        """``{tensor name: dtype name}`` of every tensor."""
        return {name: entry.dtype_name for name, entry in self.entries.items()}

    def read(self, name: str) -> np.ndarray:
        """Reads one tensor, verifying its size and CRC-32C.

        Args:
            name: the tensor's full name.

        Returns:
            A NumPy array of the tensor's dtype and shape (native byte order).

        Raises:
            KeyError: if there is no such tensor.
            CheckpointError: if the bytes are missing or do not match their CRC,
                or the dtype has no NumPy equivalent.
        """
        if name not in self.entries:
            raise KeyError(f"{self.prefix} has no tensor {name!r}.")
        entry = self.entries[name]
        if entry.sliced:
            raise CheckpointError(f"{name!r} in {self.prefix} is a partitioned (sliced) variable; not supported.")
        if entry.dtype_enum not in _DTYPES:
            raise CheckpointError(
                f"{name!r} in {self.prefix} has dtype {entry.dtype_name}, which this reader does not read."
            )
        dtype = np.dtype(_DTYPES[entry.dtype_enum]).newbyteorder("<" if self.little_endian else ">")
        expected = dtype.itemsize * math.prod(entry.shape)
        if entry.size != expected:
            raise CheckpointError(
                f"{name!r} in {self.prefix}: the index says {entry.size} bytes, but {entry.dtype_name} "
                f"{entry.shape} needs {expected}."
            )
        path = self.data_path(entry.shard_id)
        if not path.is_file():
            raise CheckpointError(f"Checkpoint {self.prefix} has an index but no data file {path.name}.")
        with open(path, "rb") as f:
            f.seek(entry.offset)
            raw = f.read(entry.size)
        if len(raw) != entry.size:
            raise CheckpointError(
                f"{path} is truncated: {name!r} needs bytes {entry.offset}..{entry.offset + entry.size}."
            )
        actual = crc32c(raw)
        if actual != unmask(entry.masked_crc32c):
            raise CheckpointError(
                f"{name!r} in {path} is corrupted: CRC-32C 0x{actual:08x}, the index says "
                f"0x{unmask(entry.masked_crc32c):08x}."
            )
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).astype(dtype.newbyteorder("="))
