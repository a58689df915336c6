"""Streaming FVD statistics: equal to one-shot, order-free, saved and loaded, settings checked."""

from __future__ import annotations

import numpy as np
import pytest

from keras_i3d.fvd.frechet import activation_statistics, frechet_distance
from keras_i3d.fvd.statistics import FVDStatistics

pytestmark = pytest.mark.backend_independent  # NumPy float64

SETTINGS = {"frames": 16, "resize": "reference", "network": "kinetics400_rgb", "embedding": "logits"}


def _streamed(x: np.ndarray, batch: int, settings=SETTINGS) -> FVDStatistics:
    stats = FVDStatistics(x.shape[1], settings)
    for start in range(0, len(x), batch):
        stats.update(x[start : start + batch])
    return stats


def test_streaming_equals_one_shot_in_any_batches_and_order():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(203, 12)) * 8 + 20  # far from zero, like logits
    y = rng.normal(size=(150, 12)) * 5
    mu, sigma = activation_statistics(x)
    for batch in (1, 7, 203):
        stats = _streamed(x, batch)
        np.testing.assert_allclose(stats.mean, mu, rtol=1e-12)
        np.testing.assert_allclose(stats.covariance(), sigma, rtol=1e-9, atol=1e-9)
    expected = frechet_distance(mu, sigma, *activation_statistics(y))
    assert _streamed(x[::-1], 16).frechet_distance_to(_streamed(y, 9)) == pytest.approx(expected, rel=1e-9)
    merged = _streamed(x[:100], 10).merge(_streamed(x[100:], 33))
    assert merged.count == 203 and merged.frechet_distance_to(_streamed(y, 9)) == pytest.approx(expected, rel=1e-9)
    biased = _streamed(x, 50).covariance(unbiased=False)
    np.testing.assert_allclose(biased, sigma * 202 / 203, rtol=1e-9)


def test_statistics_round_trip_through_npz(tmp_path):
    stats = _streamed(np.random.default_rng(1).normal(size=(20, 5)), 6)
    path = stats.save(tmp_path / "real.npz")
    loaded = FVDStatistics.load(path)
    assert loaded.count == 20 and loaded.settings == SETTINGS and repr(loaded).startswith("FVDStatistics(count=20")
    np.testing.assert_array_equal(loaded.outer, stats.outer)
    assert loaded.frechet_distance_to(stats) == pytest.approx(0, abs=1e-9)
    with pytest.raises(ValueError, match="saved as .npz; got real.npy"):
        stats.save(tmp_path / "real.npy")
    (tmp_path / "other.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="other.npz is not FVD statistics saved by keras_i3d"):
        FVDStatistics.load(tmp_path / "other.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.npz", "real.npz"]  # nothing half-written


def test_mismatched_or_too_few_statistics_are_refused():
    x = np.random.default_rng(2).normal(size=(10, 4))
    other = _streamed(x, 5, {**SETTINGS, "frames": 32, "resize": "half_pixel"})
    differ = r"different settings \(frames: 16 vs 32; resize: 'reference' vs 'half_pixel'\)"
    with pytest.raises(ValueError, match=differ):
        _streamed(x, 5).frechet_distance_to(other)
    with pytest.raises(ValueError, match="Cannot combine"):
        _streamed(x, 5).merge(other)
    with pytest.raises(ValueError, match="at least 2 videos; these hold 1"):
        _streamed(x[:1], 1).covariance()
    with pytest.raises(ValueError, match="not finite"):
        FVDStatistics(4).update(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match=r"must be \(batch, 4\); got shape \(2, 3\)"):
        FVDStatistics(4).update(np.zeros((2, 3)))
