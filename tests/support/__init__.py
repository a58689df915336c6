"""Shared test support: helpers, synthetic videos, import blocking, the CLI runner, cache fixtures.

Scripts run in subprocesses (``serving_checker.py``, ``distribute_worker.py``,
``s3_check.py``) live here too; ``blocking.py`` is importable without the package.
"""

from pathlib import Path

SUPPORT_DIR = Path(__file__).resolve().parent
REPO_ROOT = SUPPORT_DIR.parent.parent
EXAMPLES_DIR = REPO_ROOT / "examples"
