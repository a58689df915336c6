"""TV-L1 in keras.ops against OpenCV's TV-L1 (the oracle DeepMind's recipe cites), and its plumbing.

The accuracy tests run on every backend (the port's arithmetic runs on the backend); the plumbing
(implementation choice, cache keys, streaming in batches) is backend_independent or runs once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from keras_i3d.utils.files import sha256_file
from keras_i3d.video import flow
from keras_i3d.video.tvl1 import tvl1_keras
from tests.support import flow_cases
from tests.support.synthetic_videos import moving_square, write_video

#: The issue's bars against OpenCV: mean end-point error, its share of the mean flow, the 95th percentile.
MEAN_EPE, SHARE, P95 = 0.1, 0.2, 0.5


def _opencv(first, second, params=None):
    return np.stack([flow.tvl1_flow(a, b, params) for a, b in zip(first, second, strict=True)])


def test_keras_tvl1_matches_opencv_on_every_kind_of_motion():
    cases = flow_cases.cases(48, 64)
    # Frames 72-73 (the swing: the clip's fastest motion) at half size; the full-size figures are in docs/video.md.
    cases["sample clip, 2 frames at 112x112"] = flow_cases.sample_clip_pair(72, size=112)
    names = list(cases)
    # The sample clip is another size: the synthetic cases go as one batch, the clip alone.
    synthetic = [n for n in names if cases[n][0].shape == (48, 64)]
    first = np.stack([cases[n][0] for n in synthetic])
    second = np.stack([cases[n][1] for n in synthetic])
    ours = dict(zip(synthetic, tvl1_keras(first, second, batch_size=len(synthetic)), strict=True))
    clip = "sample clip, 2 frames at 112x112"
    ours[clip] = tvl1_keras(*cases[clip])
    failures = []
    for name in names:
        reference = _opencv(cases[name][0][None], cases[name][1][None])[0]
        epe = flow_cases.end_point_error(ours[name], reference)
        magnitude = float(np.hypot(reference[..., 0], reference[..., 1]).mean())
        mean, p95 = float(epe.mean()), float(np.percentile(epe, 95))
        if not (mean <= MEAN_EPE and mean <= SHARE * magnitude and p95 <= P95):
            failures.append(f"{name}: mean EPE {mean:.3f} (flow {magnitude:.3f}), p95 {p95:.3f}")
    assert not failures, failures


def test_a_batch_equals_its_pairs_one_by_one():
    cases = list(flow_cases.cases(24, 32).values())[:3]  # two pyramid levels: the compile is the cost
    first, second = np.stack([c[0] for c in cases]), np.stack([c[1] for c in cases])
    together = tvl1_keras(first, second, batch_size=3)
    for i in range(3):
        alone = tvl1_keras(first[i], second[i])
        np.testing.assert_allclose(together[i], alone, atol=1e-5)  # converged pairs stop; others go on


@pytest.mark.torch_only  # the dispatch and the streaming are NumPy plumbing around the port
def test_tvl1_dispatch_and_streaming_in_batches():
    first, second = flow_cases.square(32, 40)
    by_opencv = flow.tvl1(first, second, implementation="opencv")
    np.testing.assert_array_equal(by_opencv, flow.tvl1_flow(first, second))
    by_keras = flow.tvl1(first, second, implementation="keras")
    assert by_keras.shape == (32, 40, 2) and by_keras.dtype == np.float32
    assert flow.tvl1(first[None], second[None], implementation="opencv").shape == (1, 32, 40, 2)
    # 6 frames in batches of 2 pairs (the last one padded): 5 flows, the same as computed in one batch.
    clip = moving_square(6, 32, 40, step=(1, 1), side=12)
    streamed = np.stack(list(flow.iter_flow(clip, None, implementation="keras", batch_size=2)))
    gray = flow.grayscale(clip)
    np.testing.assert_allclose(streamed, tvl1_keras(gray[:-1], gray[1:], batch_size=5), atol=1e-5)
    with pytest.raises(ValueError, match="one of auto, opencv, keras; got 'cuda'"):
        flow.tvl1(first, second, implementation="cuda")
    with pytest.raises(ValueError, match="two grayscale frames"):
        flow.tvl1(first, second[:-1])


@pytest.mark.backend_independent
def test_auto_picks_by_device_and_the_cache_key_holds_the_implementation(tmp_path):
    backend = __import__("keras").backend.backend()
    assert flow.resolve_flow_implementation("auto") == flow.AUTO_FLOW_IMPLEMENTATION["cpu"][backend]  # CI: no GPU
    assert flow.resolve_flow_implementation("keras") == "keras"
    path = write_video(tmp_path / "v.mp4", moving_square(3, 48, 64))
    by_opencv = flow.flow_cache_key(path, 25.0, 256, implementation="opencv")
    assert flow.flow_cache_key(path, 25.0, 256, implementation="keras") != by_opencv
    # OpenCV's key is that of earlier releases, so their caches stay valid (the formula, written out).
    recipe = {"recipe": 1, "video_sha256": sha256_file(path), "fps": 25.0, "short_side": 256}
    recipe["tvl1"] = dataclasses.asdict(flow.TVL1())
    assert by_opencv == hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    with pytest.raises(ValueError, match="resolved implementation"):
        flow.flow_cache_key(path, 25.0, 256, implementation="auto")
    cuda = flow.TVL1.cuda()
    assert (cuda.inner_iterations, cuda.outer_iterations, cuda.median_filtering) == (300, 1, 1)
    assert dataclasses.replace(cuda, inner_iterations=30, outer_iterations=10, median_filtering=5) == flow.TVL1()
