"""The ``keras-i3d`` command: presets, download, convert, classify, features, flow, export, dataset, finetune, bench.

Prints only what was asked for: the backend framework's start-up log lines
are silenced while it loads, and errors (usage errors too) are one line on
stderr, ``keras-i3d: error: ...`` (only the "could not get weights" error
lists its reasons on further lines), without traceback unless ``--debug``.
Exit codes: 0 done, 1 an input file could not be processed (for a folder:
the others were, and the failures are listed at the end), 2 anything else
(arguments, weights, output paths), 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

from keras_i3d.utils.arguments import OneLineArgumentParser
from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    import numpy as np
    from tqdm.auto import tqdm

    from keras_i3d import presets as presets_lib
    from keras_i3d.applications.i3d import I3D, load_model
    from keras_i3d.applications.two_stream import TwoStreamI3D
    from keras_i3d.cli.bench import add_bench_command
    from keras_i3d.cli.training import add_training_commands
    from keras_i3d.errors import FileAccessError, InputError, KerasI3DError
    from keras_i3d.model.architecture import DEFAULT_SIZE, FEATURES_ENDPOINT, VALID_ENDPOINTS
    from keras_i3d.model.clip_checks import check_clip
    from keras_i3d.model.fusion import fuse_for_inference
    from keras_i3d.serving.export import (
        check_version_free,
        describe_signatures,
        export_saved_model,
        model_streams,
        serving_options,
    )
    from keras_i3d.utils import files
    from keras_i3d.video.decode import VIDEO_SUFFIXES, check_video_file, probe_video, read_gif
    from keras_i3d.video.flow import cached_flow_path, flow_cache_key, video_flow
    from keras_i3d.video.flow_pictures import save_flow_picture
    from keras_i3d.video.inference import predict_clip, predict_video
    from keras_i3d.video.plots import plot_timeline
    from keras_i3d.weights import deepmind as deepmind_data
    from keras_i3d.weights.checkpoints import convert_checkpoint
    from keras_i3d.weights.fetch import download_presets
    from keras_i3d.weights.spec import WeightsSpec, describe, is_weights_file


def _cmd_presets(args: argparse.Namespace) -> int:
    print(f"{'preset':28} {'source checkpoint':20} {'stream':6} {'classes':>7}  top-1/top-5")
    for p in presets_lib.PRESETS.values():
        acc = f"{p.top1} / {p.top5}" if p.top1 is not None else "not published"
        print(f"{p.name:28} {p.source:20} {p.stream:6} {p.classes:7d}  {acc}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    preset = presets_lib.get_preset(args.preset)
    kwargs = dict(preset=preset.name, validate=not args.no_validate, tolerance=args.tolerance)
    if args.checkpoint:
        result = convert_checkpoint(args.checkpoint, args.output, **kwargs)
    else:
        with deepmind_data.source_checkpoint(preset) as prefix:
            result = convert_checkpoint(prefix, args.output, **kwargs)
    print(result.summary())
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    names = sorted(presets_lib.PRESETS) if args.all else args.presets
    if not names:
        raise ValueError("name presets to download, or pass --all (see `keras-i3d presets`).")
    chosen = [presets_lib.get_preset(name) for name in names]  # unknown names fail before any download
    progress = not args.quiet
    if args.data_dir is not None:
        relatives = list(presets_lib.SAMPLE_FILES)
        for preset in chosen:
            relatives += list(preset.checkpoint_files)
        for path in deepmind_data.download_data_folder(args.data_dir, relatives, progress=progress):
            print(path)
        return 0
    for name, path in download_presets(names, progress=progress).items():
        print(f"{name:28} {path}")
    for stream in ("rgb", "flow"):
        print(f"{'sample clip (' + stream + ')':28} {deepmind_data.sample_clip(stream, progress=progress)}")
    return 0


def _load_npy(source: str) -> np.ndarray:
    path = check_video_file(source)
    with open(path, "rb") as f:
        if f.read(6) != b"\x93NUMPY":
            raise InputError(f"{path} is not a .npy file (no NumPy header).")
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as e:
        if "pickle" in str(e):
            raise InputError(f"{path} holds Python objects (pickled data), not an array of numbers.") from e
        raise InputError(f"{path} is not a readable .npy array (truncated or corrupt): {e}") from e
    except (OSError, EOFError) as e:
        raise InputError(f"{path} is not a readable .npy array (truncated or corrupt): {e}") from e


def _inputs(source: str) -> tuple[list[Path], Path | None]:
    """The files to process and, for a folder, the folder (for relative names)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (*VIDEO_SUFFIXES, ".npy"))
        if not files:
            raise InputError(f"{path} holds no videos ({', '.join(VIDEO_SUFFIXES)}) or .npy clips.")
        return files, path
    return [path], None


def _model_for(args: argparse.Namespace):
    """The network the options describe: one stream, or two for ``--stream joint``."""
    if args.stream == "joint":
        if args.weights is not None:
            raise ValueError("--stream joint takes --rgb-weights and --flow-weights, not --weights.")
        rgb, flow = args.rgb_weights or "kinetics400_rgb", args.flow_weights or "kinetics400_flow"
        return TwoStreamI3D(
            rgb_weights=_describe_weights_arg(rgb, "--rgb-weights"),
            flow_weights=_describe_weights_arg(flow, "--flow-weights"),
            classifier_activation=None,
        )
    if args.rgb_weights or args.flow_weights:
        raise ValueError("--rgb-weights and --flow-weights go with --stream joint; use --weights.")
    spec = _describe_weights_arg(args.weights or f"kinetics400_{args.stream}", "--weights")
    if spec.kind == "preset" and spec.stream != args.stream:
        raise ValueError(f"--weights {spec.preset.name} is a {spec.stream} preset; pass --stream {spec.stream}.")
    return I3D(weights=spec, classes=spec.classes or 400, classifier_activation=None)


def _describe_weights_arg(weights: str, option: str) -> WeightsSpec:
    """The spec of a weights option (the one interpretation the builders use too)."""
    if not is_weights_file(weights) and weights not in presets_lib.PRESETS:
        raise ValueError(
            f"{option} {weights!r} is neither a preset ({', '.join(sorted(presets_lib.PRESETS))}) "
            "nor a .weights.h5 file."
        )
    return describe(weights)


def _check_window_args(args: argparse.Namespace) -> None:
    for option in ("top", "clip_frames", "stride", "batch_size"):
        value = getattr(args, option, None)
        if value is not None and value < 1:
            raise ValueError(f"--{option.replace('_', '-')} must be at least 1; got {value}.")


def _precheck(path: Path, args: argparse.Namespace) -> None:
    """Reads or probes one input file, so that a bad one fails before any model is built.

    GIFs and .npy clips are small: they are read whole and kept for `_predict`.
    """
    suffix = path.suffix.lower()
    if suffix == ".npy":
        args.preloaded = {path: _npy_clip(path, args.stream)}
    elif suffix == ".gif":
        args.preloaded = {path: read_gif(path)}
    else:
        probe_video(path)


def _npy_clip(path: Path, stream: str) -> np.ndarray:
    if stream == "joint":
        raise InputError(f"{path}: a .npy clip holds one stream; --stream joint needs a video.")
    clip_shape = (None, DEFAULT_SIZE, DEFAULT_SIZE, presets_lib.STREAM_CHANNELS[stream])
    return check_clip(_load_npy(path), channels=clip_shape[-1], input_shape=clip_shape, what=str(path),
                      size_hint=_SIZE_HINT)  # fmt: skip


def _predict(model, path: Path, args: argparse.Namespace, endpoints=(), pool="avg", progress=True):
    """Runs ``model`` over one input file: a video, a GIF clip or a preprocessed .npy clip."""
    preloaded = getattr(args, "preloaded", {}).get(path)
    if path.suffix.lower() == ".npy":
        clip = preloaded if preloaded is not None else _npy_clip(path, args.stream)
        return predict_clip(model, clip, endpoints=endpoints, pool=pool, source=str(path))
    check_video_file(path)
    kwargs = dict(
        clip_frames=args.clip_frames, stride=args.stride, batch_size=args.batch_size, endpoints=endpoints, pool=pool,
        flow_cache=not args.no_flow_cache, flow_cache_dir=args.flow_cache_dir, progress=progress,
    )  # fmt: skip
    if path.suffix.lower() == ".gif":
        frames = preloaded if preloaded is not None else read_gif(path)
        # DeepMind's sample clips are GIFs of frames already cropped to 224x224: used as they are.
        prepared = frames.shape[1:3] == (DEFAULT_SIZE, DEFAULT_SIZE)
        result = predict_video(model, frames, resize=not prepared, **kwargs)
        result.source = str(path)
        return result
    return predict_video(model, path, **kwargs)


def _for_each_input(args: argparse.Namespace, work) -> int:
    """Runs ``work(path, progress)`` over the input (a file or a folder); reports failures, returns the exit code."""
    files, folder = _inputs(args.input or str(deepmind_data.sample_clip("rgb")))
    if folder is None:
        work(files[0], not args.quiet)
        return 0
    failed = []
    for path in tqdm(files, unit="video", desc=folder.name, disable=args.quiet, leave=False):
        try:
            work(path, False)
        except InputError as e:  # this file; the others may still work
            failed.append((path, e))
            _debug(args)
    args.failed = failed
    for path, error in failed:
        print(f"keras-i3d: could not process {path}: {error}", file=sys.stderr)
    return 1 if failed else 0


def _debug(args: argparse.Namespace) -> None:
    if getattr(args, "debug", False):
        traceback.print_exc()


def _cmd_classify(args: argparse.Namespace) -> int:
    _check_window_args(args)
    if args.plot is not None and Path(args.plot).suffix.lower() not in (".png", ".svg", ".pdf", ".jpg"):
        if not (args.input and Path(args.input).is_dir()):
            raise ValueError(f"--plot names a .png (or .svg, .pdf, .jpg) picture; got {args.plot}.")
    source = args.input
    if source and not Path(source).is_dir():
        _precheck(Path(source), args)  # a bad file fails before the model is built
    elif source:
        _inputs(source)  # so does a folder without videos
    model = fuse_for_inference(_model_for(args))  # same logits (to float32 round-off), faster
    results = []

    def work(path: Path, progress: bool) -> None:
        prediction = _predict(model, path, args, progress=progress)
        results.append(prediction)
        if args.plot is not None:
            plot = Path(args.plot)
            if args.input and Path(args.input).is_dir():
                plot = plot / path.relative_to(args.input).with_suffix(".png")
            plot_timeline(prediction, plot, top=args.top)
        if not args.json:
            if args.input and Path(args.input).is_dir():
                print(f"{path}  ({prediction.frames / prediction.fps:.2f} s, {len(prediction.starts)} windows)")
            for label, probability in prediction.top(args.top):
                print(f"{probability:8.4f}  {label}")

    args.failed = []
    status = _for_each_input(args, work)
    if args.json:
        document = {
            "videos": [r.to_json(args.top) for r in results],
            "failed": [{"video": str(p), "error": str(e)} for p, e in args.failed],
        }
        print(json.dumps(document, indent=2))
    return status


def _cmd_features(args: argparse.Namespace) -> int:
    _check_window_args(args)
    if args.endpoint not in VALID_ENDPOINTS:
        raise ValueError(f"--endpoint {args.endpoint!r} is not one of {', '.join(VALID_ENDPOINTS)}.")
    is_folder = Path(args.input).is_dir()
    out = Path(args.out)
    if not is_folder and out.suffix.lower() != ".npy":
        raise ValueError(f"--out names a .npy file for one video; got {out}.")
    if is_folder and out.suffix:
        raise ValueError(f"--out names a folder for a folder of videos; got {out}.")
    if not is_folder:
        _precheck(check_video_file(args.input), args)
    else:
        _inputs(args.input)
    model = fuse_for_inference(_model_for(args))
    pool = None if args.no_pool else "avg"
    index_path = out / "index.json"
    index = _read_index(index_path) if is_folder else {}

    def work(path: Path, progress: bool) -> None:
        name = str(path.relative_to(args.input)) if is_folder else path.name
        target = out / f"{name}.npy" if is_folder else out
        if is_folder and name in index and target.is_file():
            return  # done in an earlier run
        prediction = _predict(model, path, args, endpoints=(args.endpoint,), pool=pool, progress=progress)
        key = next(iter(prediction.features))
        features = prediction.features[key]
        with files.atomic_path(target, suffix=".npy") as tmp:
            np.save(tmp, features)
        entry = {
            "file": target.name if not is_folder else f"{name}.npy",
            "endpoint": key,
            "shape": list(features.shape),
            "starts": prediction.starts.tolist(),
            "ends": prediction.ends.tolist(),
        }
        if is_folder:
            index[name] = entry
            files.write_json_atomic(index_path, {"endpoint": args.endpoint, "pool": pool, "videos": index})
        else:
            print(f"{target}  {features.shape}")

    status = _for_each_input(args, work)
    if is_folder:
        print(f"{index_path}  ({len(index)} videos, {len(args.failed)} failed)")
    return status


def _read_index(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())["videos"]
    except (ValueError, KeyError, TypeError) as e:
        raise FileAccessError(f"{path} is not a features index written by keras-i3d ({e}); remove it.") from e


def _cmd_flow(args: argparse.Namespace) -> int:
    path = check_video_file(args.input)
    for option, value, suffixes in (("--out", args.out, (".npy",)), ("--picture", args.picture, (".png", ".gif"))):
        if value is not None and Path(value).suffix.lower() not in suffixes:
            raise ValueError(f"{option} names a {' or '.join(suffixes)} file; got {value}.")
    flow = video_flow(path, cache=not args.no_cache, cache_dir=args.cache_dir, progress=not args.quiet)
    if args.out is not None:
        with files.atomic_path(Path(args.out), suffix=".npy") as tmp:
            np.save(tmp, np.asarray(flow, np.float32))
        print(args.out)
    elif not args.no_cache:
        print(cached_flow_path(path, flow_cache_key(path, 25.0, 256), args.cache_dir))
    if args.picture is not None:
        print(save_flow_picture(flow, args.picture))
    return 0


def _read_label_file(path: str) -> list[str]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise FileAccessError(f"Cannot read --labels {path}: {e}") from e
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if not labels:
        raise ValueError(f"--labels {path} holds no class names (one per line).")
    return labels


def _cmd_export(args: argparse.Namespace) -> int:
    if args.top_k is not None and args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1; got {args.top_k}.")
    if args.version is not None and args.version < 1:
        raise ValueError(f"--version must be at least 1; got {args.version}.")
    check_version_free(args.out, args.version)  # before the model is built
    labels = _read_label_file(args.labels) if args.labels is not None else None
    if args.model is not None:
        if args.weights or args.rgb_weights or args.flow_weights:
            raise ValueError("--model is a whole model: it takes no --weights, --rgb-weights or --flow-weights.")
        with quiet_framework_startup():  # Keras' loading code imports TensorFlow when it is installed
            model = load_model(args.model)
    else:
        model = _model_for(args)
    options = serving_options(model, top_k=args.top_k, labels=labels)  # bad options fail before any export work
    path = export_saved_model(
        model, args.out, version=args.version, top_k=args.top_k, labels=labels, verify=not args.no_verify,
        progress=not args.quiet,
    )  # fmt: skip
    print(path)
    for line in describe_signatures(options, model_streams(model)):
        print(f"  {line}")
    return 0


_SIZE_HINT = f" DeepMind's networks take {DEFAULT_SIZE}x{DEFAULT_SIZE} crops; crop or resize the frames."


def _add_network_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stream", choices=("rgb", "flow", "joint"), default="rgb", help="network stream (default rgb)")
    p.add_argument("--weights", help="a preset or .weights.h5 (default kinetics400_<stream>)")
    p.add_argument("--rgb-weights", help="with --stream joint: the RGB stream's weights (default kinetics400_rgb)")
    p.add_argument("--flow-weights", help="with --stream joint: the flow stream's weights (default kinetics400_flow)")


def _add_video_options(p: argparse.ArgumentParser) -> None:
    _add_network_options(p)
    p.add_argument("--clip-frames", type=int, default=64, help="frames per window (default 64)")
    p.add_argument("--stride", type=int, default=32, help="frames between window starts (default 32)")
    p.add_argument("--batch-size", type=int, default=1, help="windows per forward pass (default 1)")
    p.add_argument("--flow-cache-dir", help="where computed optical flow is cached (default: beside each video)")
    p.add_argument("--no-flow-cache", action="store_true", help="compute optical flow without caching it")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def _add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``keras-i3d``."""
    parser = OneLineArgumentParser(prog="keras-i3d", description="DeepMind's I3D video network for Keras 3.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("presets", help="list the pretrained weights presets")
    p.set_defaults(func=_cmd_presets)

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
    p.add_argument("--data-dir", help="download DeepMind's original checkpoint files and sample clips here")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_download)

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
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser(
        "classify",
        help="classify videos: a file, a folder, a DeepMind-style GIF clip or a preprocessed .npy",
        description="Classify a video (any format FFmpeg reads) or every video in a folder, in sliding windows; "
        "the video's prediction is the mean of the windows' logits.",
    )
    p.add_argument("input", nargs="?", help="a video, a folder of videos, a .gif or a .npy; default: DeepMind's sample")
    _add_video_options(p)
    p.add_argument("--top", type=int, default=5, help="classes to print (default 5)")
    p.add_argument("--plot", help="timeline picture of the top classes (.png); a folder for a folder of videos")
    p.add_argument("--json", action="store_true", help="print JSON (per window and per video) instead of text")
    p.set_defaults(func=_cmd_classify)

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
    _add_video_options(p)
    p.set_defaults(func=_cmd_features)

    p = sub.add_parser(
        "flow",
        help="TV-L1 optical flow of a video (DeepMind's recipe), cached; optionally as a picture",
        description="Compute a video's TV-L1 optical flow as DeepMind did (25 fps, short side 256, grayscale), "
        "cached beside the video (or in --cache-dir), so classify --stream flow/joint reuses it. Prints the "
        "file it is in.",
    )
    p.add_argument("input", help="a video")
    p.add_argument("--out", help="also write the flow (float32 pixels, (frames - 1, H, W, 2)) to this .npy")
    p.add_argument("--picture", help="draw the flow (.png grid of frames, or animated .gif) with a colour-wheel legend")
    p.add_argument("--cache-dir", help="folder of the flow cache (default: beside the video)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_flow)

    p = sub.add_parser(
        "export",
        help="write a SavedModel for TF Serving: signatures serving_default (float clips) and classify (raw frames)",
        description="Export a network as a SavedModel in TF Serving's layout, OUT/<version>/ (the next free version "
        "unless --version), verified against the Keras model. Signature serving_default takes preprocessed float "
        "clips; classify takes uint8 frames of any size (and float TV-L1 flow) and answers with label names.",
    )
    p.add_argument("--out", required=True, help="the model's base path (TF Serving's --model_base_path)")
    _add_network_options(p)
    p.add_argument("--model", help="a whole .keras model (e.g. fine-tuned) instead of --weights")
    p.add_argument("--version", type=int, help="version number (default: one more than the largest in --out)")
    p.add_argument("--top-k", type=int, help="labels the classify signature returns (default 5)")
    p.add_argument("--labels", help="text file of class names, one per line (default: Kinetics' for 400/600 classes)")
    p.add_argument("--no-verify", action="store_true", help="skip running the SavedModel against the Keras model")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    p.set_defaults(func=_cmd_export)
    add_training_commands(sub, _add_common_options)
    add_bench_command(sub, _add_common_options)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs ``keras-i3d``; returns the exit status."""
    args = build_parser().parse_args(argv)
    args.argv = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    try:
        return args.func(args)
    except InputError as e:  # an input file could not be processed
        _debug(args)
        print(f"keras-i3d: error: {e}", file=sys.stderr)
        return 1
    except (KerasI3DError, ValueError, OSError) as e:
        _debug(args)
        print(f"keras-i3d: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("keras-i3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
