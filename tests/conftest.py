"""Test configuration: backend per run (KERAS_BACKEND), data folder, markers, isolated caches.

Markers (registered in setup.cfg):

- ``requires_data``: needs DeepMind's data folder at ``$KINETICS_I3D_DATA``
  (default here, never in the library: ``../shared/kinetics-i3d`` beside the
  repository). Skipped without it; under ``CI=true`` a missing folder fails.
- ``large``: full-size runs (224x224, dozens of frames); ``--skip-large`` skips them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keras_i3d.utils import paths

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "kinetics-i3d"


def pytest_addoption(parser):
    parser.addoption("--skip-large", action="store_true", help="skip tests marked `large`")


def pytest_configure(config):
    if not os.environ.get(paths.DATA_ENV):
        os.environ[paths.DATA_ENV] = str(DEFAULT_DATA)


def data_missing_reason() -> str | None:
    path = paths.find_data_dir()
    if path is not None and path.is_dir():
        return None
    return f"kinetics-i3d data not found at ${paths.DATA_ENV}={path}"


def pytest_collection_modifyitems(config, items):
    reason = data_missing_reason()
    in_ci = os.environ.get("CI", "").lower() == "true"
    for item in items:
        if config.getoption("--skip-large") and "large" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="--skip-large"))
        if reason and "requires_data" in item.keywords and not in_ci:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item):
    reason = data_missing_reason()
    if reason and "requires_data" in item.keywords and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} -- under CI=true this is a failure, not a skip")


def pytest_report_header(config):
    import keras

    return f"keras {keras.__version__}, backend {keras.backend.backend()}, ${paths.DATA_ENV}={paths.find_data_dir()}"


@pytest.fixture(scope="session", autouse=True)
def _isolated_keras_home(tmp_path_factory):
    """Weights converted during tests go to a throw-away cache; no test reaches the internet."""
    home = tmp_path_factory.mktemp("keras_home")
    saved = {k: os.environ.get(k) for k in ("KERAS_HOME", paths.CHECKPOINT_URL_ENV)}
    os.environ["KERAS_HOME"] = str(home)
    # Nothing may download from the real internet in tests: an unroutable mirror.
    os.environ[paths.CHECKPOINT_URL_ENV] = "http://127.0.0.1:9/no-internet-in-tests"
    yield home
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def kinetics400_rgb_model():
    """The converted kinetics400_rgb network returning logits (built once)."""
    import keras_i3d

    if data_missing_reason():
        pytest.skip(data_missing_reason())
    return keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)


@pytest.fixture
def deepmind_server(tmp_path):
    """A local HTTP server laid out like DeepMind's ``data/`` folder (see helpers.DeepMindServer)."""
    from tests.helpers import DeepMindServer

    server = DeepMindServer(tmp_path / "served")
    yield server
    server.close()
