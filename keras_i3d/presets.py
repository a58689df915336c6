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
        sha256: sha256 of the published ``.weights.h5`` file, when one is
            known; downloads are verified against it.
    """

    name: str
    source: str
    stream: str
    dataset: str
    description: str
    top1: float | None = None
    top5: float | None = None
    sha256: str | None = None

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
            # sha256 of the file `python -m weights_conversion` writes (Keras 3.15).
            sha256="06a0ad048dd55b05a045630be65d244b24082b929542c98ba060b532d392b621",
        ),
        Preset(
            name="kinetics400_flow",
            source="flow_scratch",
            stream="flow",
            dataset="kinetics400",
            description="Optical-flow stream trained from scratch on Kinetics-400.",
            top1=61.5,
            top5=83.4,
        ),
        Preset(
            name="kinetics400_rgb_imagenet",
            source="rgb_imagenet",
            stream="rgb",
            dataset="kinetics400",
            description="RGB stream inflated from ImageNet Inception-v1, then trained on Kinetics-400.",
            top1=71.1,
            top5=89.3,
        ),
        Preset(
            name="kinetics400_flow_imagenet",
            source="flow_imagenet",
            stream="flow",
            dataset="kinetics400",
            description="Optical-flow stream inflated from ImageNet Inception-v1, then trained on Kinetics-400.",
            top1=63.4,
            top5=84.9,
        ),
        Preset(
            name="kinetics600_rgb",
            source="rgb_scratch_kin600",
            stream="rgb",
            dataset="kinetics600",
            description="RGB stream trained from scratch on Kinetics-600.",
        ),
    ]
}


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
