"""The Fréchet term of FVD against closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from keras_i3d.fvd.frechet import activation_statistics, frechet_distance, symmetric_sqrt

pytestmark = pytest.mark.backend_independent  # NumPy float64


def _rotation(d: int, seed: int) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return q


def test_commuting_gaussians_match_the_closed_form():
    """Σ1 = Q diag(a) Qᵀ, Σ2 = Q diag(b) Qᵀ: d² = |μ1 − μ2|² + Σ (√a − √b)²."""
    rng = np.random.default_rng(0)
    q = _rotation(16, 1)
    a, b = rng.uniform(0.1, 5, 16), rng.uniform(0.1, 5, 16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(mu1, (q * a) @ q.T, mu2, (q * b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-10)


def test_non_commuting_gaussians_match_the_two_by_two_closed_form():
    """For 2x2 matrices tr(sqrt(M)) = sqrt(tr M + 2 sqrt(det M)) with M = Σ1 Σ2."""
    s1 = np.array([[2.0, 0.7], [0.7, 1.0]])
    s2 = np.array([[0.5, -0.2], [-0.2, 3.0]])
    product = s1 @ s2
    trace_sqrt = np.sqrt(np.trace(product) + 2 * np.sqrt(np.linalg.det(product)))
    expected = np.trace(s1) + np.trace(s2) - 2 * trace_sqrt + 1.25
    assert frechet_distance(np.zeros(2), s1, np.array([1.0, 0.5]), s2) == pytest.approx(expected, rel=1e-10)


def test_identical_sets_give_zero_and_the_distance_is_symmetric():
    x = np.random.default_rng(2).normal(size=(50, 8)) * np.arange(1, 9)
    y = np.random.default_rng(3).normal(size=(40, 8)) + 1
    mx, sx = activation_statistics(x)
    my, sy = activation_statistics(y)
    assert 0.0 <= frechet_distance(mx, sx, mx, sx) < 1e-9  # round-off below zero is 0, never printed as -0.0000
    assert frechet_distance(mx, sx, my, sy) == pytest.approx(frechet_distance(my, sy, mx, sx), rel=1e-9)
    np.testing.assert_allclose(sx, np.cov(x, rowvar=False), rtol=1e-12)  # unbiased, n - 1


def test_symmetric_sqrt_leaves_tiny_singular_values_unrooted_as_tfgan_does():
    q = _rotation(4, 5)
    values = np.array([4.0, 1.0, 1e-12, 0.0])
    root = symmetric_sqrt((q * values) @ q.T)
    np.testing.assert_allclose(np.linalg.svd(root, compute_uv=False), [2.0, 1.0, 1e-12, 0.0], atol=1e-12)


def test_bad_statistics_are_refused():
    with pytest.raises(ValueError, match="n >= 2"):
        activation_statistics(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="of one d"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="sigma2 holds values that are not finite"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.full((2, 2), np.nan))
