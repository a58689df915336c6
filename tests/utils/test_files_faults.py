"""Faults in file writing (keras_i3d.utils.files): stale temporaries, modes, unwritable folders.

Numbers refer to the findings of the hardening issue (items 8, 9, 11).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from keras_i3d.errors import FileAccessError
from keras_i3d.utils import files
from tests.support import helpers

pytestmark = pytest.mark.backend_independent


def test_only_stale_temps_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = files._host_id()
    stale = tmp_path / f".out.txt.{dead.pid}@{host}.abc123.tmp"
    live = tmp_path / f".out.txt.{os.getppid()}@{host}.def456.tmp"
    foreign_old = tmp_path / ".out.txt.1@00000000.ghi789.tmp"
    foreign_new = tmp_path / ".out.txt.1@00000000.jkl012.tmp"
    other = tmp_path / ".other.txt.999999@{host}.x.tmp"
    for path in (stale, live, foreign_old, foreign_new, other):
        path.write_text("partial")
    old = time.time() - files.FOREIGN_TEMP_AGE - 60
    os.utime(foreign_old, (old, old))
    files.write_text_atomic(tmp_path / "out.txt", "done")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.txt", live.name, foreign_new.name, other.name])


# -- 9. files get the umask's normal mode --


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_written_files_get_the_umask_mode(tmp_path, umask, mode):
    previous = os.umask(umask)
    try:
        files.write_text_atomic(tmp_path / "a.txt", "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == mode


def test_unwritable_folder(tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode & os.W_OK else real_access(p, mode))
    with pytest.raises(FileAccessError, match="Cannot write into folder .*: permission denied"):
        files.write_text_atomic(tmp_path / "a.txt", "x")
    assert helpers.files_under(tmp_path) == []
