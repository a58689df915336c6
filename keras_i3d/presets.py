"""The one registry of pretrained I3D weights.

Each preset names the DeepMind ``kinetics-i3d`` TF1 checkpoint it is converted
from, the input stream it expects and the label set of its classifier. The
accuracies are the Kinetics-400 test-set top-1 / top-5 numbers published in
DeepMind's README for that exact checkpoint (none were published for the
Kinetics-600 checkpoint).
"""

from __future__ import annotations

import dataclasses

#: Input channels of each stream.
STREAM_CHANNELS = {"rgb": 3, "flow": 2}

#: Number of classes of each label set.
DATASET_CLASSES = {"kinetics400": 400, "kinetics600": 600}


@dataclasses.dataclass(frozen=True)
class Preset:
    """Metadata of one pretrained weights preset.

    Attributes:
        name: the preset name, e.g. ``"kinetics400_rgb"``.
        source: the DeepMind checkpoint folder it converts from
            (``data/checkpoints/<source>/model.ckpt`` upstream).
        stream: ``"rgb"`` or ``"flow"``.
        dataset: the label set, ``"kinetics400"`` or ``"kinetics600"``.
        description: one line for humans.
        top1: published top-1 accuracy (%), or ``None``.
        top5: published top-5 accuracy (%), or ``None``.
        index_blob_id: git blob id of the checkpoint's ``model.ckpt.index`` in
            DeepMind's repository.
        data_blob_id: git blob id of its ``model.ckpt.data-00000-of-00001``.
        weights_digest: `keras_i3d.weights.files.weights_digest` of the
            converted weights (a hash of every variable's name, dtype, shape and
            value, independent of how HDF5 lays the file out), where it is
            known; cached and mirrored files are verified against it.
    """

    name: str
    source: str
    stream: str
    dataset: str
    description: str
    top1: float | None = None
    top5: float | None = None
    index_blob_id: str = ""
    data_blob_id: str = ""
    weights_digest: str | None = None

    @property
    def channels(self) -> int:
        """Input channels the weights expect (3 for RGB, 2 for flow)."""
        return STREAM_CHANNELS[self.stream]

    @property
    def classes(self) -> int:
        """Number of output classes of the weights' classifier."""
        return DATASET_CLASSES[self.dataset]

    @property
    def filename(self) -> str:
        """File name of the converted weights in the cache."""
        return f"i3d_{self.name}.weights.h5"

    @property
    def weights_config(self) -> dict:
        """What this preset's converted weights are, for their ``.config.json``."""
        return {
            "architecture": "i3d",
            "channels": self.channels,
            "classes": self.classes,
            "stream": self.stream,
            "dataset": self.dataset,
            "preset": self.name,
            "source": self.source,
        }

    @property
    def checkpoint_files(self) -> dict[str, str]:
        """``{path under DeepMind's data/ folder: git blob id}`` of the source checkpoint."""
        folder = f"checkpoints/{self.source}"
        return {
            f"{folder}/model.ckpt.index": self.index_blob_id,
            f"{folder}/model.ckpt.data-00000-of-00001": self.data_blob_id,
        }


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset(
            name="kinetics400_rgb",
            source="rgb_scratch",
            stream="rgb",
            dataset="kinetics400",
            description="RGB stream trained from scratch on Kinetics-400 (also TF-Hub's deepmind/i3d-kinetics-400).",
            top1=68.4,
            top5=88.0,
            index_blob_id="84dd4518e982d9ca6ce1ff02e95fca2e8cbb1f73",
            data_blob_id="fa7df95674dbf3579e7fccd954e51e706b4734c1",
            weights_digest="7323e1cbcbd74df80244e6daf8aee97d9e1289f9cf69c4fd53a8bd890167da90",
        ),
        Preset(
            name="kinetics400_flow",
            source="flow_scratch",
            stream="flow",
            dataset="kinetics400",
            description="Optical-flow stream trained from scratch on Kinetics-400.",
            top1=61.5,
            top5=83.4,
            index_blob_id="193bc425100f3978c793da66bd9eb54baea8dc6a",
            data_blob_id="1d6a0b68f32544af11111342857e47e30d13afa9",
        ),
        Preset(
            name="kinetics400_rgb_imagenet",
            source="rgb_imagenet",
            stream="rgb",
            dataset="kinetics400",
            description="RGB stream inflated from ImageNet Inception-v1, then trained on Kinetics-400.",
            top1=71.1,
            top5=89.3,
            index_blob_id="5ab1058b8f4f89a896c01f67c0a4c96a31548af7",
            data_blob_id="2958652e0c9c48a65010c0ebda5c9cfd4edc7c18",
        ),
        Preset(
            name="kinetics400_flow_imagenet",
            source="flow_imagenet",
            stream="flow",
            dataset="kinetics400",
            description="Optical-flow stream inflated from ImageNet Inception-v1, then trained on Kinetics-400.",
            top1=63.4,
            top5=84.9,
            index_blob_id="8217f9450d851d24782aaf1af01c5c3b35b81a35",
            data_blob_id="bf56831f663abc3de0d35f193030b73a3df7fb61",
        ),
        Preset(
            name="kinetics600_rgb",
            source="rgb_scratch_kin600",
            stream="rgb",
            dataset="kinetics600",
            description="RGB stream trained from scratch on Kinetics-600.",
            index_blob_id="d378d8f01215fe92a29cd170f040c284070e9cd5",
            data_blob_id="6392a74c3180e706cabada39d8f40a50a48642e5",
        ),
    ]
}


#: DeepMind's sample clip files (UCF-101 ``v_CricketShot_g04_c01``) and their git blob ids.
SAMPLE_FILES = {
    "v_CricketShot_g04_c01_rgb.gif": "688ca2fe1a32cdb111f57b6bafc9068095dc3bbd",
    "v_CricketShot_g04_c01_flow.gif": "c69232fcf20b007564f53df20371e55f38882bb9",
}


def deepmind_files() -> dict[str, str]:
    """Every DeepMind file the package can fetch: ``{path under data/: git blob id}``."""
    files = dict(SAMPLE_FILES)
    for preset in PRESETS.values():
        files.update(preset.checkpoint_files)
    return files


def get_preset(name: str) -> Preset:
    """Returns the preset called ``name``.

    Raises:
        ValueError: if there is no such preset; the message lists them all.
    """
    try:
        return PRESETS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"Unknown I3D preset {name!r}. Available presets: "
            f"{', '.join(sorted(PRESETS))}; or pass a path to a "
            "'.weights.h5' file, or weights=None."
        ) from None
