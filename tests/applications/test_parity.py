"""Numerical parity with the independent reference on DeepMind's sample clip."""

import keras
import numpy as np
import pytest

import keras_i3d
from tests.support import helpers

TOLERANCE = 1e-4

pytestmark = [pytest.mark.requires_data, pytest.mark.large]


def test_reference_logits(kinetics400_rgb_model):
    x = helpers.reference_input()
    assert x.shape == (1, 79, 224, 224, 3)
    logits = np.asarray(kinetics400_rgb_model.predict(x, verbose=0))
    reference = helpers.reference_logits()
    diff = np.abs(logits[0] - reference).max()
    print(f"backend={keras.backend.backend()} max|logits - reference| = {diff:.3e}")
    assert diff <= TOLERANCE
    ((_, label, score),) = keras_i3d.decode_predictions(logits, top=1)[0]
    assert label == "playing cricket"
    np.testing.assert_allclose(score, 17.6404, atol=1e-3)


# The head's and the headless graph's wiring is the same Keras graph on every backend, and each backend's
# arithmetic is held to the reference above: run once, on PyTorch (the quickest to build a second model).
@pytest.mark.torch_only
def test_softmax_head_matches_logits(kinetics400_rgb_model):
    x = helpers.reference_input()[:, :16]
    model = keras_i3d.I3D(weights="kinetics400_rgb")
    probs = np.asarray(model.predict(x, verbose=0))
    logits = np.asarray(kinetics400_rgb_model.predict(x, verbose=0))
    np.testing.assert_allclose(probs, keras.ops.convert_to_numpy(keras.ops.softmax(logits)), atol=1e-6)
    assert abs(probs.sum() - 1) < 1e-5


@pytest.mark.torch_only  # see above
def test_headless_features_match_full_model(kinetics400_rgb_model):
    x = helpers.reference_input()[:, :16]
    features = keras_i3d.I3D(include_top=False, weights="kinetics400_rgb", pooling=None)
    full = keras.Model(kinetics400_rgb_model.input, kinetics400_rgb_model.get_layer("Mixed_5c").output)
    np.testing.assert_allclose(
        np.asarray(features.predict(x, verbose=0)), np.asarray(full.predict(x, verbose=0)), atol=1e-5
    )


@pytest.mark.parametrize("implementation", ["conv3d", "frames"])
def test_fused_model_reproduces_the_reference_logits(kinetics400_rgb_model, implementation):
    fused = keras_i3d.fuse_for_inference(kinetics400_rgb_model, implementation)
    logits = np.asarray(fused.predict_on_batch(helpers.reference_input()))
    diff = np.abs(logits[0] - helpers.reference_logits()).max()
    print(f"backend={keras.backend.backend()} fused ({implementation}) max|logits - reference| = {diff:.3e}")
    assert diff <= TOLERANCE


def test_bfloat16_keeps_the_float32_answer(kinetics400_rgb_model):
    """bfloat16 (emulated on CPUs without AVX512_BF16: slow) on the clip's first 32 frames, against float32.

    The float32 model is held to the reference logits on the whole clip above; this checks
    what bfloat16 changes: the top-1 and the top-5 set stay, the logits move a little.
    """
    x = helpers.reference_input()[:, :32]
    fused = keras_i3d.fuse_for_inference(kinetics400_rgb_model, dtype="bfloat16")
    logits = np.asarray(fused.predict_on_batch(x), np.float32)[0]  # jitted: an eager call compiles op by op on JAX
    expected = np.asarray(kinetics400_rgb_model.predict(x, verbose=0))[0]
    diff = np.abs(logits - expected).max()
    print(f"backend={keras.backend.backend()} bfloat16 max|logits - float32| = {diff:.3f}")
    assert keras_i3d.decode_predictions(logits[None], top=1)[0][0][1] == "playing cricket"
    assert np.argmax(logits) == np.argmax(expected)
    assert set(np.argsort(logits)[-5:]) == set(np.argsort(expected)[-5:])
    assert 1e-3 < diff < 1.5  # bfloat16 arithmetic really ran, and the logits stay close (measured <= 0.73)
