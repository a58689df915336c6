"""CRC-32C (Castagnoli), vectorised with NumPy, and TensorFlow's masked form.

TensorFlow's checkpoints store a masked CRC-32C of every tensor and of every
block of the index table. Python's ``zlib.crc32`` is a different polynomial,
and a byte-at-a-time Python loop would take seconds per checkpoint, so this
module computes the CRC of many equal-length blocks of the input at once
(one NumPy step per byte column) and then folds the block CRCs together with
the CRC's linearity: ``crc(A || B) = shift_{len(B)}(crc(A)) ^ crc0(B)``, where
``shift_L`` (advancing the register over ``L`` zero bytes) is a fixed 32x32
matrix over GF(2), precomputed per block length.
"""

from __future__ import annotations

import functools

import numpy as np

_POLY = 0x82F63B78  # CRC-32C, reflected
_MASK_DELTA = 0xA282EAD8


def _make_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


_TABLE = _make_table()
_TABLE_LIST = [int(v) for v in _TABLE]


def _update_scalar(state: int, data: bytes) -> int:
    """Advances the raw CRC register over ``data`` (no pre/post inversion)."""
    table = _TABLE_LIST
    for byte in data:
        state = table[(state ^ byte) & 0xFF] ^ (state >> 8)
    return state


def _update_columns(states: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """Advances one register per row of ``blocks`` (uint8, ``(n, L)``) over that row."""
    for column in blocks.T:
        states = _TABLE[(states ^ column) & 0xFF] ^ (states >> np.uint32(8))
    return states


@functools.cache
def _shift_columns(length: int) -> np.ndarray:
    """Images of the 32 unit registers after ``length`` zero bytes (the shift matrix)."""
    units = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
    return _update_columns(units, np.zeros((32, length), np.uint8))


def _apply_shift(columns: np.ndarray, state: int) -> int:
    bits = (state >> np.arange(32, dtype=np.uint32)) & 1
    return int(np.bitwise_xor.reduce(columns[bits.astype(bool)], initial=np.uint32(0)))


def _block_length(size: int) -> int:
    """A power of two near ``sqrt(size)``: balances column steps and folds."""
    length = 1 << max(6, (max(size, 1).bit_length() + 1) // 2)
    return min(length, 1 << 14)


def crc32c(data, value: int = 0) -> int:
    """CRC-32C of ``data``, optionally continuing from a previous ``value``.

    Args:
        data: ``bytes``, ``bytearray``, ``memoryview`` or a NumPy array (its
            raw bytes, C order).
        value: the CRC of the preceding data, to extend it (``crc32c(a + b) ==
            crc32c(b, crc32c(a))``).

    Returns:
        The CRC as an unsigned 32-bit int (``crc32c(b"123456789") == 0xE3069283``).
    """
    buffer = np.frombuffer(memoryview(data).cast("B"), dtype=np.uint8)
    state = (value ^ 0xFFFFFFFF) & 0xFFFFFFFF
    size = buffer.size
    if size < 4096:
        return _update_scalar(state, buffer.tobytes()) ^ 0xFFFFFFFF
    length = _block_length(size)
    count = size // length
    blocks = buffer[: count * length].reshape(count, length)
    block_crcs = _update_columns(np.zeros(count, np.uint32), blocks)
    columns = _shift_columns(length)
    for block_crc in block_crcs.tolist():
        state = _apply_shift(columns, state) ^ block_crc
    state = _update_scalar(state, buffer[count * length :].tobytes())
    return state ^ 0xFFFFFFFF


def mask(crc: int) -> int:
    """TensorFlow/LevelDB's masked CRC (``crc32c::Mask``), as stored on disk."""
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def unmask(masked: int) -> int:
    """Inverse of `mask`."""
    rot = (masked - _MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF
