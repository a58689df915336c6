"""The reusable pieces of ``keras-i3d extract`` as Beam ``PTransform``s, ``DoFn``s and a ``CombineFn``.

Compose them in your own pipeline::

    tasks = pipeline | beam.Create(find_tasks("videos/"))
    outcomes = tasks | ExtractVideos(settings, OutputLayout("features/"))
    outcomes | WriteIndex(settings, layout)

`ExtractVideos` skips videos whose outputs are already complete, runs the others through
``RunInference`` (`keras_i3d.beam.handlers.I3DVideoModelHandler`) and writes each video's
files as soon as they exist; its output is one outcome dict per video
(``{"name", "status": "done" | "skipped" | "failed", ...}``).
"""

from __future__ import annotations

import io
import math
import tempfile

import numpy as np

from keras_i3d.beam import outputs, storage
from keras_i3d.beam.handlers import I3DVideoModelHandler
from keras_i3d.beam.library import RunInference, beam
from keras_i3d.beam.outputs import OutputLayout
from keras_i3d.beam.records import features_example
from keras_i3d.beam.settings import ExtractSettings
from keras_i3d.beam.sources import VideoTask, is_remote
from keras_i3d.fvd.clips import ClipSampling
from keras_i3d.fvd.embedding import EMBEDDING, FVD_DIM
from keras_i3d.fvd.statistics import FVDStatistics

FINISHED = "finished"


class _SplitFinished(beam.DoFn):
    """Videos still to do (main output), and an outcome per video already finished (``finished``)."""

    def __init__(self, layout: OutputLayout):
        self.layout = layout

    def process(self, task: VideoTask):
        sidecar = outputs.finished(self.layout, task)
        if sidecar is None:
            yield task
        else:
            yield beam.pvalue.TaggedOutput(FINISHED, {"name": task.name, "status": "skipped", "sidecar": sidecar})


class _WriteResult(beam.DoFn):
    def __init__(self, layout: OutputLayout):
        self.layout = layout

    def process(self, result):
        outcome = outputs.write_result(self.layout, result.inference)
        beam.metrics.Metrics.counter("keras_i3d", f"videos_{outcome['status']}").inc()
        yield outcome


class ExtractVideos(beam.PTransform):
    """`VideoTask`s -> each video's files written, and its outcome.

    Args:
        settings: what to compute.
        layout: where the files go.
    """

    def __init__(self, settings: ExtractSettings, layout: OutputLayout):
        super().__init__()
        self.settings, self.layout = settings, layout

    def expand(self, tasks):  # noqa: D102 - Beam's PTransform
        split = (
            tasks
            | "Spread" >> beam.Reshuffle()
            | "SkipFinished" >> beam.ParDo(_SplitFinished(self.layout)).with_outputs(FINISHED, main="todo")
        )
        written = (
            split.todo
            | "I3D" >> RunInference(I3DVideoModelHandler(self.settings))
            | "Write" >> beam.ParDo(_WriteResult(self.layout))
        )
        return (written, split[FINISHED]) | "Outcomes" >> beam.Flatten()


class _WriteIndexFn(beam.DoFn):
    def __init__(self, layout: OutputLayout, record: dict):
        self.layout, self.record = layout, record

    def process(self, _):
        yield outputs.write_index(self.layout, self.record)


class WriteIndex(beam.PTransform):
    """Once every outcome is in: ``index.json`` and ``failed.txt`` rebuilt from the files (one element: counts)."""

    def __init__(self, settings: ExtractSettings, layout: OutputLayout):
        super().__init__()
        self.record, self.layout = settings.record(), layout

    def expand(self, outcomes):  # noqa: D102 - Beam's PTransform
        return (
            outcomes
            | "Count" >> beam.combiners.Count.Globally()
            | "WriteIndex" >> beam.ParDo(_WriteIndexFn(self.layout, self.record))
        )


def _is_finished(outcome: dict) -> bool:
    return outcome["status"] in ("done", "skipped")


def _read_array(layout: OutputLayout, name: str) -> np.ndarray:
    return np.load(io.BytesIO(storage.read_bytes(layout.array_path(name))), allow_pickle=False)


class FVDStatisticsCombineFn(beam.CombineFn):
    """FVD embeddings ``(400,)`` -> `keras_i3d.fvd.statistics.FVDStatistics` (sums merge across workers).

    Args:
        settings: the statistics' settings (frames, resize, network, embedding, clips), as `keras-i3d fvd`
            records them.
    """

    def __init__(self, settings: dict):
        super().__init__()
        self.settings = settings

    def create_accumulator(self) -> FVDStatistics:  # noqa: D102 - Beam's CombineFn
        return FVDStatistics(FVD_DIM, self.settings)

    def add_input(self, accumulator: FVDStatistics, embedding) -> FVDStatistics:  # noqa: D102
        accumulator.update(np.asarray(embedding)[None])
        return accumulator

    def merge_accumulators(self, accumulators) -> FVDStatistics:  # noqa: D102
        accumulators = list(accumulators)
        merged = accumulators[0]
        for other in accumulators[1:]:
            merged = merged.merge(other)
        return merged

    def extract_output(self, accumulator: FVDStatistics) -> FVDStatistics:  # noqa: D102
        return accumulator


def fvd_statistics_settings(settings: ExtractSettings, network: str) -> dict:
    """The settings `keras-i3d fvd` records for statistics made as ``settings.fvd`` says."""
    fvd = settings.fvd
    clips = ClipSampling(fvd.clip, fvd.start, fvd.seed).describe()
    return {"frames": fvd.frames, "resize": fvd.resize, "network": network, "embedding": EMBEDDING, "clips": clips}


class _SaveStatistics(beam.DoFn):
    def __init__(self, layout: OutputLayout):
        self.layout = layout

    def process(self, stats: FVDStatistics):
        if stats.count < 2:
            yield {"fvd_videos": stats.count}
            return
        scratch = io.BytesIO()
        path = self.layout.path(outputs.FVD_FILE)
        if is_remote(path):
            with tempfile.TemporaryDirectory() as tmp:
                local = stats.save(f"{tmp}/{outputs.FVD_FILE}")
                scratch.write(local.read_bytes())
            storage.write_bytes(path, scratch.getvalue())
        else:
            stats.save(path)
        yield {"fvd_videos": stats.count}


class WriteFVDStatistics(beam.PTransform):
    """Finished outcomes of an FVD job -> ``fvd_stats.npz`` (what `keras-i3d fvd` reads) over every finished video."""

    def __init__(self, layout: OutputLayout, statistics_settings: dict):
        super().__init__()
        self.layout, self.statistics_settings = layout, statistics_settings

    def expand(self, outcomes):  # noqa: D102 - Beam's PTransform
        layout = self.layout
        return (
            outcomes
            | "Finished" >> beam.Filter(_is_finished)
            | "ReadEmbeddings" >> beam.Map(lambda outcome: _read_array(layout, outcome["name"]))
            | "Statistics" >> beam.CombineGlobally(FVDStatisticsCombineFn(self.statistics_settings))
            | "Save" >> beam.ParDo(_SaveStatistics(layout))
        )


def shard_count(videos: int, per_shard: int) -> int:
    """TFRecord shards for ``videos`` videos."""
    return max(1, math.ceil(videos / per_shard))


class WriteSequenceExamples(beam.PTransform):
    """Finished outcomes -> ``OUT/tfrecord/features-SSSSS-of-NNNNN.tfrecord`` (`keras_i3d.beam.records`)."""

    def __init__(self, settings: ExtractSettings, layout: OutputLayout, shards: int):
        super().__init__()
        self.settings, self.layout, self.shards = settings, layout, shards

    def expand(self, outcomes):  # noqa: D102 - Beam's PTransform
        layout, s = self.layout, self.settings
        stride_rate = None if s.fps is None else s.fps / s.stride

        def encode(outcome: dict) -> bytes:
            sidecar = outcome["sidecar"]
            rate = stride_rate if stride_rate is not None else (sidecar["fps"] or 0.0) / s.stride
            return features_example(_read_array(layout, outcome["name"]), sidecar, s.endpoint, s.network.stream, rate)

        return (
            outcomes
            | "Finished" >> beam.Filter(_is_finished)
            | "Encode" >> beam.Map(encode)
            | "WriteTFRecord"
            >> beam.io.WriteToTFRecord(
                layout.path(f"{outputs.TFRECORD_FOLDER}/features"),
                file_name_suffix=".tfrecord",
                num_shards=self.shards,
                shard_name_template="-SSSSS-of-NNNNN",
            )  # fmt: skip
        )
