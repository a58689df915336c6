"""Hostile inputs to the model: each gets a clear error, never an answer.

Numbers refer to the findings of the hardening issue (items 1, 13). Other hostile inputs are
tested beside their modules: check_clip (tests/model/test_clip_checks.py), preprocessing
(tests/test_preprocessing_bad_inputs.py), builder arguments (tests/applications/test_i3d_bad_arguments.py),
GIFs (tests/video/test_read_gif_bad_files.py), the CLI (tests/cli/test_bad_inputs.py), errors (tests/test_errors.py).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_i3d
from keras_i3d.errors import InputError
from keras_i3d.model import clip_checks
from keras_i3d.model.i3d_model import I3DModel
from tests.support.bad_files import clip

SIZE_SENTENCE = "I3D needs clips of at least 1 frame of at least 32x32 pixels"


@pytest.fixture(scope="module")
def flexible():
    """A random I3D taking any size, built once (logits out)."""
    return keras_i3d.I3D(weights=None, input_shape=(None, None, None, 3), classifier_activation=None)


# -- 1. clips the network cannot take are rejected, with one sentence everywhere --


@pytest.mark.parametrize(
    "shape,expected",
    [
        ((1, 0, 64, 64, 3), "got 0 frames of 64x64 pixels"),
        ((1, 2, 8, 8, 3), "got 2 frames of 8x8 pixels"),
        ((1, 2, 1, 1, 3), "got 2 frames of 1x1 pixels"),
        ((1, 2, 31, 64, 3), "got 2 frames of 31x64 pixels"),
        ((1, 2, 64, 64, 4), "takes 3 input channels (RGB); got 4 channels"),
        ((2, 64, 64, 3), "add the batch axis: x[None]"),
        ((1, 1, 2, 64, 64, 3), "got shape (1, 1, 2, 64, 64, 3)"),
    ],
)
@pytest.mark.parametrize("call", ["predict", "__call__", "predict_on_batch"])
def test_model_rejects_clips_it_cannot_take(flexible, shape, expected, call):
    with pytest.raises(InputError) as info:
        getattr(flexible, call)(np.zeros(shape, "float32"), **({"verbose": 0} if call == "predict" else {}))
    assert expected in str(info.value)
    assert len(str(info.value)) < 300  # a sentence, not a graph dump or the array


@pytest.mark.parametrize(
    "x,match",
    [
        (None, "The input is None"),
        ([[[[[0.5, 0.5, 0.5]]]]], "not a Python list"),
        (np.zeros((1, 2, 64, 64, 3), bool), "real numbers; got dtype bool"),
        (np.zeros((1, 2, 64, 64, 3), "complex64"), "real numbers; got dtype complex64"),
    ],
)
def test_model_rejects_inputs_that_are_not_clips_of_numbers(flexible, x, match):
    with pytest.raises(InputError, match=match) as info:
        flexible.predict(x, verbose=0)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    ("x", "match"),
    [
        (np.full((1, 2, 64, 64, 3), 200, np.uint8), r"holds integers \(uint8\), e.g. raw frames"),
        (np.full((1, 2, 64, 64, 3), 200, np.int32), r"holds integers \(int32\)"),
        (np.full((1, 2, 64, 64, 3), 200.0, np.float32), r"values in \[200, 200\], far outside"),
        (np.full((1, 2, 64, 64, 3), -3.0, np.float32), r"values in \[-3, -3\], far outside"),
    ],
)
@pytest.mark.parametrize("call", ["predict", "__call__", "predict_on_batch"])
def test_model_refuses_unscaled_clips_naming_the_fix(flexible, x, match, call):
    """The README's first snippet without preprocess_input answered 'massaging person's head' at 1.0."""
    for value in (x, keras.ops.convert_to_tensor(x)):
        with pytest.raises(InputError, match=match) as info:
            getattr(flexible, call)(value, **({"verbose": 0} if call == "predict" else {}))
        assert "keras_i3d.preprocess_input(frames)" in str(info.value)
        assert "keras_i3d.preprocess_frames(frames)" in str(info.value) and "model.input_range = None" in str(
            info.value
        )


def test_unscaled_clips_on_purpose_and_values_near_the_range(flexible):
    x = clip()
    near = np.clip(x * 1.3, -1.3, 1.3)  # e.g. augmentation that pushes scaled values a little past [-1, 1]
    assert flexible.predict(near, verbose=0).shape == (1, 400)
    flow = keras_i3d.I3D(weights=None, input_shape=(None, None, None, 2), classifier_activation=None)
    with pytest.raises(InputError, match=r"preprocess_input\(flow, stream='flow'\)"):
        flow.predict(np.full((1, 2, 64, 64, 2), 7.0, "float32"), verbose=0)
    try:
        flexible.input_range = None
        assert flexible.predict(np.full((1, 2, 64, 64, 3), 200, np.uint8), verbose=0).shape == (1, 400)
    finally:
        flexible.input_range = (-1, 1)
    with pytest.raises(ValueError, match="low < high"):
        flexible.input_range = (1, -1)
    assert "input_range" not in json.dumps(flexible.get_config())  # a session setting, never saved


@pytest.mark.filterwarnings("ignore:The structure of `inputs` doesn't match")  # Keras' note on the list form
def test_model_accepts_other_real_dtypes_and_the_list_form(flexible):
    x = clip()
    expected = flexible.predict(x, verbose=0)
    for other in (x.astype("float64"), [x]):
        np.testing.assert_allclose(flexible.predict(other, verbose=0), expected, rtol=1e-4, atol=1e-5)


def test_evaluate_without_compile_says_so_on_every_backend(flexible):
    with pytest.raises(ValueError, match=r"compile\(...\) before model.evaluate"):
        flexible.evaluate(clip(), np.zeros((1, 400)), verbose=0)


def test_the_sentence_is_the_one_from_clip_checks(flexible):
    with pytest.raises(InputError) as info:
        flexible.predict(np.zeros((1, 2, 8, 8, 3), "float32"), verbose=0)
    assert str(info.value) == clip_checks.size_problem(2, 8, 8)
    assert str(info.value).startswith(SIZE_SENTENCE)


@contextlib.contextmanager
def plain_model(model):
    """A plain functional model on ``model``'s layers, without I3DModel's checks and guard.

    On JAX, a failed ``predict`` of a plain model loses the (shared) weights, so
    they are put back afterwards for the other tests.
    """
    values = [keras.ops.copy(variable.value) for variable in model.variables]  # JAX donates buffers
    try:
        yield keras.Model(model.inputs, model.outputs)
    finally:
        for variable, value in zip(model.variables, values, strict=True):
            variable.assign(value)


def test_in_graph_check_catches_what_bypasses_the_model_class(flexible):
    """A plain functional copy (no I3DModel pre-checks), after shape changes that make TF relax its trace."""
    with plain_model(flexible) as plain:
        _predict_after_relaxed_retrace(plain)


def _predict_after_relaxed_retrace(plain):
    assert not isinstance(plain, I3DModel)
    for size in (64, 48, 40):  # TensorFlow retraces with unknown sizes after these
        assert plain.predict(clip(size=size), verbose=0).shape == (1, 400)
    with pytest.raises(Exception, match=SIZE_SENTENCE) as info:
        plain.predict(np.zeros((1, 2, 8, 8, 3), "float32"), verbose=0)
    # JAX and PyTorch raise it while tracing; TensorFlow's graph assertion as InvalidArgumentError.
    assert isinstance(info.value, InputError) or type(info.value).__name__ == "InvalidArgumentError"


def test_in_graph_check_on_a_dataset(flexible):
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(np.zeros((2, 2, 8, 8, 3), "float32")).batch(1)
    with pytest.raises(Exception, match=SIZE_SENTENCE), plain_model(flexible) as plain:
        plain.predict(dataset, verbose=0)


def test_fixed_size_model_rejects_other_sizes():
    """A 640x480 clip into a 224 model got advice to rebuild the model, not to resize the frames."""
    model = keras_i3d.I3D(weights=None, input_shape=(None, 64, 64, 3))
    with pytest.raises(InputError, match=r"takes clips of any x 64 x 64 .*got 2 x 48 x 48\. Resize and centre-crop"):
        model.predict(clip(size=48), verbose=0)
    with pytest.raises(InputError, match=r"keras_i3d.preprocess_frames\(frames, size=64\)"):
        model.predict(np.zeros((1, 2, 48, 64, 3), "float32"), verbose=0)
    assert model.predict(clip(size=64), verbose=0).shape == (1, 400)
    fixed_frames = keras_i3d.I3D(weights=None, input_shape=(8, 64, 64, 3))
    with pytest.raises(InputError, match=r"got 2 x 64 x 64\. Build it with input_shape"):  # frames: rebuild
        fixed_frames.predict(clip(size=64), verbose=0)


def test_input_shape_below_the_minimum_is_rejected_at_build_time():
    for shape, match in (((0, 224, 224, 3), "got 0 frames"), ((None, None, 8, 3), "at least 32x32")):
        with pytest.raises(InputError, match=match):
            keras_i3d.I3D(weights=None, input_shape=shape)


def test_saved_model_keeps_its_checks(flexible, tmp_path):
    flexible.save(tmp_path / "i3d.keras")
    restored = keras_i3d.load_model(tmp_path / "i3d.keras")
    assert isinstance(restored, I3DModel)
    with pytest.raises(InputError, match=SIZE_SENTENCE):
        restored.predict(np.zeros((1, 2, 8, 8, 3), "float32"), verbose=0)


# Registering I3DModel for loading is Python (each backend loads a saved fine-tuned model in a fresh process in
# tests/cli/test_training.py): once, on PyTorch (CI budget).
@pytest.mark.torch_only
def test_saved_model_loads_in_a_fresh_process(flexible, tmp_path):
    flexible.save(tmp_path / "i3d.keras")
    code = f"import keras_i3d; print(type(keras_i3d.load_model({str(tmp_path / 'i3d.keras')!r})).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "I3DModel"


# -- 13. Keras behaviour the package guards: empty batches, a failed predict --


def test_empty_batch_is_rejected_before_keras(flexible):
    for call in ("predict", "predict_on_batch", "evaluate"):
        with pytest.raises(InputError, match="empty"):
            getattr(flexible, call)(np.zeros((0, 2, 64, 64, 3), "float32"))


def test_model_still_works_after_a_failed_predict(flexible):
    x = clip()
    before = flexible.predict(x, verbose=0)
    with pytest.raises(InputError):
        flexible.predict(np.zeros((1, 2, 8, 8, 3), "float32"), verbose=0)

    class Interrupt(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch, logs=None):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # on JAX, Keras detaches the weights during predict
        flexible.predict(x, verbose=0, callbacks=[Interrupt()])
    np.testing.assert_allclose(flexible.predict(x, verbose=0), before, rtol=1e-5, atol=1e-5)


@pytest.mark.tf_only
@pytest.mark.jax_only
def test_the_model_runs_inside_the_backend_s_compiled_function(flexible):
    """Users wrap the model in tf.function / jax.jit: the value check must see a traced clip as unknown.

    (AutoGraph once turned the check's float() into a graph cast, and its error message then failed to format.)
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(lambda x: flexible(x, training=False))
    else:
        import jax

        compiled = jax.jit(lambda x: flexible(x, training=False))
    x = clip(size=64)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(compiled(x)), keras.ops.convert_to_numpy(flexible(x)), rtol=1e-4, atol=1e-5
    )
