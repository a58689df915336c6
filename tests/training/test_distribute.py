"""Data-parallel training (keras_i3d.distribute, examples/distributed_torch.py) against one device.

Each engine trains a small random-weight I3D once on one device and once over 2
replicas (logical CPU devices, or 2 gloo processes on PyTorch), from the same
weights on the same batches (4x32x32 clips, 3 classes, SGD, global batch 4).
TensorFlow and JAX train I3D's layers up to Mixed_3c with a pooled linear
classifier (tests/support/distribute_worker.py: a third of the full network's
compile time, and every layer kind and BatchNorm is there); PyTorch trains the
whole network through the example. Differences are measured on the weight
*updates* (trained minus initial), relative to the largest update, and on the
BatchNorm moving statistics.

What is true, and asserted so that a change of behaviour fails here:

- Frozen BatchNorm (the fine-tuning recipe): every engine matches one device.
- Trainable BatchNorm: TensorFlow's MirroredStrategy and DDP normalize each
  replica with its own half-batch, so updates and moving variances differ by
  O(1); `synchronize_batch_norm` (TensorFlow) and JAX's DataParallel (one SPMD
  program over the global batch) match one device (measured on the 2-core EPYC:
  updates 1.7e-4 and 1.3e-5 relative, moving statistics <= 6e-5). With the whole
  network TensorFlow's synchronized updates were 13% away from one device's (a
  1e-7 perturbation of the kernels alone moved one device's update by 3e-3):
  the deep network's sensitivity to where cross-replica sums round, which this
  shallower one does not have.

Trainable-BatchNorm runs take one step: from random weights on 4x32x32 clips
the late BatchNorm layers see 4 values per channel, and training is chaotic (a
1e-6 perturbation of the kernels on one device moves weights by 0.09 after two
steps), so later steps compare rounding, not semantics.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

from keras_i3d.training import distribute
from tests.support import REPO_ROOT, SUPPORT_DIR

REPO = REPO_ROOT
WORKER = SUPPORT_DIR / "distribute_worker.py"
TORCH_EXAMPLE = REPO / "examples" / "distributed_torch.py"
BACKEND = keras.backend.backend()
ONE_DEVICE_EXACT = 1e-3  # relative to the largest update; measured: <= 1.7e-4
SAME_STATISTICS = 1e-2  # global statistics, one step; measured: <= 6e-5
PER_REPLICA = 0.02  # measured: >= 0.066 (TensorFlow's moving means), 0.13 to 15 (updates, moving statistics)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "TF_CONFIG")}
    env.update(KERAS_BACKEND=BACKEND, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO), **extra)
    return env


@pytest.fixture(scope="module")
def engine_results() -> dict:
    """Runs tests/support/distribute_worker.py once for this backend (TensorFlow: ~50 s, JAX: ~40 s on 2 cores)."""
    modes = ["frozen:2", "trainable:1"] + (["sync:1"] if BACKEND == "tensorflow" else [])
    # JAX: XLA's LLVM optimizations take most of the compile time and change nothing measured here.
    env = _env(XLA_FLAGS="--xla_backend_optimization_level=0") if BACKEND == "jax" else _env()
    done = subprocess.run(
        [sys.executable, str(WORKER), "--replicas", "2", "--bn", *modes],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.stderr[-5000:]
    return json.loads(lines[-1][len("RESULT ") :])["modes"]


# --- the API -------------------------------------------------------------------------------------


def test_one_replica_outside_a_scope(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert distribute.replica_count() == 1


@pytest.mark.torch_only
def test_torch_has_no_scope_and_counts_torchrun_processes(monkeypatch):
    with pytest.raises(NotImplementedError, match="torchrun"), distribute.distribution_scope():
        pass
    with pytest.raises(NotImplementedError, match="freeze"):
        distribute.synchronize_batch_norm(keras.Sequential([keras.layers.BatchNormalization()]))
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert distribute.replica_count() == 3


def test_an_empty_device_list_is_refused():
    with pytest.raises(ValueError, match="at least one device"), distribute.distribution_scope([]):
        pass


@pytest.mark.parametrize(
    ("tf_config", "expected"),
    [
        (None, False),
        ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}', False),
        ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 1}}', True),
        ("not json", True),  # TensorFlow reports it
    ],
)
def test_tf_config_with_several_tasks_means_multi_worker(monkeypatch, tf_config, expected):
    if tf_config is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", tf_config)
    assert distribute._wants_multi_worker(None) is expected
    assert distribute._wants_multi_worker(False) is False


@pytest.mark.tf_only
@pytest.mark.jax_only
def test_scope_replicates_over_the_devices_given():
    with distribute.distribution_scope(keras.distribution.list_devices()[:1]) as engine:
        assert distribute.replica_count() == 1
        assert engine is not None
    assert distribute.replica_count() == 1


def test_freeze_batch_norm_freezes_only_batch_norm():
    inner = keras.Sequential([keras.layers.Dense(2), keras.layers.BatchNormalization()])
    model = keras.Sequential([keras.Input((3,)), inner, keras.layers.BatchNormalization(), keras.layers.Dense(1)])
    assert len(distribute.freeze_batch_norm(model)) == 2
    assert [layer.trainable for layer in inner.layers] == [True, False]
    assert model.layers[1].trainable is False and model.layers[2].trainable is True


@pytest.mark.tf_only  # and JAX; PyTorch raises (above)
@pytest.mark.jax_only
def test_synchronize_batch_norm():
    model = keras.Sequential([keras.Input((3,)), keras.layers.BatchNormalization()])
    assert distribute.synchronize_batch_norm(model) == (1 if BACKEND == "tensorflow" else 0)
    assert model.layers[0].synchronized is (BACKEND == "tensorflow")


# --- TensorFlow and JAX: weights after training against one device ------------------------------


@pytest.mark.tf_only
@pytest.mark.jax_only
def test_frozen_batch_norm_matches_one_device(engine_results):
    result = engine_results["frozen:2"]
    assert result["replicas_in_scope"] == 2
    assert 0 < result["trainable"]["max_update"]
    assert result["trainable"]["relative"] < ONE_DEVICE_EXACT, result
    assert result["moving_mean"]["max_abs_diff"] == result["moving_variance"]["max_abs_diff"] == 0.0


@pytest.mark.tf_only  # TensorFlow's MirroredStrategy
def test_tensorflow_batch_norm_statistics_are_per_replica(engine_results):
    result = engine_results["trainable:1"]
    assert result["trainable"]["relative"] > PER_REPLICA, result
    assert result["moving_mean"]["relative"] > PER_REPLICA, result
    assert result["moving_variance"]["relative"] > PER_REPLICA, result


@pytest.mark.tf_only  # TensorFlow's synchronized BatchNormalization
def test_tensorflow_synchronized_batch_norm_matches_one_device(engine_results):
    result = engine_results["sync:1"]
    for kind in ("moving_mean", "moving_variance"):
        assert result[kind]["relative"] < SAME_STATISTICS, result
    assert result["trainable"]["relative"] < ONE_DEVICE_EXACT, result


@pytest.mark.jax_only  # JAX's DataParallel
def test_jax_batch_norm_statistics_are_global(engine_results):
    result = engine_results["trainable:1"]
    assert result["replicas_in_scope"] == 2
    for kind in ("trainable", "moving_mean", "moving_variance"):
        assert result[kind]["relative"] < SAME_STATISTICS, result
    assert result["moving_variance"]["relative"] < ONE_DEVICE_EXACT, result


# --- PyTorch: torchrun + DistributedDataParallel (examples/distributed_torch.py) -------------------


def _torch_runs(tmp_path: Path, steps: int, *flags: str) -> dict[str, dict[str, np.ndarray]]:
    """Initial weights, one process without DDP, and 2 gloo processes under torchrun."""
    runs = {
        "single": [sys.executable, str(TORCH_EXAMPLE), "--save-initial", str(tmp_path / "initial.npz")],
        "ddp": [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(TORCH_EXAMPLE),
        ],
    }
    for name, command in runs.items():
        done = subprocess.run(
            [*command, "--steps", str(steps), "--save", str(tmp_path / f"{name}.npz"), *flags],
            env=_env(OMP_NUM_THREADS="1"),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return {name: dict(np.load(tmp_path / f"{name}.npz")) for name in ("initial", "single", "ddp")}


def _differences(runs: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    initial, single, ddp = runs["initial"], runs["single"], runs["ddp"]
    kinds = {"moving_mean": [], "moving_variance": [], "trainable": []}
    for name in initial:
        kind = next((k for k in ("moving_mean", "moving_variance") if name.endswith(k)), "trainable")
        kinds[kind].append(name)
    result = {}
    for kind, names in kinds.items():
        update = max(float(np.max(np.abs(single[n] - initial[n]))) for n in names)
        diff = max(float(np.max(np.abs(single[n] - ddp[n]))) for n in names)
        result[kind] = diff / update if update else diff
    return result


@pytest.mark.torch_only  # PyTorch's DDP
def test_ddp_with_frozen_batch_norm_matches_one_process(tmp_path):
    result = _differences(_torch_runs(tmp_path, 2))
    assert result["trainable"] < ONE_DEVICE_EXACT, result
    assert result["moving_mean"] == result["moving_variance"] == 0.0


@pytest.mark.torch_only  # PyTorch's DDP
def test_ddp_batch_norm_statistics_are_per_process(tmp_path):
    result = _differences(_torch_runs(tmp_path, 1, "--trainable-bn"))
    assert min(result.values()) > PER_REPLICA, result
