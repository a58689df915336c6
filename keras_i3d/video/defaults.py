"""The video package's choices, importable without Keras or NumPy (``keras-i3d --help`` shows them)."""

from __future__ import annotations

#: TV-L1's implementations (`keras_i3d.video.flow.tvl1`): ``"opencv"`` (OpenCV's CPU class, a pair at a
#: time), ``"keras"`` (`keras_i3d.video.tvl1`, batched keras.ops on the backend's device) and ``"auto"``.
FLOW_IMPLEMENTATIONS = ("auto", "opencv", "keras")
#: What ``"auto"`` runs, per device kind (``"gpu"`` where the backend sees an accelerator) and backend:
#: measured (``keras-i3d bench --flow``, BENCHMARKS.md "TV-L1 optical flow: OpenCV and keras.ops"). On a
#: CPU, XLA-compiled JAX and TensorFlow beat OpenCV; PyTorch runs the port eagerly, op by op, and does not.
AUTO_FLOW_IMPLEMENTATION = {
    "cpu": {"jax": "keras", "tensorflow": "keras", "torch": "opencv"},
    "gpu": {"jax": "keras", "tensorflow": "keras", "torch": "keras"},
}
#: Frame pairs per call of the keras implementation (memory grows with it: about 250 bytes per pixel of a pair).
FLOW_BATCH_SIZE = 8
