"""Data-parallel I3D fine-tuning with ``model.fit`` on TensorFlow or JAX (`keras_i3d.training.distribute`).

    # all GPUs of this host (TensorFlow: MirroredStrategy; JAX: DataParallel)
    KERAS_BACKEND=jax python examples/distributed_keras.py

    # no GPU: split the CPU into 2 logical devices to try it
    KERAS_BACKEND=tensorflow python examples/distributed_keras.py --cpu-devices 2

Several hosts: TensorFlow reads ``TF_CONFIG`` on every worker (then
`distribution_scope` picks ``MultiWorkerMirroredStrategy``); on JAX set
``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and
``KERAS_DISTRIBUTION_PROCESS_ID`` and pass ``--multi-host`` (it calls
``keras.distribution.initialize()``). PyTorch: see ``distributed_torch.py``.

A tiny random-weight model and random clips, so that it runs on a CPU in
seconds; for real fine-tuning load ``weights="kinetics400_rgb"`` with
``include_top=False, pooling="avg"`` and put a new classifier on top.
"""

import argparse
import os
import time

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("--cpu-devices", type=int, default=0, help="split the CPU into this many logical devices")
parser.add_argument("--per-replica-batch", type=int, default=2)
parser.add_argument("--steps", type=int, default=3)
parser.add_argument("--multi-host", action="store_true", help="JAX: keras.distribution.initialize() first")
args = parser.parse_args()

# Logical CPU devices must exist before the framework starts.
if args.cpu_devices and os.environ.get("KERAS_BACKEND") == "jax":
    os.environ["XLA_FLAGS"] = (
        f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={args.cpu_devices}"
    )

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_i3d  # noqa: E402
from keras_i3d.training import distribute  # noqa: E402

if args.cpu_devices and keras.backend.backend() == "tensorflow":
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpu_devices)
if args.multi_host:
    keras.distribution.initialize()  # JAX; reads the KERAS_DISTRIBUTION_* variables

SHAPE, CLASSES = (4, 32, 32, 3), 3

with distribute.distribution_scope() as engine:
    replicas = distribute.replica_count()
    global_batch = args.per_replica_batch * replicas
    print(f"{keras.backend.backend()}: {type(engine).__name__}, {replicas} replicas, global batch {global_batch}")

    model = keras_i3d.I3D(weights=None, input_shape=SHAPE, classes=CLASSES, classifier_activation=None)
    distribute.freeze_batch_norm(model)  # the fine-tuning recipe: same result on every engine
    model.compile(
        optimizer=keras.optimizers.SGD(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(0)
    clips = rng.uniform(-1, 1, (args.steps * global_batch, *SHAPE)).astype("float32")
    labels = rng.integers(0, CLASSES, args.steps * global_batch)
    started = time.perf_counter()
    history = model.fit(clips, labels, batch_size=global_batch, epochs=1, shuffle=False, verbose=2)
    print(f"{args.steps} steps in {time.perf_counter() - started:.1f} s (compilation included)")
