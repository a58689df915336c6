"""The video commands of ``keras-i3d``: ``classify``, ``features`` and ``flow``.

Each takes a file or a folder: a bad file fails before any model is built,
and in a folder each file that cannot be processed is reported at the end
(exit code 1) while the others are.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    import numpy as np

    from keras_i3d import presets as presets_lib
    from keras_i3d.cli.common import SIZE_HINT, model_for, network_identity
    from keras_i3d.cli.parser import debug
    from keras_i3d.errors import DownloadError, FileAccessError, InputError
    from keras_i3d.model.architecture import DEFAULT_SIZE, VALID_ENDPOINTS
    from keras_i3d.model.clip_checks import check_clip
    from keras_i3d.model.fusion import fuse_for_inference
    from keras_i3d.utils import files, jobs
    from keras_i3d.utils.progress import bar as progress_bar
    from keras_i3d.video.decode import (
        VIDEO_SUFFIXES,
        check_video_file,
        flow_from_gif,
        is_flow_gif,
        probe_video,
        read_gif,
    )
    from keras_i3d.video.flow import cached_flow_path, flow_cache_key, resolve_flow_implementation, video_flow
    from keras_i3d.video.flow_pictures import save_flow_picture
    from keras_i3d.video.inference import joined_features, predict_clip, predict_video
    from keras_i3d.video.plots import plot_timeline
    from keras_i3d.weights import deepmind as deepmind_data


FLOW_CACHE_NAME = re.compile(r"\.flow-[0-9a-f]{16}\.npy$")


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


def _inputs(source: str, exclude: Path | None = None) -> tuple[list[Path], Path | None]:
    """The files to process and, for a folder, the folder (for relative names).

    A folder's inputs never include the tool's own outputs: files under ``exclude``
    (an output folder inside the input folder) and cached flow (``*.flow-<key>.npy``).
    """
    path = Path(source)
    if path.is_dir():
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file()
            and p.suffix.lower() in (*VIDEO_SUFFIXES, ".npy")
            and not FLOW_CACHE_NAME.search(p.name)
            and not (exclude is not None and jobs.is_inside(p, exclude))
        )
        if not files:
            raise InputError(f"{path} holds no videos ({', '.join(VIDEO_SUFFIXES)}) or .npy clips.")
        return files, path
    return [path], None


def _precheck(path: Path, args: argparse.Namespace) -> None:
    """Reads or probes one input file, so that a bad one fails before any model is built.

    GIFs and .npy clips are small: they are read whole and kept for `_predict`.
    """
    suffix = path.suffix.lower()
    if suffix == ".npy":
        args.preloaded = {path: _npy_clip(path, args.stream)}
    elif suffix == ".gif":
        args.preloaded = {path: read_gif(path)}
        if is_flow_gif(args.preloaded[path]):
            _check_flow_gif_stream(path, args.stream)
    else:
        probe_video(path)


def _check_flow_gif_stream(path: Path, stream: str) -> None:
    if stream != "flow":
        raise InputError(
            f"{path} is a picture of optical flow (DeepMind's flow GIF: u and v in red and green, blue constant), "
            "not an RGB video; classify it with --stream flow."
        )


def _npy_clip(path: Path, stream: str) -> np.ndarray:
    if stream == "joint":
        raise InputError(f"{path}: a .npy clip holds one stream; --stream joint needs a video.")
    clip_shape = (None, DEFAULT_SIZE, DEFAULT_SIZE, presets_lib.STREAM_CHANNELS[stream])
    return check_clip(_load_npy(path), channels=clip_shape[-1], input_shape=clip_shape, what=str(path),
                      size_hint=SIZE_HINT)  # fmt: skip


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
        flow_implementation=args.flow_implementation,
    )  # fmt: skip
    if path.suffix.lower() == ".gif":
        frames = preloaded if preloaded is not None else read_gif(path)
        if is_flow_gif(frames):
            _check_flow_gif_stream(path, args.stream)
            return predict_clip(model, flow_from_gif(frames)[None], endpoints=endpoints, pool=pool, source=str(path))
        # DeepMind's sample clips are GIFs of frames already cropped to 224x224: used as they are.
        prepared = frames.shape[1:3] == (DEFAULT_SIZE, DEFAULT_SIZE)
        result = predict_video(model, frames, resize=not prepared, **kwargs)
        result.source = str(path)
        return result
    return predict_video(model, path, **kwargs)


def _for_each_input(args: argparse.Namespace, work, exclude: Path | None = None) -> int:
    """Runs ``work(path, progress)`` over the input (a file or a folder); reports failures, returns the exit code."""
    files, folder = _inputs(args.input or str(deepmind_data.sample_clip("rgb")), exclude=exclude)
    if folder is None:
        work(files[0], not args.quiet)
        return 0
    failed = []
    for path in progress_bar(files, progress=not args.quiet, unit="video", desc=folder.name, leave=False):
        try:
            work(path, False)
        except DownloadError:  # the network's weights, not this file
            raise
        except (InputError, OSError) as e:  # this file (or its output's file system); the others may still work
            failed.append((path, e))
            debug(args)
    args.failed = failed
    for path, error in failed:
        print(f"keras-i3d: could not process {path}: {error}", file=sys.stderr)
    return 1 if failed else 0


def _cmd_classify(args: argparse.Namespace) -> int:
    if args.plot is not None and Path(args.plot).suffix.lower() not in (".png", ".svg", ".pdf", ".jpg"):
        if not (args.input and Path(args.input).is_dir()):
            raise ValueError(f"--plot names a .png (or .svg, .pdf, .jpg) picture; got {args.plot}.")
    source = args.input
    if source and not Path(source).is_dir():
        _precheck(Path(source), args)  # a bad file fails before the model is built
    elif source:
        _inputs(source)  # so does a folder without videos
    model = fuse_for_inference(model_for(args))  # same logits (to float32 round-off), faster
    results = []

    def work(path: Path, progress: bool) -> None:
        prediction = _predict(model, path, args, progress=progress)
        results.append(prediction)
        if args.plot is not None:
            plot = Path(args.plot)
            if args.input and Path(args.input).is_dir():
                # a.mp4 -> a.mp4.png: a.mp4 and a.avi in one folder get a picture each
                plot = plot / f"{path.relative_to(args.input)}.png"
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


FEATURES_INDEX = "index.json"


def _cmd_features(args: argparse.Namespace) -> int:
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
        return _features_of_one_video(args, out)
    _inputs(args.input, exclude=out)
    with jobs.exclusive_folder(out, "features"):
        return _features_of_a_folder(args, out)


def _features_options(args: argparse.Namespace) -> dict:
    """Everything that shapes a features file: a folder's outputs are resumed only under the same options."""
    return {
        "input": str(Path(args.input).resolve()),
        "endpoint": args.endpoint,
        "pool": None if args.no_pool else "avg",
        "clip_frames": args.clip_frames,
        "stride": args.stride,
        **network_identity(args),
    }


def _features_of_one_video(args: argparse.Namespace, out: Path) -> int:
    model = fuse_for_inference(model_for(args))
    path = Path(args.input)
    prediction = _predict(model, path, args, endpoints=(args.endpoint,), pool=None if args.no_pool else "avg",
                          progress=not args.quiet)  # fmt: skip
    features = joined_features(prediction.features, args.endpoint)
    with files.atomic_path(out, suffix=".npy") as tmp:
        np.save(tmp, features)
    print(f"{out}  {features.shape}")
    return 0


def _features_of_a_folder(args: argparse.Namespace, out: Path) -> int:
    """One .npy per video and ``index.json`` (options, finished and failed videos); resumable."""
    options = _features_options(args)
    index_path = out / FEATURES_INDEX
    recorded = _read_index(index_path)
    jobs.check_same_options(out, recorded.get("options") if recorded else None, options, "features")
    done = dict(recorded.get("videos", {})) if recorded else {}
    failed = dict(recorded.get("failed", {})) if recorded else {}

    def save_index() -> None:
        files.write_json_atomic(index_path, {"format": 2, "options": options, "videos": done, "failed": failed})

    save_index()  # the options are recorded before the first output
    model = None

    def work(path: Path, progress: bool) -> None:
        nonlocal model
        name = path.relative_to(args.input).as_posix()
        target = out / f"{name}.npy"
        if name in done and _matches(target, done[name]["shape"]):
            return  # done in an earlier run, under the same options
        if model is None:
            model = fuse_for_inference(model_for(args))
        try:
            prediction = _predict(
                model, path, args, endpoints=(args.endpoint,), pool=options["pool"], progress=progress
            )
            features = joined_features(prediction.features, args.endpoint)
            with files.atomic_path(target, suffix=".npy") as tmp:
                np.save(tmp, features)
        except (InputError, OSError) as e:  # this video; _for_each_input reports it and goes on
            failed[name] = str(e)
            done.pop(name, None)
            save_index()
            raise
        done[name] = {
            "file": f"{name}.npy",
            "endpoint": args.endpoint,
            "shape": list(features.shape),
            "starts": prediction.starts.tolist(),
            "ends": prediction.ends.tolist(),
        }
        failed.pop(name, None)
        save_index()

    status = _for_each_input(args, work, exclude=out)
    print(f"{index_path}  ({len(done)} videos, {len(failed)} failed)")
    return status


def _matches(target: Path, shape: list[int]) -> bool:
    """Whether ``target`` is a readable .npy of ``shape`` (a finished output)."""
    try:
        return list(np.load(target, mmap_mode="r").shape) == list(shape)
    except (OSError, ValueError):
        return False


def _read_index(path: Path) -> dict | None:
    """A features folder's index, or ``None`` when there is none yet."""
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text())
        document["videos"]  # noqa: B018 - a KeyError names a file that is not an index
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise FileAccessError(f"{path} is not a features index written by keras-i3d ({e}); remove it.") from e
    if "options" not in document:
        raise FileAccessError(
            f"{path} was written by an older keras-i3d that did not record the options of its features; "
            "write to another folder, or delete this one to start over."
        )
    return document


def _cmd_flow(args: argparse.Namespace) -> int:
    path = check_video_file(args.input)
    for option, value, suffixes in (("--out", args.out, (".npy",)), ("--picture", args.picture, (".png", ".gif"))):
        if value is not None and Path(value).suffix.lower() not in suffixes:
            raise ValueError(f"{option} names a {' or '.join(suffixes)} file; got {value}.")
    implementation = resolve_flow_implementation(args.flow_implementation)
    flow = video_flow(
        path, cache=not args.no_cache, cache_dir=args.cache_dir, progress=not args.quiet, implementation=implementation
    )
    if args.out is not None:
        with files.atomic_path(Path(args.out), suffix=".npy") as tmp:
            np.save(tmp, np.asarray(flow, np.float32))
        print(args.out)
    elif not args.no_cache:
        print(cached_flow_path(path, flow_cache_key(path, 25.0, 256, implementation=implementation), args.cache_dir))
    if args.picture is not None:
        print(save_flow_picture(flow, args.picture))
    return 0
