"""FVD's sources (arrays, .npy, video files, datasets, statistics) and bad inputs, with a stand-in network."""

from __future__ import annotations

import numpy as np
import pytest

from keras_i3d.fvd import api
from keras_i3d.fvd.clips import ClipSampling
from keras_i3d.fvd.statistics import FVDStatistics
from tests.support.fvd import StandIn
from tests.support.synthetic_videos import write_video

pytestmark = pytest.mark.backend_independent  # the plumbing; the network is tested in test_fvd.py


def _videos(n, seed, frames=9, size=(16, 24)):
    return np.random.default_rng(seed).integers(0, 256, (n, frames, *size, 3)).astype(np.uint8)


def test_every_source_gives_the_same_statistics(tmp_path):
    videos = _videos(7, 0)
    expected = api.video_statistics(videos, StandIn(), batch_size=7, progress=False)
    np.save(tmp_path / "videos.npy", videos)
    for source in (
        tmp_path / "videos.npy", [videos[:3], videos[3:]], ((videos[i : i + 2], None) for i in range(0, 7, 2)),
        __import__("keras").ops.convert_to_tensor(videos),
    ):  # fmt: skip
        stats = api.video_statistics(source, StandIn(), batch_size=2, progress=False)
        assert stats.count == 7
        np.testing.assert_allclose(stats.outer, expected.outer, rtol=1e-12)
    saved = expected.save(tmp_path / "real.npz")
    assert api.video_statistics(saved, progress=False).count == 7
    other = _videos(5, 1)
    value = api.frechet_video_distance(videos, other, StandIn(), progress=False)
    assert value > 0 and api.frechet_video_distance(saved, other, StandIn(), progress=False) == pytest.approx(value)
    assert api.frechet_video_distance(videos[::-1], other, StandIn(), batch_size=1, progress=False) == pytest.approx(
        value, rel=1e-9
    )  # order and batch size do not matter


def test_video_files_give_their_first_frames(tmp_path):
    videos = _videos(3, 2, frames=12, size=(32, 32)) // 64 * 64
    (tmp_path / "set").mkdir()
    for i, clip in enumerate(videos):
        write_video(tmp_path / "set" / f"{i}.mp4", clip)
    stats = api.video_statistics(tmp_path / "set", StandIn(), frames=10, progress=False)
    assert stats.count == 3 and stats.settings["frames"] == 10
    with pytest.raises(ValueError, match="0.mp4 has 12 frames, fewer than the 16 that 16 frames from frame 0 need"):
        api.video_statistics(tmp_path / "set", StandIn(), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no videos"):
        api.video_statistics(tmp_path / "empty", StandIn(), progress=False)


def test_clip_sampling_takes_the_frames_it_names(tmp_path):
    # Frame t is a flat grey of 12 * t, so a decoded frame's mean says which frame it was.
    ramp = np.broadcast_to((12 * np.arange(20, dtype=np.uint8))[:, None, None, None], (20, 16, 16, 3))
    path = write_video(tmp_path / "ramp.mp4", np.ascontiguousarray(ramp))

    def taken(sampling, frames=9):
        return np.round(sampling.read(path, frames).mean(axis=(1, 2, 3)) / 12).astype(int).tolist()

    assert taken(ClipSampling()) == list(range(9))
    assert taken(ClipSampling(start=5)) == list(range(5, 14))
    assert taken(ClipSampling("even", start=2), frames=10) == [2, 4, 6, 8, 10, 11, 13, 15, 17, 19]
    random = taken(ClipSampling("random", seed=7))
    assert random == list(range(random[0], random[0] + 9)) and 0 <= random[0] <= 11
    starts = {ClipSampling("random", seed=seed).indices(20, 9, "ramp.mp4")[0] for seed in range(40)}
    assert len(starts) > 5  # seeds move the clip ...
    again = ClipSampling("random", seed=7).indices(20, 9, "ramp.mp4")[0]
    assert again == random[0]  # ... and one seed and name always give the same clip
    with pytest.raises(ValueError, match="ramp.mp4 has 20 frames, fewer than the 21 that 9 frames from frame 12"):
        ClipSampling(start=12).read(path, 9)
    for bad, match in ((dict(mode="middle"), "first, even, random"), (dict(start=-1), "`start` must be an int >= 0")):
        with pytest.raises(ValueError, match=match):
            ClipSampling(**bad)
    stats = api.video_statistics([path, path], StandIn(), frames=9, progress=False, clips=ClipSampling("even"))
    assert stats.settings["clips"] == "even from frame 0" and stats.count == 2


@pytest.mark.parametrize(
    ("videos", "match"),
    [
        (_videos(3, 0, frames=8), "at least 9 frames per video"),
        (_videos(1, 0), "at least 2 videos per set; got 1"),
        (_videos(3, 0)[..., :2], r"RGB videos \(N, T, H, W, 3\)"),
        (_videos(3, 0)[0], r"RGB videos \(N, T, H, W, 3\)"),
        (np.full((3, 9, 8, 8, 3), np.nan), "not finite"),
        (np.full((3, 9, 8, 8, 3), 1.5) * 255, r"values 0-255, as the reference does; these range over \[0, 382.5\]"),
    ],
)
def test_bad_videos_are_refused(videos, match):
    with pytest.raises(ValueError, match=match):
        api.video_statistics(videos, StandIn(), progress=False)


def test_sets_of_other_settings_or_lengths_are_refused(tmp_path):
    with pytest.raises(ValueError, match="Videos of 10 frames after videos of 9"):
        api.video_statistics([_videos(2, 0), _videos(2, 1, frames=10)], StandIn(), progress=False)
    stats = FVDStatistics(400, {**StandIn().settings(9), "resize": "half_pixel"})
    stats.update(np.zeros((2, 400)))
    with pytest.raises(ValueError, match="different settings \\(resize: 'reference' vs 'half_pixel'\\)"):
        api.frechet_video_distance(_videos(3, 0), stats, StandIn(), progress=False)
    with pytest.raises(ValueError, match="a folder of videos, a .npy of videos or saved statistics"):
        api.video_statistics(tmp_path / "videos.txt", StandIn(), progress=False)


def test_the_keras_metric_streams_like_the_function(tmp_path):
    from keras_i3d.fvd.metric import FrechetVideoDistance

    real, fake = _videos(6, 3), _videos(6, 4)
    expected = api.frechet_video_distance(real, fake, StandIn(), progress=False)
    metric = FrechetVideoDistance(embedder=StandIn())
    for start in (0, 2, 4):
        metric.update_state(real[start : start + 2], fake[start : start + 2])
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)  # a float32 result
    metric.reset_state()
    with pytest.raises(ValueError, match="has seen none"):
        metric.result()
    saved = api.video_statistics(real, StandIn(), progress=False).save(tmp_path / "real.npz")
    fixed = FrechetVideoDistance(saved, embedder=StandIn())
    fixed.update_state(None, fake)
    assert float(fixed.result()) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="needs real videos as y_true"):
        FrechetVideoDistance(embedder=StandIn()).update_state(None, fake)
