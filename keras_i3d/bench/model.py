"""The model benchmark (``keras-i3d bench``): clips/s, TFLOP/s and MFU of I3D on the running backend.

One measurement builds I3D with random weights for a fixed clip shape, puts
one random batch on the device (so no input pipeline and no host-to-device
copy is timed), runs ``warmup`` steps (tracing, compilation, autotuning), then
times ``steps`` steps with the device synchronised before and after.

- ``infer``: ``model.predict_on_batch`` of the model, fused for inference by
  default (`keras_i3d.fuse_for_inference`: BatchNorm folded, the backend's
  fastest convolution formulation), or as built (``fused=False``).
- ``train``: ``model.train_on_batch`` (SGD with momentum, cross-entropy on
  random labels), every layer trainable.

Arithmetic comes from `keras_i3d.bench.flops` (analytic, convolutions and dense
layers; a training step counts three forward passes). The peak it is
compared with is the data-sheet peak of a known GPU for the dtype, or on a
CPU the measured rate of a large matrix product in that dtype on the same
backend (so MFU there means "fraction of what this backend's matrix product
reaches on this machine").
"""

from __future__ import annotations

import dataclasses
import datetime
import os

import keras
import numpy as np

from keras_i3d.applications.i3d import I3D
from keras_i3d.bench import backends as bench_backends
from keras_i3d.bench.choices import DTYPES, JIT_COMPILE, MODES  # noqa: F401 - re-exported
from keras_i3d.bench.flops import TRAIN_FLOPS_PER_FORWARD, forward_flops
from keras_i3d.model.architecture import i3d_features, i3d_head
from keras_i3d.model.fusion import fuse_for_inference, resolve_implementation
from keras_i3d.preprocessing import decode_predictions, preprocess_input
from keras_i3d.video.decode import read_gif
from keras_i3d.weights import deepmind as deepmind_data


@dataclasses.dataclass
class ModelRate:
    """One benchmark measurement (see the module docstring)."""

    implementation: str  # "keras_i3d (fused, frames)", "keras_i3d", "i3d-jax"...
    backend: str
    mode: str
    dtype: str
    batch: int
    frames: int
    size: int
    seconds_per_step: float
    gflops_per_clip: float
    device: str
    peak_tflops: float | None = None
    peak_source: str = ""
    memory_bytes: int = 0
    memory_source: str = ""
    versions: dict = dataclasses.field(default_factory=dict)
    date: str = dataclasses.field(default_factory=lambda: datetime.date.today().isoformat())
    note: str = ""

    @property
    def clips_per_second(self) -> float:
        """Clips per second."""
        return self.batch / self.seconds_per_step

    @property
    def tflops(self) -> float:
        """Achieved TFLOP/s (model arithmetic only)."""
        return self.gflops_per_clip * self.clips_per_second / 1e3

    @property
    def mfu(self) -> float | None:
        """Achieved TFLOP/s over the peak, or ``None`` without a peak."""
        return self.tflops / self.peak_tflops if self.peak_tflops else None

    def to_dict(self) -> dict:
        """The fields and derived rates, for JSON."""
        return {
            **dataclasses.asdict(self),
            "clips_per_second": self.clips_per_second,
            "tflops": self.tflops,
            "mfu": self.mfu,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModelRate:
        """The inverse of `to_dict`."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _device() -> str:
    name = bench_backends.accelerator()
    if name:
        return name
    return f"{bench_backends.cpu_name()} ({os.cpu_count()} cores)"


def _peak(dtype: str, peak_tflops: float | None) -> tuple[float | None, str]:
    if peak_tflops:
        return peak_tflops, "given"
    name = bench_backends.accelerator()
    if name:
        peak = bench_backends.gpu_peak_tflops(name, dtype)
        return peak, "data sheet" if peak else ""
    return bench_backends.matmul_peak_tflops(dtype), "measured matmul"


def _jit(value: str):
    return {"auto": "auto", "true": True, "false": False}[value]


def build_model(
    mode: str,
    batch: int,
    frames: int,
    size: int,
    dtype: str = "float32",
    fused: bool = True,
    implementation: str = "auto",
    jit_compile: str = "auto",
) -> keras.Model:
    """The model a benchmark step runs, compiled for ``mode`` (random weights)."""
    if mode not in MODES or dtype not in DTYPES or jit_compile not in JIT_COMPILE:
        raise ValueError(f"Bad benchmark settings: mode={mode!r}, dtype={dtype!r}, jit_compile={jit_compile!r}.")
    fuse = fused and mode == "infer"
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32" if fuse else dtype)
    try:
        model = I3D(weights=None, input_shape=(frames, size, size, 3))
    finally:
        keras.config.set_dtype_policy(previous)
    if fuse:
        model = fuse_for_inference(model, implementation, dtype=None if dtype == "float32" else dtype)
    if mode == "train":
        model.compile(
            optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            jit_compile=_jit(jit_compile),
        )
    else:
        model.compile(jit_compile=_jit(jit_compile))
    return model


def bench_model(
    mode: str = "infer",
    batch: int = 16,
    frames: int = 64,
    size: int = 224,
    dtype: str = "float32",
    steps: int = 20,
    warmup: int = 2,
    fused: bool = True,
    implementation: str = "auto",
    jit_compile: str = "auto",
    peak_tflops: float | None = None,
) -> ModelRate:
    """Measures I3D on the running backend (see the module docstring).

    Args:
        mode: ``"infer"`` or ``"train"``.
        batch: clips per step.
        frames: frames per clip.
        size: frame height and width.
        dtype: ``"float32"``, ``"bfloat16"`` (weights and arithmetic) or
            ``"mixed_bfloat16"`` (float32 weights, bfloat16 arithmetic).
        steps: timed steps.
        warmup: untimed steps first.
        fused: for ``infer``, run `keras_i3d.fuse_for_inference`'s model.
        implementation: the fused convolution's (``"auto"``, ``"conv3d"``, ``"frames"``).
        jit_compile: ``model.compile(jit_compile=...)``: ``"auto"``, ``"true"`` or ``"false"``.
        peak_tflops: the peak to compute MFU against; default the GPU's data-sheet
            peak, or on a CPU `keras_i3d.bench.backends.matmul_peak_tflops`.

    Returns:
        A `ModelRate`.
    """
    model = build_model(mode, batch, frames, size, dtype, fused, implementation, jit_compile)
    rng = np.random.default_rng(0)
    x = keras.ops.add(keras.ops.convert_to_tensor(rng.uniform(-1, 1, (batch, frames, size, size, 3)), "float32"), 0)
    if mode == "train":
        y = keras.ops.convert_to_tensor(rng.integers(0, 400, (batch,)), "int32")

        def step():
            return model.train_on_batch(x, y)
    else:

        def step():
            return model.predict_on_batch(x)

    bench_backends.reset_peak_memory()
    seconds = bench_backends.time_calls(step, steps, warmup)
    memory, memory_source = bench_backends.peak_memory()
    gflops = forward_flops(model) / 1e9 * (TRAIN_FLOPS_PER_FORWARD if mode == "train" else 1)
    peak, peak_source = _peak(dtype, peak_tflops)
    fuse = fused and mode == "infer"
    chosen = resolve_implementation(implementation)
    name = f"keras_i3d (fused, {chosen})" if fuse else "keras_i3d"
    if jit_compile != "auto":
        name += f" jit_compile={jit_compile}"
    return ModelRate(
        name, keras.backend.backend(), mode, dtype, batch, frames, size, seconds, gflops, _device(),
        peak, peak_source, memory, memory_source, bench_backends.framework_versions(),
    )  # fmt: skip


def _graph_of_shape(frames: int, size: int) -> keras.Model:
    """I3D's graph at one clip shape with zero kernels (no random initialisation: only its shapes are read)."""
    inputs = keras.Input((frames, size, size, 3))
    return keras.Model(inputs, i3d_head(i3d_features(inputs, "zeros"), 400, kernel_initializer="zeros"))


def bench_peer(batch: int = 16, frames: int = 64, size: int = 224, dtype: str = "float32", steps: int = 20,
               warmup: int = 2, peak_tflops: float | None = None) -> ModelRate:  # fmt: skip
    """Measures the i3d-jax peer (Flax, jitted forward pass) like `bench_model` measures ``infer``.

    Runs on the JAX backend's device; the arithmetic is I3D's, counted on
    keras_i3d's model of the same shape.
    """
    step = bench_backends.i3d_jax_step(batch, frames, size, dtype)
    seconds = bench_backends.time_calls(step, steps, warmup)
    memory, memory_source = bench_backends.peak_memory()
    gflops = forward_flops(_graph_of_shape(frames, size)) / 1e9
    peak, peak_source = _peak(dtype, peak_tflops)
    versions = {**bench_backends.framework_versions(), **bench_backends.peer_versions()}
    return ModelRate(
        "i3d-jax (Flax, jit)", "jax", "infer", dtype, batch, frames, size, seconds, gflops, _device(),
        peak, peak_source, memory, memory_source, versions,
    )  # fmt: skip


def reference_check(dtype: str, implementation: str = "auto") -> dict:
    """Top-1 and logit deviation of the fused model in ``dtype`` on DeepMind's cricket clip.

    Runs ``kinetics400_rgb`` as built (float32) and fused (``dtype``,
    ``implementation``) on the whole 79-frame sample clip.

    Returns:
        ``{"top1": label, "top1_float32": label, "max_abs_logit_diff": float,
        "max_logit": float}``.
    """
    clip = preprocess_input(read_gif(deepmind_data.sample_clip("rgb", progress=False)))[None]
    model = I3D(weights="kinetics400_rgb", classifier_activation=None)
    logits = np.asarray(model.predict_on_batch(clip), np.float32)
    fused = fuse_for_inference(model, implementation, dtype=None if dtype == "float32" else dtype)
    fused_logits = np.asarray(keras.ops.convert_to_numpy(fused.predict_on_batch(clip)), np.float32)
    return {
        "top1": decode_predictions(fused_logits, top=1)[0][0][1],
        "top1_float32": decode_predictions(logits, top=1)[0][0][1],
        "max_abs_logit_diff": float(np.abs(fused_logits - logits).max()),
        "max_logit": float(np.abs(logits).max()),
    }
