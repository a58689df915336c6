"""Stage 1 of the fine-tuning recipe: cached pooled features and a linear head fitted on them."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_i3d.training import features as feature_lib
from keras_i3d.training.data import clip_dataset
from keras_i3d.training.features import FeatureSet, cache_features, fit_linear_head, set_linear_head
from keras_i3d.training.transfer import fine_tuning_model
from tests.support.synthetic_videos import left_right_dataset

SIZE, FRAMES = 32, 8


def _blobs(n: int, classes: int = 3, channels: int = 64, seed: int = 0, spread: float = 1.0):
    """Features of ``classes`` Gaussian blobs, on very different scales per channel, far from zero."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 1, (classes, channels))
    labels = rng.integers(0, classes, n)
    scales = np.random.default_rng(98).uniform(0.01, 50, channels)
    x = (centres[labels] + spread * rng.normal(0, 1, (n, channels))) * scales + 7
    return FeatureSet(x.astype(np.float32), labels.astype(np.int32))


@pytest.mark.backend_independent  # NumPy
def test_the_head_is_the_penalised_optimum_on_standardised_features():
    train, val = _blobs(120), _blobs(60, seed=1)
    head = fit_linear_head(train, 3, val)
    # The oracle: the gradient of the objective the docstring names vanishes at the fitted head
    # (mean cross-entropy on standardised features + l2 * |W|^2).
    x = train.features.astype(np.float64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-6
    standard, w = (x - mean) / scale, head.kernel.astype(np.float64) * scale[:, None]
    logits = head.logits(train.features).astype(np.float64)
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    g = (p - np.eye(3)[train.labels]) / len(train.labels)
    assert np.abs(standard.T @ g + 2 * head.l2 * w).max() < 1e-4 and np.abs(g.sum(axis=0)).max() < 1e-4
    assert set(head.scores) == set(feature_lib.L2_PENALTIES)
    assert head.val_accuracy == max(head.scores.values()) and head.scores[head.l2] == head.val_accuracy
    assert head.train_accuracy > 0.9 and head.val_accuracy > 0.8


@pytest.mark.backend_independent
def test_the_penalty_is_chosen_on_validation_data():
    # 60 examples, 400 channels of which 8 tell the classes apart: the weakest penalty fits the noise
    # (measured: validation accuracy 0.47 at 1e-4, 0.55 at 1e-1).
    def noisy(n, seed):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 3, n)
        x = rng.normal(0, 1, (n, 400))
        x[:, :8] += np.random.default_rng(99).normal(0, 1, (3, 8))[labels]
        return FeatureSet(x.astype(np.float32), labels.astype(np.int32))

    train, val = noisy(60, 0), noisy(400, 1)
    head = fit_linear_head(train, 3, val)
    weakest = fit_linear_head(train, 3)  # no validation data: the smallest penalty
    assert weakest.l2 == min(feature_lib.L2_PENALTIES) and weakest.val_accuracy is None and weakest.scores == {}
    assert head.l2 > weakest.l2 and head.val_accuracy > head.scores[weakest.l2] + 0.03
    trajectory = head.trajectory  # the chosen penalty's learning curves, ending at the head it returns
    assert trajectory["step"][:2] == [0, feature_lib.MONITOR_EVERY]
    assert trajectory["val_accuracy"][-1] == head.val_accuracy
    assert trajectory["accuracy"][-1] == pytest.approx(head.train_accuracy)
    assert trajectory["loss"][-1] < trajectory["loss"][0]
    assert set(weakest.trajectory) == {"step", "loss", "accuracy"}


@pytest.mark.backend_independent
def test_bad_features_are_refused():
    with pytest.raises(ValueError, match="one label per clip"):
        FeatureSet(np.zeros((3, 4), np.float32), np.zeros(2, np.int32))
    with pytest.raises(ValueError, match=r"lie in \[0, 2\)"):
        fit_linear_head(FeatureSet(np.zeros((3, 4), np.float32), np.array([0, 1, 2], np.int32)), 2)


@pytest.fixture(scope="module")
def motion_dataset(tmp_path_factory):
    return left_right_dataset(tmp_path_factory.mktemp("features"), SIZE)


def test_a_head_fitted_on_cached_features_is_the_model_s_head(motion_dataset):
    """The model with the fitted head written in computes exactly the head's logits of the cached features."""
    keras.utils.set_random_seed(3)
    model = fine_tuning_model(None, 2, "Mixed_5c", frames=FRAMES, size=SIZE, dropout_rate=0.5)
    cached = cache_features(model, motion_dataset, FRAMES, SIZE, views=2, batch_size=6, progress=False)
    assert cached.features.shape == (12, 1024) and cached.views == 2 and sorted(cached.labels[:6]) == [0, 0, 0, 1, 1, 1]
    head = fit_linear_head(cached, 2)
    set_linear_head(model, head)
    centre = FeatureSet(cached.features[:6], cached.labels[:6])  # view 0: the centre clips, in file order
    clips = np.concatenate([x.numpy() for x, _ in clip_dataset(motion_dataset, FRAMES, SIZE, 6, training=False)])
    probabilities = keras.ops.convert_to_numpy(model.predict_on_batch(clips))
    expected = keras.ops.convert_to_numpy(keras.ops.softmax(head.logits(centre.features)))
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    with pytest.raises(ValueError, match="classifier takes 1024 to 2"):
        set_linear_head(model, fit_linear_head(FeatureSet(cached.features, cached.labels % 3), 3))
