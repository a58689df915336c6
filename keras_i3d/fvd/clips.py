"""Which frames of a video file FVD embeds: the first T, from a start, evenly spaced, or a seeded random clip.

Papers differ here, and FVD moves with it: the reference embeds clips as given;
StyleGAN-V and content-debiased FVD sample one random clip per real video;
long-video work spaces frames over the whole video. `ClipSampling` names the
choice so a set's statistics can record it.
"""

from __future__ import annotations

import dataclasses
import zlib
from pathlib import Path

import numpy as np

from keras_i3d.fvd.defaults import CLIP_SAMPLINGS
from keras_i3d.video.decode import read_video


@dataclasses.dataclass(frozen=True)
class ClipSampling:
    """How ``frames`` frames are taken from each video file, at the file's own frame rate.

    Attributes:
        mode: ``"first"`` (consecutive frames from ``start``: the default, frames ``0..T-1``),
            ``"even"`` (frames spread evenly from ``start`` to the last frame, both included)
            or ``"random"`` (consecutive frames from a random start at or after ``start``; the
            start depends only on ``seed`` and the file's name, so it is the same whatever
            other files the set holds, in whatever order).
        start: the first frame that may be taken.
        seed: the random clips' seed.
    """

    mode: str = "first"
    start: int = 0
    seed: int = 0

    def __post_init__(self):
        if self.mode not in CLIP_SAMPLINGS:
            raise ValueError(f"Clip sampling must be one of {', '.join(CLIP_SAMPLINGS)}; got {self.mode!r}.")
        for name in ("start", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"`{name}` must be an int >= 0; got {value!r}.")

    def describe(self) -> str:
        """A short text for the statistics' settings, e.g. ``"first from frame 0"``."""
        text = f"{self.mode} from frame {self.start}"
        return f"{text}, seed {self.seed}" if self.mode == "random" else text

    def indices(self, available: int, frames: int, name: str) -> np.ndarray:
        """The frame indices to take from a video of ``available`` frames.

        Raises:
            ValueError: when the video has fewer than ``start + frames`` frames.
        """
        if available < self.start + frames:
            raise ValueError(
                f"{name} has {available} frames, fewer than the {self.start + frames} that {frames} frames "
                f"from frame {self.start} need (--frames, --start)."
            )
        if self.mode == "first":
            return np.arange(self.start, self.start + frames)
        if self.mode == "even":
            return np.round(np.linspace(self.start, available - 1, frames)).astype(int)
        rng = np.random.default_rng([self.seed, zlib.crc32(name.encode())])
        first = self.start + int(rng.integers(0, available - self.start - frames + 1))
        return np.arange(first, first + frames)

    def read(self, path: str | Path, frames: int) -> np.ndarray:
        """The clip of ``frames`` frames of ``path``, uint8 ``(frames, H, W, 3)``.

        Raises:
            ValueError: for a video with too few frames.
            VideoError: for a file that cannot be decoded.
        """
        path = Path(path)
        # "first" decodes only what it takes; the others need the video's length, so decode it whole
        # (read_video refuses videos too large to hold).
        video = read_video(path, fps=None, max_frames=self.start + frames if self.mode == "first" else None)
        return video[self.indices(len(video), frames, path.name)]
