"""Trains a small I3D on one device and on several, and prints how far the weights end up apart.

Run by tests/training/test_distribute.py in a fresh process (logical CPU devices must be
set up before the framework starts)::

    KERAS_BACKEND=jax python tests/support/distribute_worker.py --replicas 2 --bn frozen trainable

Prints one JSON line: per batch-norm mode, the largest difference between the
one-device and the data-parallel run, over the weight *updates* (trained minus
initial) of trainable weights and over the BatchNorm moving statistics,
absolute and relative to the largest update.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository

BACKEND = os.environ.get("KERAS_BACKEND", "tensorflow")
SHAPE = (4, 32, 32, 3)
#: I3D's layers up to this block, then a pooled linear classifier: the stem, 2 Inception blocks and
#: 15 Conv3D + BatchNorm units, a third of the full network's compile time (the engines treat every
#: layer alike, so depth adds time, not coverage).
ENDPOINT = "Mixed_3c"
CLASSES = 3
GLOBAL_BATCH = 4
LEARNING_RATE = 0.001


def setup_devices(count: int) -> None:
    """Makes ``count`` logical CPU devices (before the framework starts)."""
    if BACKEND == "jax":
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={count}"
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def data(steps: int):
    import numpy as np

    rng = np.random.default_rng(0)
    clips = rng.uniform(-1, 1, (GLOBAL_BATCH * steps, *SHAPE)).astype("float32")
    labels = rng.integers(0, CLASSES, GLOBAL_BATCH * steps).astype("int32")
    return clips, labels


def build(initial, bn: str):
    import keras

    import keras_i3d
    from keras_i3d.training import distribute

    keras.utils.set_random_seed(0)
    backbone = keras_i3d.I3D(include_top=False, weights=None, input_shape=SHAPE)
    features = keras.layers.GlobalAveragePooling3D()(backbone.get_layer(ENDPOINT).output)
    model = keras.Model(backbone.input, keras.layers.Dense(CLASSES, name="Logits")(features))
    if initial is not None:
        model.set_weights(initial)
    if bn == "frozen":
        distribute.freeze_batch_norm(model)
    elif bn == "sync":
        distribute.synchronize_batch_norm(model)
    model.compile(
        optimizer=keras.optimizers.SGD(LEARNING_RATE),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def train(model, steps: int) -> dict:
    clips, labels = data(steps)
    model.fit(clips, labels, batch_size=GLOBAL_BATCH, epochs=1, shuffle=False, verbose=0)
    return {v.path: v.numpy() if hasattr(v, "numpy") else v.value for v in model.weights}


def to_numpy(weights: dict) -> dict:
    import keras

    return {k: keras.ops.convert_to_numpy(v) for k, v in weights.items()}


def compare(initial: dict, single: dict, parallel: dict, trainable: set) -> dict:
    import numpy as np

    result = {}
    kinds = {
        "trainable": sorted(trainable),
        "moving_mean": sorted(n for n in initial if n.endswith("moving_mean")),
        "moving_variance": sorted(n for n in initial if n.endswith("moving_variance")),
    }
    for kind, names in kinds.items():
        update = max(float(np.max(np.abs(single[n] - initial[n]))) for n in names)
        diff = max(float(np.max(np.abs(single[n] - parallel[n]))) for n in names)
        result[kind] = {"max_update": update, "max_abs_diff": diff, "relative": diff / update if update else 0.0}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--bn", nargs="+", default=["frozen:3", "trainable:1"], help="MODE:STEPS ...")
    args = parser.parse_args()
    setup_devices(args.replicas)

    import keras

    from keras_i3d.training import distribute

    report = {"backend": BACKEND, "replicas": args.replicas, "modes": {}}
    started = time.perf_counter()
    one_device = {}  # (BatchNorm on one device, steps) -> its run: "sync" trains as "trainable" there
    for spec in args.bn:
        bn, steps = spec.split(":")
        steps = int(steps)
        t0 = time.perf_counter()
        key = (bn if bn != "sync" else "trainable", steps)
        if key not in one_device:
            model = build(None, key[0])
            initial_list = model.get_weights()  # before training changes them
            initial = to_numpy({v.path: v.value for v in model.weights})
            trainable = {v.path for v in model.trainable_weights}
            one_device[key] = (initial_list, initial, trainable, to_numpy(train(model, steps)))
        initial_list, initial, trainable, single = one_device[key]
        with distribute.distribution_scope(keras.distribution.list_devices()[: args.replicas]):
            replicas = distribute.replica_count()
            parallel_model = build(initial_list, bn)
            parallel = to_numpy(train(parallel_model, steps))
        entry = compare(initial, single, parallel, trainable)
        entry["replicas_in_scope"] = replicas
        entry["steps"] = steps
        entry["seconds"] = round(time.perf_counter() - t0, 1)
        report["modes"][spec] = entry
    report["seconds"] = round(time.perf_counter() - started, 1)
    print("RESULT " + json.dumps(report))


if __name__ == "__main__":
    main()
