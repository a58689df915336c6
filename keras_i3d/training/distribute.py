"""Data-parallel training with the engines the backends already have.

keras_i3d adds no distribution engine of its own; `distribution_scope` opens
the one the current Keras backend offers:

- TensorFlow: ``tf.distribute.MirroredStrategy`` (one host, several GPUs) or
  ``tf.distribute.MultiWorkerMirroredStrategy`` (several hosts, ``TF_CONFIG``).
- JAX: ``keras.distribution.DataParallel``: one SPMD program over the global
  batch. Several hosts: call ``keras.distribution.initialize()`` (or
  ``jax.distributed.initialize()``) first, on every host.
- PyTorch: Keras has no engine; wrap the model in
  ``torch.nn.parallel.DistributedDataParallel`` and launch with ``torchrun``
  (``examples/distributed_torch.py``). `distribution_scope` raises there.

Build, compile and fit the model inside the scope, with a *global* batch size
(``per_replica_batch * replica_count()``)::

    with keras_i3d.training.distribute.distribution_scope():
        model = keras_i3d.I3D(weights="kinetics400_rgb", include_top=False, pooling="avg")
        ...
        keras_i3d.training.distribute.freeze_batch_norm(model)
        model.compile(...)
        model.fit(dataset.batch(8 * keras_i3d.training.distribute.replica_count()), ...)

Batch normalization: in training mode a replica normalizes with the statistics
of what it sees. Under TensorFlow's strategies that is its own slice of the
batch (unless synchronized, see `synchronize_batch_norm`); under JAX's
``DataParallel`` it is the whole global batch, as on one device; under DDP it
is the process's slice, and each process keeps its own moving averages. The
recipe for fine-tuning is therefore `freeze_batch_norm`: BatchNorm layers in
inference mode (DeepMind's moving statistics), which every engine computes
exactly as one device does.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Iterator

import keras

from keras_i3d.training.transfer import freeze_batch_norm  # noqa: F401 - the recipe's BatchNorm choice, here too
from keras_i3d.utils.tf_loader import import_tensorflow

#: What `distribution_scope` says on the PyTorch backend.
TORCH_MESSAGE = (
    "Keras has no distribution engine for the PyTorch backend. Wrap the model in "
    "torch.nn.parallel.DistributedDataParallel inside a plain PyTorch training loop and launch it with "
    "`torchrun --nproc_per_node=N script.py`; see examples/distributed_torch.py."
)


def _backend() -> str:
    return keras.backend.backend()


def _wants_multi_worker(multi_worker: bool | None) -> bool:
    if multi_worker is not None:
        return multi_worker
    config = os.environ.get("TF_CONFIG")
    if not config:
        return False
    try:
        cluster = json.loads(config).get("cluster", {})
    except (ValueError, AttributeError):
        return True  # let TensorFlow report the broken TF_CONFIG
    return sum(len(tasks) for tasks in cluster.values()) > 1


@contextlib.contextmanager
def distribution_scope(devices: list[str] | None = None, multi_worker: bool | None = None) -> Iterator[object]:
    """Opens the backend's data-parallel engine; build, compile and fit the model inside.

    Args:
        devices: the devices to replicate over, in Keras' spelling (``"gpu:0"``,
            ``"cpu:1"``; TensorFlow's ``"/gpu:0"`` works there too). ``None``:
            every accelerator, or every CPU device when there is no accelerator.
            Several hosts: ``None`` (all global devices); TensorFlow's
            multi-worker strategy takes no device list.
        multi_worker: TensorFlow only: use ``MultiWorkerMirroredStrategy``.
            ``None``: when ``TF_CONFIG`` names a cluster of more than one task.

    Yields:
        The engine: a ``tf.distribute.Strategy`` on TensorFlow, a
        ``keras.distribution.DataParallel`` on JAX.

    Raises:
        NotImplementedError: on the PyTorch backend (use ``torchrun`` and DDP).
        ValueError: for ``devices`` on a multi-worker strategy, or an empty list.
    """
    if devices is not None and len(devices) == 0:
        raise ValueError("`devices` must name at least one device, or be None for all of them.")
    backend = _backend()
    if backend == "tensorflow":
        if _wants_multi_worker(multi_worker):
            if devices is not None:
                raise ValueError("MultiWorkerMirroredStrategy takes no `devices`: each worker uses all of its own.")
            strategy = _tf_strategy(None, multi_worker=True)
        else:
            names = tuple(_tf_device_name(d) for d in devices or keras.distribution.list_devices())
            strategy = _tf_strategy(names, multi_worker=False)
        with strategy.scope():
            yield strategy
    elif backend == "jax":
        distribution = keras.distribution.DataParallel(devices=devices)
        with distribution.scope():
            yield distribution
    elif backend == "torch":
        raise NotImplementedError(TORCH_MESSAGE)
    else:
        raise NotImplementedError(f"No data-parallel engine for the {backend!r} backend.")


@functools.cache
def _tf_strategy(devices: tuple[str, ...] | None, multi_worker: bool):
    """One strategy per device list and process.

    A second ``MirroredStrategy`` in a process reuses the first one's collective
    instance keys: training a different model under it fails with "Shape
    mismatch in the collective instance" (TensorFlow 2.21).
    """
    tf = import_tensorflow("Distributed training on TensorFlow")
    if multi_worker:
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.MirroredStrategy(list(devices))


def _tf_device_name(device: str) -> str:
    """``"gpu:0"`` -> ``"/gpu:0"``; TensorFlow's own names pass through."""
    return device if device.startswith("/") else f"/{device}"


def replica_count() -> int:
    """How many replicas share each global batch in the current scope (1 outside one).

    On TensorFlow the number of replicas of the current strategy; on JAX of the
    current ``keras.distribution`` distribution; on PyTorch the ``WORLD_SIZE``
    that ``torchrun`` sets (1 without it). Multiply the per-replica batch size by it.
    """
    backend = _backend()
    if backend == "tensorflow":
        tf = import_tensorflow("Distributed training on TensorFlow")
        return int(tf.distribute.get_strategy().num_replicas_in_sync)
    if backend == "jax":
        distribution = keras.distribution.distribution()
        return 1 if distribution is None else int(distribution.num_model_replicas)
    return int(os.environ.get("WORLD_SIZE", "1"))


def _batch_norm_layers(model: keras.Model) -> list[keras.layers.BatchNormalization]:
    return [layer for layer in model._flatten_layers() if isinstance(layer, keras.layers.BatchNormalization)]


def synchronize_batch_norm(model: keras.Model) -> int:
    """Makes trainable BatchNormalization layers use the global batch's statistics on every engine that can.

    - TensorFlow: sets each layer's ``synchronized`` flag, so that replicas
      all-reduce their statistics (Keras' ``synchronized=True``). Such a model's
      config says so, and Keras refuses that config on other backends: save
      weights (``.weights.h5``), or undo the flag before ``model.save``.
    - JAX: nothing to do: ``DataParallel`` already computes global statistics.

    Call it before ``compile``.

    Args:
        model: the model (nested models included).

    Returns:
        How many layers it changed (0 on JAX).

    Raises:
        NotImplementedError: on PyTorch, where under DDP each process normalizes with its own slice.
    """
    backend = _backend()
    if backend == "jax":
        return 0
    if backend != "tensorflow":
        raise NotImplementedError(
            f"Keras cannot synchronize BatchNormalization on the {backend!r} backend; freeze it "
            "(keras_i3d.training.distribute.freeze_batch_norm) or train with large per-process batches."
        )
    layers = _batch_norm_layers(model)
    for layer in layers:
        layer.synchronized = True
    return len(layers)
