"""CRC-32C: known vectors, the vectorised path against the byte loop, TF's masking."""

import numpy as np
import pytest

from keras_i3d.utils.crc32c import _update_scalar, crc32c, mask, unmask

pytestmark = pytest.mark.backend_independent


@pytest.mark.parametrize(
    "data,expected",
    [
        (b"", 0x00000000),
        (b"123456789", 0xE3069283),  # the CRC-32C check value
        (bytes(32), 0x8A9136AA),  # RFC 3720 B.4
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
    ],
)
def test_known_vectors(data, expected):
    assert crc32c(data) == expected


@pytest.mark.parametrize("size", [4095, 4096, 4097, 65536 + 13, 1_000_003])
def test_vectorised_path_equals_the_byte_loop(size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    expected = _update_scalar(0xFFFFFFFF, data) ^ 0xFFFFFFFF
    assert crc32c(data) == expected
    assert crc32c(np.frombuffer(data, np.uint8)) == expected
    cut = size // 3
    assert crc32c(data[cut:], crc32c(data[:cut])) == expected


def test_mask_round_trip():
    for value in (0, 1, 0xE3069283, 0xFFFFFFFF):
        assert unmask(mask(value)) == value
    assert mask(0) == 0xA282EAD8
