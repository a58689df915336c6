"""What the ``keras-i3d`` commands share: the network and video options, and the network they name.

The network options (``--stream``, ``--weights``, ``--rgb-weights``,
``--flow-weights``) are read the one way the builders read ``weights``:
`keras_i3d.weights.spec.describe`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    import keras

    from keras_i3d import presets as presets_lib
    from keras_i3d.applications.i3d import I3D, load_model
    from keras_i3d.applications.two_stream import TwoStreamI3D
    from keras_i3d.model.architecture import DEFAULT_SIZE
    from keras_i3d.utils.files import sha256_file
    from keras_i3d.weights.spec import WeightsSpec, describe, is_weights_file

SIZE_HINT = f" DeepMind's networks take {DEFAULT_SIZE}x{DEFAULT_SIZE} crops; crop or resize the frames."


def model_for(args: argparse.Namespace) -> keras.Model:
    """The network the options describe: a whole ``--model``, one stream, or two for ``--stream joint``."""
    if getattr(args, "model", None) is not None:
        if args.weights or args.rgb_weights or args.flow_weights:
            raise ValueError("--model is a whole model: it takes no --weights, --rgb-weights or --flow-weights.")
        with quiet_framework_startup():  # Keras' loading code imports TensorFlow when it is installed
            return load_model(args.model)
    if args.stream == "joint":
        if args.weights is not None:
            raise ValueError("--stream joint takes --rgb-weights and --flow-weights, not --weights.")
        rgb, flow = args.rgb_weights or "kinetics400_rgb", args.flow_weights or "kinetics400_flow"
        return TwoStreamI3D(
            rgb_weights=describe_weights_arg(rgb, "--rgb-weights"),
            flow_weights=describe_weights_arg(flow, "--flow-weights"),
            classifier_activation=None,
        )
    if args.rgb_weights or args.flow_weights:
        raise ValueError("--rgb-weights and --flow-weights go with --stream joint; use --weights.")
    spec = describe_weights_arg(args.weights or f"kinetics400_{args.stream}", "--weights")
    if spec.kind == "preset" and spec.stream != args.stream:
        raise ValueError(f"--weights {spec.preset.name} is a {spec.stream} preset; pass --stream {spec.stream}.")
    return I3D(weights=spec, classes=spec.classes or 400, classifier_activation=None)


def describe_weights_arg(weights: str, option: str) -> WeightsSpec:
    """The spec of a weights option (the one interpretation the builders use too)."""
    if str(weights).endswith(".keras"):
        raise ValueError(f"{option} {weights} is a whole saved Keras model, not weights: use --model {weights}.")
    if not is_weights_file(weights) and weights not in presets_lib.PRESETS:
        raise ValueError(
            f"{option} {weights!r} is neither a preset ({', '.join(sorted(presets_lib.PRESETS))}) "
            "nor a .weights.h5 file."
        )
    return describe(weights)


def network_identity(args: argparse.Namespace) -> dict:
    """What identifies the network the options name, for a resumable job's record.

    Presets by name; files by their SHA-256 (a file rewritten under the same name
    is another network).
    """

    def file_or_preset(value: str | None) -> str | None:
        if value is None or value in presets_lib.PRESETS:
            return value
        return f"{Path(value).name} sha256:{sha256_file(value)}" if Path(value).is_file() else value

    if getattr(args, "model", None) is not None:
        return {"model": file_or_preset(args.model), "stream": args.stream}
    if args.stream == "joint":
        return {
            "stream": "joint",
            "rgb_weights": file_or_preset(args.rgb_weights or "kinetics400_rgb"),
            "flow_weights": file_or_preset(args.flow_weights or "kinetics400_flow"),
        }
    return {"stream": args.stream, "weights": file_or_preset(args.weights or f"kinetics400_{args.stream}")}
