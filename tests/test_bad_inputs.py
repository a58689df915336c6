"""Hostile inputs to the model, the helpers and the CLI: each gets a clear error, never an answer.

Numbers refer to the findings of the hardening issue (items 1-5, 12, 13);
file and weights faults (items 4, 6-11) are in ``test_faults.py``. Every test
runs on the backend of the run (``make test`` runs all three).
"""

from __future__ import annotations

import contextlib
import re
import struct
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

import keras_i3d
from keras_i3d import cli, clip_checks
from keras_i3d.errors import InputError, KerasI3DError, VideoError
from keras_i3d.i3d_model import I3DModel
from keras_i3d.preprocessing import decode_predictions, preprocess_input
from keras_i3d.video import read_gif
from tests import helpers

RNG = np.random.default_rng(6)
SIZE_SENTENCE = "I3D needs clips of at least 1 frame of at least 32x32 pixels"


def clip(frames=2, size=64, channels=3, batch=1):
    return RNG.uniform(-1, 1, (batch, frames, size, size, channels)).astype("float32")


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
    model = keras_i3d.I3D(weights=None, input_shape=(None, 64, 64, 3))
    with pytest.raises(InputError, match=r"takes clips of any x 64 x 64 .*got 2 x 48 x 48\. Build it with input_shape"):
        model.predict(clip(size=48), verbose=0)
    assert model.predict(clip(size=64), verbose=0).shape == (1, 400)


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


def test_saved_model_loads_in_a_fresh_process(flexible, tmp_path):
    flexible.save(tmp_path / "i3d.keras")
    code = f"import keras_i3d; print(type(keras_i3d.load_model({str(tmp_path / 'i3d.keras')!r})).__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "I3DModel"


@pytest.mark.parametrize(
    "name,match",
    [
        ("missing.keras", "does not exist"),
        ("x.weights.h5", "I3D\\(weights=path\\)"),
        ("x.h5", "reads .keras files"),
        ("garbage.keras", "not a zip archive"),
    ],
)
def test_load_model_checks_the_path(tmp_path, name, match):
    if name != "missing.keras":
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(ValueError, match=match):
        keras_i3d.load_model(tmp_path / name)
    with pytest.raises(ValueError, match="must be a path"):
        keras_i3d.load_model(5)


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


# -- 2, 3. non-finite and unscaled arrays at the package's entry points --


@pytest.mark.parametrize(
    "values,match",
    [
        (np.nan, r"1 NaN value\(s\) \(first at index \(0, 0, 0, 0, 0\)\)"),
        (np.inf, "infinite"),
        (-np.inf, "infinite"),
    ],
)
def test_check_clip_rejects_non_finite_values(values, match):
    x = clip()
    x[0, 0, 0, 0, 0] = values
    with pytest.raises(InputError, match=match):
        clip_checks.check_clip(x)


@pytest.mark.parametrize(
    "x,match",
    [
        (RNG.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8), r"raw RGB in \[0, 255\]: scale it with"),
        (np.full((2, 64, 64, 3), 3.0, "float32"), r"values in \[3, 3\]"),
        (np.full((2, 64, 64, 2), -5.0, "float32"), "preprocess_input\\(flow, stream='flow'\\)"),
        (np.zeros((2, 64, 64, 3), bool), "real numbers; got dtype bool"),
        (np.array([["a"]]), "real numbers"),
        (None, "is None"),
        (np.zeros((0, 2, 64, 64, 3), "float32"), "empty batch"),
        (np.zeros((2, 64, 64, 3), "complex64"), "real numbers"),
    ],
)
def test_check_clip_rejects_what_the_network_cannot_take(x, match):
    channels = 2 if x is not None and x.ndim == 4 and x.shape[-1] == 2 else 3
    with pytest.raises(InputError, match=match):
        clip_checks.check_clip(x, channels=channels)


def test_check_clip_hints_raw_rgb_only_for_values_that_look_like_it():
    with pytest.raises(InputError) as info:
        clip_checks.check_clip(np.full((1, 32, 32, 3), 1.0000001))
    assert "1.0000001" in str(info.value) and "raw RGB" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs,match",
    [(dict(value_range=(1, -1)), "value_range"), (dict(input_shape=(None, 3)), "input_shape")],
)
def test_check_clip_checks_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        clip_checks.check_clip(np.zeros((1, 32, 32, 3)), **kwargs)


def test_check_clip_accepts_a_clip_and_adds_the_batch_axis():
    out = clip_checks.check_clip(clip()[0])
    assert out.shape == (1, 2, 64, 64, 3) and out.dtype == np.float32


@pytest.mark.parametrize(
    "frames,stream,match",
    [
        (np.full((1, 4, 4, 3), 300.0), "rgb", r"RGB values in \[0, 255\]; got values in \[300, 300\]"),
        (np.full((1, 4, 4, 3), -1.0), "rgb", r"already scaled to \[-1, 1\]: do not apply preprocess_input twice"),
        (np.full((1, 4, 4, 3), np.nan), "rgb", "NaN"),
        (np.full((1, 4, 4, 2), np.inf), "flow", "infinite"),
        (np.zeros((1, 4, 4, 3), bool), "rgb", "real numbers"),
        (np.zeros((1, 4, 4, 4)), "rgb", "needs 3 channels"),
        ([["x", "y", "z"]], "rgb", "real numbers"),
        (np.array([[255.0000001, 0, 0]]), "rgb", r"\[0, 255.0000001\]"),
        (np.ma.masked_invalid(np.array([[np.nan, 1.0, 2.0]])), "rgb", "NaN"),
    ],
)
def test_preprocess_input_rejects_values_outside_its_range(frames, stream, match):
    with pytest.raises(InputError, match=match):
        preprocess_input(frames, stream=stream)


def test_preprocess_input_applied_twice_is_caught():
    frames = RNG.integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    once = preprocess_input(frames)
    with pytest.raises(InputError, match="twice"):
        preprocess_input(once)


@pytest.mark.parametrize("dtype", ["bool", "complex64"])
def test_preprocess_input_rejects_non_real_backend_tensors(dtype):
    if dtype == "complex64" and keras.backend.backend() == "tensorflow":
        tensor = __import__("tensorflow").zeros((1, 4, 4, 3), "complex64")
    else:
        tensor = keras.ops.convert_to_tensor(np.zeros((1, 4, 4, 3), dtype))
    with pytest.raises(InputError, match="real numbers"):
        preprocess_input(tensor)


@pytest.mark.parametrize("stream", [["rgb"], None, "RGB"])
def test_preprocess_input_rejects_bad_streams(stream):
    with pytest.raises(ValueError, match="`stream` must be 'rgb' or 'flow'"):
        preprocess_input(np.zeros((1, 3)), stream=stream)


def test_preprocess_input_checks_eager_backend_tensors():
    with pytest.raises(InputError, match="255"):
        preprocess_input(keras.ops.convert_to_tensor(np.full((1, 4, 4, 3), 256.0, "float32")))
    out = preprocess_input(keras.ops.convert_to_tensor(np.full((1, 4, 4, 3), 255.0, "float32")))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), 1.0)


def test_preprocess_input_still_takes_large_flow():
    np.testing.assert_allclose(preprocess_input(np.full((1, 4, 4, 2), 1e6), stream="flow"), 1.0)


# -- 5. decode_predictions --


@pytest.mark.parametrize("top", [0, -1, None, True, "5", 2.5])
def test_decode_predictions_rejects_bad_top(top):
    with pytest.raises(ValueError, match="`top` must be a positive int"):
        decode_predictions(np.zeros((1, 400)), top=top)


def test_decode_predictions_rejects_bad_datasets():
    for dataset in (["kinetics400"], "kinetics-400"):
        with pytest.raises(ValueError, match="`dataset` must be one of"):
            decode_predictions(np.zeros((1, 400)), dataset=dataset)


@pytest.mark.parametrize(
    "preds,match",
    [
        (np.zeros((1, 400), bool), "real numbers; got dtype bool"),
        (np.full((1, 400), "a"), "real numbers"),
        (np.zeros(400), r"\(batch, classes\)"),
        (np.full((1, 400), np.nan), "NaN"),
        (np.zeros((1, 17)), "Cannot tell the label set of 17 classes"),
        (np.zeros((1, 600)), None),
    ],
)
def test_decode_predictions_rejects_bad_predictions(preds, match):
    if match is None:  # a valid Kinetics-600 row
        assert len(decode_predictions(preds, top=3)[0]) == 3
        return
    with pytest.raises(InputError, match=match):
        decode_predictions(preds)


# -- 12. builder arguments --


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(classes=0), "`classes` must be a positive int; got 0"),
        (dict(classes=True), "`classes` must be a positive int"),
        (dict(include_top="yes"), "`include_top` must be True or False"),
        (dict(dropout_rate="0.5"), "`dropout_rate`"),
        (dict(dropout_rate=float("nan")), "`dropout_rate`"),
        (dict(weights=3), "`weights` must be None, a preset name or a path"),
        (dict(input_shape=(None, 224, 224.0, 3)), "ints or None"),
        (dict(input_shape=5), "must be a tuple"),
        (dict(input_shape=(None, 224, 224, None)), "channel dimension"),
        (dict(input_shape=(None, 64, 64, 0)), "channel dimension of `input_shape` must be a positive int"),
    ],
)
def test_builder_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_i3d.I3D(**{"weights": None, **kwargs})


def test_numpy_input_tensor_gets_a_short_message():
    with pytest.raises(ValueError, match="must be a Keras tensor") as info:
        keras_i3d.I3D(weights=None, input_tensor=np.zeros((1, 8, 224, 224, 3), "float32"))
    assert len(str(info.value)) < 300


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: tmp / "missing.weights.h5", "does not exist"),
        (lambda tmp: _touch(tmp / "model.keras"), "keras_i3d.load_model"),
        (lambda tmp: _touch(tmp / "model.h5"), "must end in '.weights.h5'"),
        (lambda tmp: _write(tmp / "junk.weights.h5", b"not hdf5"), "truncated or not HDF5"),
    ],
)
def test_bad_weights_paths(tmp_path, make, match):
    with pytest.raises(keras_i3d.WeightsError, match=match):
        keras_i3d.I3D(weights=str(make(tmp_path)))


def _touch(path):
    path.write_bytes(b"x")
    return path


def _write(path, data):
    path.write_bytes(data)
    return path


# -- 12. video files --


def _gif(path, frames=3, size=224):
    images = [Image.fromarray(RNG.integers(0, 256, (size, size, 3), dtype=np.uint8)) for _ in range(frames)]
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:])
    return path


def _huge_gif_header(path):
    # A valid GIF header and image descriptor claiming 65535x65535 pixels.
    header = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0, 0, 0)
    descriptor = b"," + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x08\x02\x4c\x01\x00;"
    path.write_bytes(header + descriptor)
    return path


def _truncated(path):
    data = _gif(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _corrupt(path):
    data = bytearray(_gif(path).read_bytes())
    data[1000:] = RNG.integers(0, 256, len(data) - 1000, dtype=np.uint8).tobytes()  # after header and palette
    path.write_bytes(bytes(data))
    return path


def _png(path):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(path, format="PNG")
    return path


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: _write(tmp / "text.gif", b"hello, not a gif"), "not a readable GIF"),
        (lambda tmp: _write(tmp / "empty.gif", b""), "is empty"),
        (_truncated, "not a readable GIF|has no frames"),
        (_corrupt, "not a readable GIF"),
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: tmp / "missing.gif", "does not exist"),
        (lambda tmp: "/dev/null", "not a regular file"),
        (_huge_gif_header, "too large to decode safely"),
        (_png, "is a PNG image, not a GIF"),
    ],
)
def test_read_gif_rejects_what_is_not_a_readable_gif(tmp_path, make, match):
    path = make(tmp_path / "clip.gif") if make in (_truncated, _corrupt, _huge_gif_header, _png) else make(tmp_path)
    with pytest.raises(VideoError, match=match):
        read_gif(path)


def test_read_gif_refuses_clips_above_the_memory_limit(tmp_path):
    with pytest.raises(VideoError, match="refusing to read it"):
        read_gif(_gif(tmp_path / "clip.gif", frames=3, size=64), max_bytes=2 * 64 * 64 * 3)


# -- 12, 2, 3. the CLI: one line on stderr, exit 1 (bad input file), before any model is built --


def _classify(capsys, *argv):
    status = cli.main(["classify", *map(str, argv)])
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda tmp: _write(tmp / "text.gif", b"hello"), "not a readable GIF"),
        (lambda tmp: _write(tmp / "empty.gif", b""), "is empty"),
        (lambda tmp: tmp, "holds no videos"),  # a folder of videos would be classified
        (lambda tmp: "/dev/null", "not a regular file"),
        (lambda tmp: _huge_gif_header(tmp / "huge.gif"), "too large"),
        (lambda tmp: _npy(tmp / "raw.npy", RNG.integers(0, 256, (4, 224, 224, 3)).astype("uint8")), "raw RGB"),
        (lambda tmp: _npy(tmp / "nan.NPY", np.full((4, 224, 224, 3), np.nan, "float32")), "NaN"),
        (lambda tmp: _npy(tmp / "inf.npy", np.full((4, 224, 224, 3), np.inf, "float32")), "infinite"),
        (lambda tmp: _npy(tmp / "rank3.npy", np.zeros((224, 224, 3), "float32")), "got shape \\(224, 224, 3\\)"),
        (lambda tmp: _npy(tmp / "four.npy", np.zeros((4, 224, 224, 4), "float32")), "got 4 channels"),
        (lambda tmp: _npy(tmp / "empty.npy", np.zeros((0, 4, 224, 224, 3), "float32")), "empty batch"),
        (lambda tmp: _npy(tmp / "objects.npy", np.array([{"a": 1}], dtype=object)), "holds Python objects"),
        (lambda tmp: _write(tmp / "cut.npy", b"\x93NUMPY\x01\x00"), "not a readable .npy"),
        (lambda tmp: _gif(tmp / "gif.npy"), "not a .npy file \\(no NumPy header\\)"),
    ],
)
def test_classify_rejects_bad_input_in_one_line(tmp_path, capsys, make, match):
    status, out, err = _classify(capsys, make(tmp_path))
    assert status == 1 and out == ""  # 1: an input file could not be processed
    assert err.startswith("keras-i3d: error: ") and err.count("\n") == 1, err
    assert re.search(match, err), err


def _npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array, allow_pickle=True)
    return path


@pytest.mark.requires_data
def test_classify_reads_an_upper_case_npy(tmp_path, capsys):
    path = _npy(tmp_path / "clip.NPY", helpers.reference_input()[0])
    status, out, _ = _classify(capsys, path)
    assert status == 0 and out.split("\n")[0].endswith("playing cricket")


@pytest.mark.parametrize(
    "argv,match",
    [
        (["classify", "x.gif", "--stream", "depth"], "argument --stream: invalid choice"),
        (["classify", "--top", "abc"], "argument --top: invalid int value"),
        (["convert", "--preset", "kinetics400_rgb", "--output", "x.weights.h5", "--tolerance", "abc"], "invalid float"),
        ([], "the following arguments are required: command"),
    ],
)
def test_usage_errors_are_one_line_too(capsys, argv, match):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and err.startswith("keras-i3d: error: "), err
    assert match in err


def test_classify_rejects_bad_top(capsys):
    status, _, err = _classify(capsys, "--top", "0")
    assert status == 2 and "--top must be at least 1" in err


def test_every_error_is_a_keras_i3d_error_and_a_builtin():
    for error in (InputError, VideoError):
        assert issubclass(error, KerasI3DError) and issubclass(error, ValueError)
