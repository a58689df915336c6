"""Data-parallel I3D training on the PyTorch backend: torchrun + DistributedDataParallel.

Keras has no distribution engine for PyTorch; a Keras model on that backend is
a ``torch.nn.Module``, so PyTorch's own ``DistributedDataParallel`` (DDP)
wraps it, in a plain PyTorch training loop (Keras' "Multi-GPU distributed
training with PyTorch" guide). One process per device::

    # 2 processes on this machine (CPU: gloo; GPUs: nccl, one GPU per process)
    KERAS_BACKEND=torch torchrun --nproc_per_node=2 examples/distributed_torch.py

    # 2 hosts with 8 GPUs each: run on every host, with the first host's address
    KERAS_BACKEND=torch torchrun --nnodes=2 --nproc_per_node=8 --node_rank=$RANK \\
        --master_addr=10.0.0.1 --master_port=29500 examples/distributed_torch.py

    # the same training on one process, no DDP (the reference)
    KERAS_BACKEND=torch python examples/distributed_torch.py

``--batch-size`` is the global batch: each of the N processes trains on its
1/N slice and DDP averages the gradients, which equals the gradient of the mean
loss over the global batch. BatchNorm layers are frozen (inference mode,
``--trainable-bn`` to let them learn): under DDP a trainable BatchNorm
normalizes with its own process's slice, and each process keeps its own moving
statistics (they are not parameters that DDP averages, nor buffers it
broadcasts); this script saves process 0's.

Random clips and labels, so that it runs anywhere in seconds; ``--save`` writes
the trained weights (``.npz``, by variable path) from process 0.
"""

import argparse
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import keras_i3d
from keras_i3d.training import distribute

if keras.backend.backend() != "torch":
    raise SystemExit("This example runs on the PyTorch backend: KERAS_BACKEND=torch.")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=4, help="global batch size (all processes together)")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--trainable-bn", action="store_true", help="train BatchNorm (per-process statistics)")
    parser.add_argument("--save", help="write process 0's trained weights to this .npz file")
    parser.add_argument("--save-initial", help="write the weights before training to this .npz file")
    return parser.parse_args()


def save_weights(model: keras.Model, path: str) -> None:
    np.savez(path, **{v.path: keras.ops.convert_to_numpy(v) for v in model.weights})


def main() -> None:
    args = parse_args()
    distributed = "WORLD_SIZE" in os.environ  # set by torchrun
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    else:
        rank, world = 0, 1
    if args.batch_size % world:
        raise SystemExit(f"--batch-size {args.batch_size} does not split over {world} processes.")
    local_batch = args.batch_size // world

    # The same seed everywhere; DDP also copies process 0's weights to the others when it wraps the model.
    keras.utils.set_random_seed(0)
    model = keras_i3d.I3D(
        weights=None,
        input_shape=(args.frames, args.size, args.size, 3),
        classes=args.classes,
        classifier_activation=None,
    )
    if not args.trainable_bn:
        distribute.freeze_batch_norm(model)
    # Keras variables are torch Parameters; frozen ones have requires_grad=False.
    trainable = [p for p in model.parameters() if p.requires_grad]
    if distributed:
        device_ids = [torch.cuda.current_device()] if torch.cuda.is_available() else None
        network = DistributedDataParallel(model, device_ids=device_ids)
    else:
        network = model
    optimizer = torch.optim.SGD(trainable, lr=args.learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    device = trainable[0].device

    if args.save_initial and rank == 0:
        save_weights(model, args.save_initial)

    # The global batches, identical in every process; each takes its own contiguous slice.
    rng = np.random.default_rng(0)
    shape = (args.steps * args.batch_size, args.frames, args.size, args.size, 3)
    clips = rng.uniform(-1, 1, shape).astype("float32")
    labels = rng.integers(0, args.classes, args.steps * args.batch_size)
    for step in range(args.steps):
        start = step * args.batch_size + rank * local_batch
        x = torch.from_numpy(clips[start : start + local_batch]).to(device)
        y = torch.from_numpy(labels[start : start + local_batch]).to(device)
        logits = network(x, training=True)
        loss = loss_fn(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if rank == 0:
            print(f"step {step + 1}/{args.steps}: loss {loss.item():.4f} (process 0 of {world})", flush=True)

    if args.save and rank == 0:
        save_weights(model, args.save)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
