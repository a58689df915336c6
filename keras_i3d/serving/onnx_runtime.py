"""Running an exported ``model.onnx`` with onnxruntime (the only module that imports it).

Used to verify an ONNX export before it is published, by the tests and by
users who serve with onnxruntime directly (see ``examples/onnx_inference.py``).
Nothing here needs Keras or a backend.
"""

from __future__ import annotations

import os

import numpy as np

from keras_i3d.errors import MissingExtraError

#: What installs the ONNX export and its check (tf2onnx, onnx, onnxruntime).
ONNX_EXTRA = 'pip install "keras-i3d[onnx]"'


def onnx_session(path: str | os.PathLike, threads: int | None = None):
    """An ``onnxruntime.InferenceSession`` of ``path`` on the CPU.

    Args:
        path: a ``.onnx`` file.
        threads: intra-op threads; default onnxruntime's (one per core).

    Raises:
        MissingExtraError: if onnxruntime is not installed.
    """
    try:
        import onnxruntime  # noqa: PLC0415 - optional
    except ImportError as e:
        raise MissingExtraError(f"Running ONNX needs onnxruntime, which is not installed: {ONNX_EXTRA}") from e
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    if threads is not None:
        options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(os.fspath(path), options, providers=["CPUExecutionProvider"])


def run_onnx(session, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Runs ``session`` (or a path) on ``inputs`` by input name; returns every output by name."""
    if not hasattr(session, "run"):
        session = onnx_session(session)
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs), strict=True))


def onnx_signature(session) -> dict[str, dict[str, tuple]]:
    """The ``inputs`` and ``outputs`` of ``session`` (or a path): name -> shape (axis names for dynamic axes)."""
    if not hasattr(session, "get_inputs"):
        session = onnx_session(session)
    return {
        "inputs": {i.name: tuple(i.shape) for i in session.get_inputs()},
        "outputs": {o.name: tuple(o.shape) for o in session.get_outputs()},
    }
