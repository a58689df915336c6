"""The Fréchet distance between two Gaussians, as tfgan's ``frechet_classifier_distance_from_activations``.

``d² = |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2 tr(sqrt(sqrt(Σ1) Σ2 sqrt(Σ1)))``, in
float64, with symmetric square roots by SVD whose singular values below
`SQRT_EPSILON` are left as they are (not rooted), exactly as tfgan does.
The FVD reference (google-research ``frechet_video_distance``) calls that
function; ``scipy.linalg.sqrtm`` is deliberately not used (it returned wrong
values in SciPy 1.11.2/1.11.3, and its ``disp=`` argument is gone in 1.18).
"""

from __future__ import annotations

import numpy as np

#: tfgan's ``_symmetric_matrix_square_root`` roots only singular values at or above this.
SQRT_EPSILON = 1e-10


def symmetric_sqrt(matrix: np.ndarray, eps: float = SQRT_EPSILON) -> np.ndarray:
    """The square root of a symmetric positive semi-definite matrix, by SVD (tfgan's convention).

    Singular values below ``eps`` are kept unrooted, as tfgan keeps them.
    """
    matrix = np.asarray(matrix, np.float64)
    u, s, vh = np.linalg.svd(matrix)
    rooted = np.where(s < eps, s, np.sqrt(np.maximum(s, 0.0)))
    return (u * rooted) @ vh


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr(sqrt(Σ1 Σ2))``, computed as ``tr(sqrt(sqrt(Σ1) Σ2 sqrt(Σ1)))`` (a symmetric matrix)."""
    root = symmetric_sqrt(sigma1)
    return float(np.trace(symmetric_sqrt(root @ np.asarray(sigma2, np.float64) @ root)))


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """The Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)`` (the FVD of their statistics).

    A distance is never negative: round-off below zero (identical statistics give about -1e-13 on
    some CPUs) is returned as 0.

    Raises:
        ValueError: for shapes that do not match, or values that are not finite.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    d = mu1.shape[-1] if mu1.ndim == 1 else -1
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(
            f"Means must be (d,) and covariances (d, d) of one d; got {mu1.shape}, {sigma1.shape}, {mu2.shape}, "
            f"{sigma2.shape}."
        )
    for name, value in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} holds values that are not finite (NaN or inf).")
    trace = np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product(sigma1, sigma2)
    return max(float(trace + np.sum((mu1 - mu2) ** 2)), 0.0)


def activation_statistics(activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and unbiased covariance (``n - 1``) of activations ``(n, d)`` in float64, as tfgan computes them.

    Raises:
        ValueError: for fewer than two rows.
    """
    x = np.asarray(activations, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"Activations must be (n, d) with n >= 2; got {x.shape}.")
    mu = x.mean(axis=0)
    centred = x - mu
    return mu, centred.T @ centred / (x.shape[0] - 1)
