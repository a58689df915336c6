"""Inflate keras.applications' ResNet50 into a 3D ResNet50, check it on a boring video, fine-tune it on videos.

The I3D paper's bootstrapping trick on a network keras_i3d does not ship:

1. ``keras.applications.ResNet50`` (ImageNet weights by default) is inflated
   with `keras_i3d.inflate`: 7x7 -> 7x7x7, 3x3 -> 3x3x3, 1x1 -> 1x1x1, kernels
   repeated over time and divided by their time size.
2. `keras_i3d.boring_video_check` feeds the 3D network a "boring video" (one
   image repeated) and compares every layer with the 2D network on the image,
   over the frames temporal padding does not reach.
3. The 3D network gets a new classifier and is fine-tuned with the training
   pipeline (`keras_i3d.training.dataset_writer.write_dataset`, `keras_i3d.training.data.clip_dataset`)
   on examples/finetune.py's motion dataset, where one frame is not enough:
   a textured square moving up, moving down, growing or shrinking.

    python examples/inflate_resnet50.py                   # ImageNet weights (downloads them once)
    python examples/inflate_resnet50.py --weights none    # offline: random weights, batch norm trained

With ImageNet weights the batch norms stay in inference mode (their ImageNet
statistics, as keras_i3d's fine-tuning recipe does); with random weights
there are no statistics to keep, so they train. About 10 minutes on 2 CPU
cores with the defaults.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras
import numpy as np
from finetune import CLASSES, make_videos

import keras_i3d
from keras_i3d.training.data import clip_dataset
from keras_i3d.training.dataset_writer import write_dataset
from keras_i3d.training.transfer import freeze_batch_norm

#: ImageNet's per-channel means in BGR order: ResNet50's "caffe" preprocessing.
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], "float32")


def caffe_preprocessing() -> keras.layers.Dense:
    """``x`` in [-1, 1] RGB -> ResNet50's input (BGR, 0-255, ImageNet mean subtracted), as one fixed Dense.

    A Dense layer acts on the channel axis of every position, so it works on
    images and on clips alike (and inflates as it is).
    """
    swap = np.eye(3, dtype="float32")[::-1]  # RGB -> BGR
    layer = keras.layers.Dense(3, trainable=False, name="caffe_preprocessing")
    layer.build((None, 3))
    layer.set_weights([swap * 127.5, swap @ np.full(3, 127.5, "float32") - CAFFE_MEAN_BGR])
    return layer


def resnet50_2d(weights: str | None, size: int) -> keras.Model:
    """keras.applications' ResNet50 without its classifier."""
    try:
        return keras.applications.ResNet50(include_top=False, weights=weights, input_shape=(size, size, 3))
    except Exception as e:  # Keras raises several types for a failed download
        raise SystemExit(f"Could not get ResNet50's {weights} weights ({e}); offline, pass --weights none.") from e


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="/tmp/keras_i3d_inflate", help="working folder")
    parser.add_argument("--weights", default="imagenet", help="ResNet50's weights: 'imagenet' or 'none'")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--size", type=int, default=112)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--lr", type=float, default=1e-4, help="Adam's learning rate")
    parser.add_argument("--train-per-class", type=int, default=16)
    parser.add_argument("--val-per-class", type=int, default=8)
    parser.add_argument("--workers", type=int, default=None, help="decoding processes (default: one per core)")
    args = parser.parse_args()
    weights = None if args.weights == "none" else args.weights
    out = Path(args.out)

    # 1. Inflate.
    model_2d = resnet50_2d(weights, args.size)
    model_3d = keras_i3d.inflate(model_2d, name="resnet50_3d")
    kernels = model_3d.inflation.time_kernels
    sizes = sorted(set(kernels.values()))
    print(f"inflated {model_2d.name}: {len(kernels)} convolutions and pools, time kernels {sizes}")

    # 2. The boring-video check, on two frames of the first training video.
    make_videos(out / "videos" / "train", args.train_per_class, seed=0)
    make_videos(out / "videos" / "val", args.val_per_class, seed=1)
    preprocessing = caffe_preprocessing()
    frames = keras_i3d.read_video(sorted((out / "videos" / "train" / CLASSES[0]).glob("*.mp4"))[0])
    images = keras_i3d.preprocess_frames(frames[:2], size=args.size, short_side=args.size)
    images = keras.ops.convert_to_numpy(preprocessing(images))
    report = keras_i3d.boring_video_check(model_2d, model_3d, images, frames=48)
    print(report.summary())

    # 3. Fine-tune the 3D network on videos.
    for split in ("train", "val"):
        write_dataset(out / "videos" / split, out / split, short_side=128, workers=args.workers, progress=False)
    clips = keras.Input((args.frames, args.size, args.size, 3), name="clips")
    x = keras.layers.GlobalAveragePooling3D(name="avg_pool")(model_3d(preprocessing(clips)))
    x = keras.layers.Dropout(0.5, name="dropout")(x)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax", name="predictions")(x)
    classifier = keras.Model(clips, outputs, name="resnet50_3d_motion")
    if weights is not None:
        freeze_batch_norm(classifier)
    classifier.compile(keras.optimizers.Adam(args.lr), "sparse_categorical_crossentropy", metrics=["accuracy"])
    train = clip_dataset(out / "train", frames=args.frames, size=args.size, batch_size=8, training=True, seed=0)
    val = clip_dataset(out / "val", frames=args.frames, size=args.size, batch_size=8, training=False)
    start = time.monotonic()
    history = classifier.fit(train, validation_data=val, epochs=args.epochs, shuffle=False, verbose=2)
    accuracy = history.history["val_accuracy"]
    print(f"fine-tuning: {time.monotonic() - start:.0f} s for {args.epochs} epochs")
    print("validation accuracy per epoch: " + ", ".join(f"{a:.3f}" for a in accuracy))
    keras_i3d.save_inflated_weights(classifier, out / "resnet50_3d_motion.weights.h5")
    print(f"weights (with their architecture): {out / 'resnet50_3d_motion.weights.h5'}")


if __name__ == "__main__":
    main()
