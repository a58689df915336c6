"""The flow benchmark (``keras-i3d bench --flow``): TV-L1 pairs/s of OpenCV and of the keras.ops port per backend.

Every measurement takes the same frame pairs: consecutive frames of DeepMind's
sample clip (real motion, where TV-L1 iterates as it does on real video; OpenCV
stops early on easy synthetic motion), converted to grayscale and stretched
to the measured size (256x341 by default: the recipe's short side 256 on a 4:3
video). OpenCV computes them one pair at a time, as the recipe does; the keras
implementation (`keras_i3d.video.tvl1`) in batches, after one untimed first
call (which compiles the graph on JAX and TensorFlow; reported as "first call"). Each keras row also
reports its mean end-point error against OpenCV's flow of the same pairs.
"""

from __future__ import annotations

import dataclasses
import os
import time

import keras
import numpy as np

from keras_i3d.bench import backends as bench_backends
from keras_i3d.fvd.resize import bilinear_resize
from keras_i3d.video.decode import read_gif
from keras_i3d.video.flow import TVL1, grayscale, tvl1, tvl1_flow
from keras_i3d.video.tvl1 import tvl1_keras
from keras_i3d.weights import deepmind as deepmind_data

#: The measured frame size by default: the recipe's short side 256 on a 4:3 video.
DEFAULT_FLOW_SIZE = (256, 341)


@dataclasses.dataclass
class FlowRate:
    """One TV-L1 measurement."""

    implementation: str  # "opencv" or "keras"
    backend: str  # "-" for OpenCV
    pairs: int
    batch: int
    height: int
    width: int
    seconds: float
    compile_seconds: float
    device: str
    mean_epe: float | None = None  # against OpenCV's flow of the same pairs (keras rows)

    @property
    def pairs_per_second(self) -> float:
        """Frame pairs per second (timed calls only)."""
        return self.pairs / self.seconds

    def to_dict(self) -> dict:
        """A JSON-friendly dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FlowRate:
        """The inverse of `to_dict`."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def flow_pairs(pairs: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``pairs`` consecutive grayscale frame pairs of the sample clip, ``(pairs, height, width)`` in [0, 1]."""
    frames = read_gif(deepmind_data.sample_clip("rgb", progress=False))
    if pairs + 1 > len(frames):
        raise ValueError(f"The sample clip has {len(frames)} frames: at most {len(frames) - 1} pairs.")
    stretched = bilinear_resize(frames[: pairs + 1].astype(np.float32), height, width, half_pixel=True)
    gray = grayscale(np.clip(stretched, 0, 255))
    return gray[:-1], gray[1:]


def _device() -> str:
    return bench_backends.accelerator() or f"{bench_backends.cpu_name()} ({os.cpu_count()} cores)"


def bench_opencv(first: np.ndarray, second: np.ndarray) -> tuple[FlowRate, np.ndarray]:
    """OpenCV's TV-L1 on the pairs, one at a time; returns its rate and its flow (the oracle of the keras rows)."""
    algorithm = TVL1().create()
    start = time.perf_counter()
    flows = np.stack([tvl1_flow(a, b, algorithm=algorithm) for a, b in zip(first, second, strict=True)])
    seconds = time.perf_counter() - start
    cpu = f"{bench_backends.cpu_name()} ({os.cpu_count()} cores)"
    rate = FlowRate("opencv", "-", len(first), 1, *first.shape[1:], seconds, 0.0, cpu)
    return rate, flows


def bench_keras(first: np.ndarray, second: np.ndarray, batch: int, reference: np.ndarray | None = None) -> FlowRate:
    """The keras implementation on the running backend: one untimed compiling call, then the pairs timed."""
    start = time.perf_counter()
    tvl1_keras(first[:batch], second[:batch], batch_size=batch)
    compile_seconds = time.perf_counter() - start
    start = time.perf_counter()
    flows = tvl1(first, second, implementation="keras", batch_size=batch)
    seconds = time.perf_counter() - start
    epe = None
    if reference is not None:
        difference = flows.astype(np.float64) - reference
        epe = float(np.hypot(difference[..., 0], difference[..., 1]).mean())
    backend = keras.backend.backend()
    return FlowRate("keras", backend, len(first), batch, *first.shape[1:], seconds, compile_seconds, _device(), epe)


def markdown_table(rates: list[FlowRate]) -> str:
    """The results as a Markdown table, each row's speed relative to OpenCV's."""
    opencv = next((r.pairs_per_second for r in rates if r.implementation == "opencv"), None)
    lines = [
        "| implementation | backend | device | pairs × size | batch | pairs/s | vs OpenCV | first call "
        "| mean EPE vs OpenCV |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rates:
        vs = f"{r.pairs_per_second / opencv:.2f}×" if opencv else "-"
        epe = f"{r.mean_epe:.3f} px" if r.mean_epe is not None else "-"
        compiled = f"{r.compile_seconds:.1f} s" if r.implementation == "keras" else "-"
        lines.append(
            f"| {r.implementation} | {r.backend} | {r.device} | {r.pairs} × {r.height}×{r.width} | {r.batch} | "
            f"{r.pairs_per_second:.2f} | {vs} | {compiled} | {epe} |"
        )
    return "\n".join(lines)
