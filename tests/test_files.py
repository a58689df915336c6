"""Atomic writes and hashing."""

import hashlib

import pytest

from keras_i3d._files import atomic_path, sha256_file, write_text_atomic


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    write_text_atomic(target, "new")
    assert target.read_text() == "new"


def test_sha256_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"i3d" * 1000)
    assert sha256_file(path, chunk_size=7) == hashlib.sha256(b"i3d" * 1000).hexdigest()
