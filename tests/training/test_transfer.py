"""Transfer learning (keras_i3d.transfer) and training on clip_dataset with model.fit on every backend."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_i3d import I3D, TwoStreamI3D
from keras_i3d.training.data import clip_dataset
from keras_i3d.training.transfer import fine_tuning_model, freeze_batch_norm, freeze_until, layer_endpoint, replace_head
from tests.support.synthetic_videos import left_right_dataset

SIZE, FRAMES = 32, 8


def _values(weights) -> dict[str, np.ndarray]:
    return {w.path: keras.ops.convert_to_numpy(w).copy() for w in weights}


@pytest.fixture(scope="module")
def motion_dataset(tmp_path_factory):
    """Two classes of a moving square: left (light on dark) and right (dark on light)."""
    return left_right_dataset(tmp_path_factory.mktemp("motion"), SIZE)


def test_layer_endpoints():
    assert layer_endpoint("Mixed_4f_Branch_1_Conv3d_0b_3x3_batch_norm") == "Mixed_4f"
    assert layer_endpoint("Conv3d_2b_1x1_conv_3d") == "Conv3d_2b_1x1"
    assert layer_endpoint("Logits_Conv3d_0c_1x1_conv_3d") == "Logits"
    assert layer_endpoint("my_dense") is None


# Graph surgery and weight copies, the same on every backend (each trains in the tests below); CI budget.
@pytest.mark.torch_only
def test_replace_head_keeps_backbone_weights():
    base = I3D(weights=None, classes=7, input_shape=(None, SIZE, SIZE, 3))
    before = _values(base.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv_3d").weights)
    model = replace_head(base, classes=3, dropout_rate=0.0)
    assert model.output.shape == (None, 3)
    kernel = model.get_layer("Logits_Conv3d_0c_1x1_conv_3d").kernel
    assert tuple(kernel.shape) == (1, 1, 1, 1024, 3)
    after = _values(model.get_layer("Mixed_5c_Branch_0_Conv3d_0a_1x1_conv_3d").weights)
    assert all(np.array_equal(before[k], after[k]) for k in before)
    x = np.random.default_rng(0).uniform(-1, 1, (1, FRAMES, SIZE, SIZE, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x)).sum(), 1.0, rtol=1e-5)  # softmax
    with pytest.raises(ValueError, match="has no 'Mixed_5c' layer"):
        replace_head(TwoStreamI3D(rgb_weights=None, flow_weights=None, size=SIZE), 3)
    with pytest.raises(ValueError, match="`classes` must be a positive int"):
        replace_head(base, 0)


def test_freeze_until_endpoint():
    model = fine_tuning_model(None, 2, "Mixed_4f", size=SIZE, train_batch_norm=True)
    for layer in model.layers:
        endpoint = layer_endpoint(layer.name)
        if layer.weights and endpoint in ("Conv3d_1a_7x7", "Mixed_4f"):
            assert not layer.trainable, layer.name
        if layer.weights and endpoint in ("Mixed_5b", "Logits"):
            assert layer.trainable, layer.name
    assert len(model.trainable_weights) == 26  # Mixed_5b, Mixed_5c (conv + BN beta) and the classifier
    names = freeze_batch_norm(model)
    assert len(names) == 57 and isinstance(names, list)
    assert (
        repr(names)
        == "LayerNames(57 layers: 'Conv3d_1a_7x7_batch_norm' ... 'Mixed_5c_Branch_3_Conv3d_0b_1x1_batch_norm')"
    )
    assert len(model.trainable_weights) == 14  # the recipe's default: BatchNorm in inference mode
    frozen = freeze_until(model, None)
    assert frozen == [] and all(layer.trainable for layer in model.layers)
    with pytest.raises(ValueError, match="must be one of DeepMind's endpoints"):
        freeze_until(model, "Mixed_9z")
    two = TwoStreamI3D(rgb_weights=None, flow_weights=None, size=SIZE)
    assert len(freeze_until(two, "Mixed_5c")) > 100
    assert [w.path for w in two.trainable_weights] == [
        w.path for w in two.weights if "Logits" in w.path and "moving" not in w.path
    ]


@pytest.mark.parametrize("train_batch_norm", [False, True])
def test_frozen_weights_and_statistics_do_not_change(motion_dataset, train_batch_norm):
    keras.utils.set_random_seed(0)
    model = fine_tuning_model(None, 2, "Mixed_4f", size=SIZE, dropout_rate=0.0, train_batch_norm=train_batch_norm)
    model.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy")
    frozen = _values(w for layer in model.layers if not layer.trainable for w in layer.weights)
    trainable = _values(model.trainable_weights)
    moving = _values(w for w in model.non_trainable_weights if "Mixed_5c" in w.path and "moving" in w.path)
    x, y = next(iter(clip_dataset(motion_dataset, FRAMES, SIZE, 4, seed=0)))
    model.train_on_batch(x.numpy(), y.numpy())
    assert frozen and all(
        np.array_equal(frozen[w.path], _values([w])[w.path]) for w in model.weights if w.path in frozen
    )
    changed = _values(w for w in model.weights if w.path in trainable)
    assert all(not np.array_equal(trainable[k], changed[k]) for k in trainable)
    updated = _values(w for w in model.weights if w.path in moving)
    # BatchNorm after the frozen blocks learns statistics only when asked to.
    assert moving and all(np.array_equal(moving[k], updated[k]) != train_batch_norm for k in moving)


def test_short_fit_on_clip_dataset_lowers_the_loss(motion_dataset):
    # The backbone frozen (BatchNorm in inference mode, as when fine-tuning), so evaluating on the
    # training videos measures exactly what the steps optimise. Adam: the random backbone's
    # features are small, and Adam's steps do not scale with the gradient.
    keras.utils.set_random_seed(1)
    model = fine_tuning_model(None, 2, "Mixed_5c", size=SIZE, dropout_rate=0.0)
    model.compile(keras.optimizers.Adam(0.1), "sparse_categorical_crossentropy")
    evaluation = clip_dataset(motion_dataset, FRAMES, SIZE, 6, training=False)
    before = model.evaluate(evaluation, verbose=0)
    history = model.fit(clip_dataset(motion_dataset, FRAMES, SIZE, 2, seed=1), epochs=6, verbose=0, shuffle=False)
    after = model.evaluate(evaluation, verbose=0)
    assert len(history.history["loss"]) == 6
    assert after < before - 0.02, (before, after, history.history["loss"])  # measured: 0.693 -> 0.64-0.65
