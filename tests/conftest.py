"""Test configuration: backend per run (KERAS_BACKEND), data folder, markers, isolated caches.

Markers (registered in setup.cfg):

- ``requires_data``: needs DeepMind's data folder at ``$KINETICS_I3D_DATA``
  (default here, never in the library: ``../shared/kinetics-i3d`` beside the
  repository). Skipped without it; under ``CI=true`` a missing folder fails.
- ``large``: full-size runs (224x224, dozens of frames); ``--skip-large`` skips them.
- ``backend_independent``: the result is the same under any ``KERAS_BACKEND``
  (files, downloads, decoding, argument errors, ...). ``--backend-independent``
  ``include`` (default: run them), ``only`` (run only them: once, on one backend)
  or ``skip`` (deselect them: the per-backend runs of ``make test``).
- ``tf_only``, ``jax_only``, ``torch_only``: skipped, with a reason, on the other backends.
  A test with several of them runs on each backend named (``tf_only`` and ``jax_only``:
  not on PyTorch).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from keras_i3d.utils import paths

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "kinetics-i3d"

BACKEND_MARKERS = {"tf_only": "tensorflow", "jax_only": "jax", "torch_only": "torch"}


def pytest_addoption(parser):
    parser.addoption("--skip-large", action="store_true", help="skip tests marked `large`")
    parser.addoption(
        "--backend-independent",
        choices=("include", "only", "skip"),
        default="include",
        help="tests marked `backend_independent`: run them with the others (include, the default), "
        "run only them (only), or deselect them (skip)",
    )


def pytest_configure(config):
    if not os.environ.get(paths.DATA_ENV):
        os.environ[paths.DATA_ENV] = str(DEFAULT_DATA)


def data_missing_reason() -> str | None:
    path = paths.find_data_dir()
    if path is not None and path.is_dir():
        return None
    return f"kinetics-i3d data not found at ${paths.DATA_ENV}={path}"


def pytest_collection_modifyitems(config, items):
    import keras

    backend = keras.backend.backend()
    split = config.getoption("--backend-independent")
    if split != "include":
        keep, dropped = [], []
        for item in items:
            independent = item.get_closest_marker("backend_independent") is not None
            (keep if independent == (split == "only") else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep

    reason = data_missing_reason()
    in_ci = os.environ.get("CI", "").lower() == "true"
    for item in items:
        runs_on = [only for marker, only in BACKEND_MARKERS.items() if item.get_closest_marker(marker) is not None]
        if runs_on and backend not in runs_on:
            names = " or ".join(runs_on)
            item.add_marker(pytest.mark.skip(reason=f"runs on KERAS_BACKEND={names} only, not {backend}"))
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


#: A folder that xdist workers and passes share for the one conversion (``make test`` sets it).
SHARED_WEIGHTS_ENV = "KERAS_I3D_TEST_SHARED_WEIGHTS"


@pytest.fixture(scope="session")
def converted_rgb(_isolated_keras_home) -> Path:
    """DeepMind's ``rgb_scratch`` converted once per session into the session's Keras cache.

    ``$KERAS_HOME/models/keras_i3d/i3d_kinetics400_rgb.weights.h5`` with its sidecar and config,
    verified against the registry. Read it, copy it (``tests.support.cache.seed_cache``,
    ``copy_weights``); never change it.
    """
    if data_missing_reason():
        pytest.skip(data_missing_reason())
    from keras_i3d.weights import fetch as pretrained

    shared = os.environ.get(SHARED_WEIGHTS_ENV)
    if not shared:
        return pretrained.resolve_preset("kinetics400_rgb", progress=False)
    # One conversion for every xdist worker and every pass of `make test`: converted (or verified, a
    # cache hit) under a lock in the shared folder, then copied into this session's cache.
    from keras_i3d.utils.jobs import exclusive_folder
    from tests.support.cache import seed_cache

    root = Path(shared)
    while True:
        try:
            with exclusive_folder(root, "test conversion"):
                os.environ["KERAS_HOME"] = str(root)
                try:
                    converted = pretrained.resolve_preset("kinetics400_rgb", progress=False)
                finally:
                    os.environ["KERAS_HOME"] = str(_isolated_keras_home)
                return seed_cache(converted)
        except OSError as e:  # another worker converts right now: wait for it
            if "is being written by another" not in str(e):
                raise
            time.sleep(1)


@pytest.fixture(scope="session")
def kinetics400_rgb_model(converted_rgb):
    """The converted kinetics400_rgb network returning logits (built once)."""
    import keras_i3d

    return keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty Keras cache for this test (``$KERAS_HOME`` under tmp_path, no mirror)."""
    from tests.support.cache import fresh_cache_dir

    return fresh_cache_dir(tmp_path, monkeypatch)


@pytest.fixture
def no_local_data(monkeypatch, tmp_path):
    """``$KINETICS_I3D_DATA`` points at a folder that does not exist."""
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "no-data"))


@pytest.fixture
def deepmind_server(tmp_path):
    """A local HTTP server laid out like DeepMind's ``data/`` folder (see helpers.DeepMindServer)."""
    from tests.support.helpers import DeepMindServer

    server = DeepMindServer(tmp_path / "served")
    yield server
    server.close()
