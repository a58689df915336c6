"""Test configuration: one backend per run (KERAS_BACKEND), isolated caches."""

from __future__ import annotations

import os

import pytest


def pytest_report_header(config):
    import keras

    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(scope="session", autouse=True)
def _isolated_keras_home(tmp_path_factory):
    """Weights converted during tests go to a throw-away cache."""
    home = tmp_path_factory.mktemp("keras_home")
    old = os.environ.get("KERAS_HOME")
    os.environ["KERAS_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("KERAS_HOME", None)
    else:
        os.environ["KERAS_HOME"] = old


@pytest.fixture(scope="session")
def kinetics400_rgb_model():
    """The converted kinetics400_rgb network returning logits (built once)."""
    import keras_i3d
    from tests import helpers

    helpers.data_dir()  # skip (or, under CI=true, fail) without DeepMind's data
    return keras_i3d.I3D(weights="kinetics400_rgb", classifier_activation=None)
