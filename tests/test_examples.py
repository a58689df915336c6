"""Examples print what they say they print, and nothing else (no framework start-up lines)."""

import os
import subprocess
import sys

import pytest

from tests.support import EXAMPLES_DIR, REPO_ROOT


@pytest.mark.requires_data
@pytest.mark.backend_independent
def test_endpoint_features_prints_its_two_lines_only(converted_rgb):
    """It printed 9 TensorFlow start-up lines before its output."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    done = subprocess.run(
        [sys.executable, str(EXAMPLES_DIR / "endpoint_features.py")],
        capture_output=True, text=True, env=env, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert done.stdout.splitlines() == ["Mixed_4f   (1, 4, 14, 14, 832)", "Mixed_5c   (1, 2, 7, 7, 1024)"]
