"""The error classes: every keras_i3d error is a KerasI3DError and a builtin exception."""

from __future__ import annotations

import pytest

from keras_i3d.errors import InputError, KerasI3DError, VideoError

pytestmark = pytest.mark.backend_independent


def test_every_error_is_a_keras_i3d_error_and_a_builtin():
    for error in (InputError, VideoError):
        assert issubclass(error, KerasI3DError) and issubclass(error, ValueError)
