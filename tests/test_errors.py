"""The error classes: every keras_i3d error is a KerasI3DError and a builtin exception."""

from __future__ import annotations

import pytest

from keras_i3d.errors import InputError, KerasI3DError, VideoError, one_line

pytestmark = pytest.mark.backend_independent


def test_every_error_is_a_keras_i3d_error_and_a_builtin():
    for error in (InputError, VideoError):
        assert issubclass(error, KerasI3DError) and issubclass(error, ValueError)


class _OpError(Exception):  # TensorFlow's OpError: `message` is the text, str() adds a traceback
    def __init__(self, message: str):
        super().__init__(message + "\n\t [[{{node IteratorGetNext}}]]")
        self.message = message


def test_one_line_quotes_the_line_that_says_most():
    assert one_line(ValueError("\n  first line  \nsecond")) == "first line"
    assert one_line(KeyError()) == "KeyError"
    assert one_line(ValueError("x" * 400), limit=10) == "x" * 10
    assert one_line(_OpError("corrupted record at 12")) == "corrupted record at 12"
    try:
        try:
            raise TypeError("Could not locate class 'Custom'. Make sure custom classes are registered.")
        except TypeError as inner:
            raise ValueError("<class 'Functional'> could not be deserialized properly.") from inner
    except ValueError as outer:
        chained = outer
    assert one_line(chained).startswith("<class 'Functional'>")
    assert one_line(chained, prefer=("could not locate",)) == (
        "Could not locate class 'Custom'. Make sure custom classes are registered."
    )
    assert one_line(chained, prefer=("no such phrase",)).startswith("<class 'Functional'>")
