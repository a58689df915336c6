"""Atomic writes and hashing."""

import hashlib
import os

import pytest

from keras_i3d.utils import files
from keras_i3d.utils.files import atomic_path, git_blob_id, sha256_file, write_text_atomic

pytestmark = pytest.mark.backend_independent


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


def test_git_blob_id_is_what_git_computes(tmp_path):
    import subprocess

    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)) * 3000)
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True).stdout
    assert git_blob_id(path, chunk_size=1000) == expected.strip()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert git_blob_id(empty) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


def test_atomic_path_cleans_up_on_keyboard_interrupt(tmp_path):
    with pytest.raises(KeyboardInterrupt), atomic_path(tmp_path / "f.bin") as tmp:
        tmp.write_bytes(b"partial")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_long_names_still_get_temporary_names_that_fit(tmp_path):
    """Temporary names added ~35 characters, so a 230-character name failed to write at all."""
    name = "v" * 236 + ".mp4.npy"  # 244 bytes; the file system allows 255
    with files.atomic_path(tmp_path / name, suffix=".npy") as tmp:
        assert len(tmp.name.encode()) <= 255
        tmp.write_bytes(b"data")
    assert [p.name for p in tmp_path.iterdir()] == [name]
    leftover = tmp_path / (files._temp_prefix(name).replace(str(os.getpid()), "999999999") + "x.tmp.npy")
    leftover.write_bytes(b"a killed writer's")
    assert files.sweep_stale_temps(tmp_path, name) == [leftover]
