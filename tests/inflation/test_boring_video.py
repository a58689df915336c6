"""The boring-video check: inflated networks reproduce their 2D networks on a repeated image, frame by frame."""

import keras
import numpy as np
import pytest

from keras_i3d import InceptionV1, InflationError, boring_video_check, fuse_for_inference, inflate, unaffected_frames
from keras_i3d.inflation.boring_video import Frames
from keras_i3d.model.architecture import weights_holder
from tests.support import helpers

L = keras.layers
TOLERANCE = 1e-5


def _images(batch=2, size=32, seed=1):
    return np.random.default_rng(seed).uniform(-1, 1, (batch, size, size, 3)).astype("float32")


def test_inception_v1_and_its_inflation_agree_on_a_boring_video():
    model_2d = InceptionV1(classes=10, classifier_activation=None, input_shape=(32, 32, 3))
    helpers.randomize_batch_norm(model_2d)
    model_3d = inflate(model_2d)
    report = boring_video_check(model_2d, model_3d, _images(), frames=128, tolerance=TOLERANCE)
    print(report.summary())
    assert report.passed, report.summary()
    by_name = {c.name: c for c in report.layers}
    # 128 frames -> 16 at Mixed_5c, of which temporal padding leaves frames 6-9 alone; the head pools
    # all 16 frames, so its output is the one thing padding always reaches.
    assert by_name["Mixed_5c"].frames == range(6, 10) and by_name["Mixed_5c"].length == 16
    # Conv3d_1a_7x7 (stride 2, TF SAME: 2 frames before, 3 after): output j reads frames 2j-2 ... 2j+4.
    assert by_name["Conv3d_1a_7x7"].frames == range(1, 62)
    assert report.uncompared == ["Logits_avg_pool", "Logits_Conv3d_0c_1x1_conv_3d", "Logits"]
    assert len(report.compared) == len(model_2d.layers) - 1 - 3
    assert 0 < report.worst.relative_diff <= TOLERANCE


@pytest.mark.torch_only  # the check's arithmetic is NumPy; each backend runs it on Inception-v1 above (CI budget)
def test_resnet50_and_its_inflation_agree_on_a_boring_video():
    model_2d = keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10)
    helpers.randomize_batch_norm(model_2d)
    report = boring_video_check(model_2d, inflate(model_2d), _images(), frames=48, tolerance=TOLERANCE)
    print(report.summary())
    assert report.passed, report.summary()
    by_name = {c.name: c for c in report.layers}
    # conv1 7x7x7 takes 3 frames off each end, each of the 16 blocks' 3x3x3 one more.
    assert by_name["conv1_conv"].frames == range(3, 45)
    assert by_name["conv5_block3_out"].frames == range(19, 29)
    assert report.uncompared == ["avg_pool", "predictions"]


def _conv_chain(frames: int) -> tuple[keras.Model, keras.Model]:
    keras.utils.set_random_seed(1)  # the tightness check below needs weights under which every frame shows
    inputs = keras.Input((8, 8, 2))
    x = L.Conv2D(3, 3, padding="same", name="a")(inputs)
    x = L.Conv2D(3, 3, padding="same", name="b")(x)
    x = L.MaxPooling2D(3, strides=1, padding="same", name="pool")(x)
    model_2d = keras.Model(inputs, L.Conv2D(3, 1, name="c")(x))
    return model_2d, inflate(model_2d, time_kernels={"a": 3, "b": 5, "pool": 3}, frames=frames)


def test_unaffected_frames_are_exactly_those_padding_does_not_reach():
    model_2d, model_3d = _conv_chain(12)
    found = unaffected_frames(model_3d)
    assert found["a"] == Frames(12, 1, 11)  # kernel 3: one frame off each end
    assert found["b"] == Frames(12, 3, 9)  # kernel 5: two more
    assert found["pool"] == found["c"] == Frames(12, 4, 8)  # the pool's window reaches one affected frame
    # Tight, not just safe: every frame outside the range does differ from the 2D activations.
    image = np.random.default_rng(0).uniform(0.5, 1, (1, 8, 8, 2)).astype("float32")
    video = np.repeat(image[:, None], 12, axis=1)
    for name in ("a", "b", "c"):
        a2 = keras.Model(model_2d.inputs, model_2d.get_layer(name).output).predict(image, verbose=0)[0]
        a3 = keras.Model(model_3d.inputs, model_3d.get_layer(name).output).predict(video, verbose=0)[0]
        differs = [bool(np.abs(a3[t] - a2).max() > 1e-4 * np.abs(a2).max()) for t in range(12)]
        assert [not d for d in differs] == [t in found[name].frames() for t in range(12)], name


def test_strides_and_valid_pools():
    inputs = keras.Input((8, 8, 2))
    x = L.Conv2D(3, 7, strides=2, padding="same", name="stem")(inputs)
    x = L.MaxPooling2D(3, strides=2, padding="valid", name="pool")(x)
    model_3d = inflate(keras.Model(inputs, x), time_kernels={"pool": 3}, time_strides={"stem": 2, "pool": 2}, frames=20)
    found = unaffected_frames(model_3d)
    # 20 frames, kernel 7, stride 2: TF SAME pads 2 before, 3 after; output j reads frames 2j-2 ... 2j+4.
    assert found["stem"] == Frames(10, 1, 8)
    # The pool is VALID in space, SAME in time (pads 0 before, 1 after; -inf, never chosen):
    # 5 frames, j reads 2j ... 2j+2, so j = 1, 2 see only unaffected frames 1 ... 7.
    assert found["pool"] == Frames(5, 1, 3)


def test_a_wrong_inflation_fails_the_check():
    model_2d, model_3d = _conv_chain(12)
    kernel = model_3d.get_layer("b").kernel
    kernel.assign(keras.ops.convert_to_numpy(kernel) * 5)  # repeated but not divided by the time kernel
    report = boring_video_check(model_2d, model_3d, np.ones((1, 8, 8, 2), "float32"))
    assert not report.passed
    assert report.worst.name in ("b", "pool", "c") and report.worst.relative_diff > 1
    assert [c.name for c in report.layers if c.relative_diff > TOLERANCE] == ["b", "pool", "c"]
    assert "NOT all within" in report.summary()


def test_i3d_itself_is_analysed():
    # The numbers the README quotes: at DeepMind's 64 training frames one frame of Mixed_4f and none of
    # Mixed_5c escape temporal padding; at 128 frames, 4 of Mixed_5c's 16 do.
    i3d = weights_holder(3, 400)
    found = unaffected_frames(i3d, frames=64)
    assert found["clip_shape_check"] == Frames(64, 0, 64)
    assert found["Conv3d_1a_7x7"] == Frames(32, 1, 30)
    assert found["Mixed_4f"] == Frames(16, 7, 8)
    assert found["Mixed_5c"] == Frames(8, 0, 0) and found["Logits"].count == 0
    assert unaffected_frames(i3d, frames=128)["Mixed_5c"] == Frames(16, 6, 10)
    # The fused model (FusedConv3D, separable max pools) has the same time geometry.
    fused = unaffected_frames(fuse_for_inference(i3d, implementation="frames"), frames=64)
    assert {name: fused[name] for name in ("Conv3d_1a_7x7", "Mixed_4f", "Mixed_5c")} == {
        name: found[name] for name in ("Conv3d_1a_7x7", "Mixed_4f", "Mixed_5c")
    }


def test_bad_requests():
    model_2d, model_3d = _conv_chain(12)
    free = inflate(model_2d)
    with pytest.raises(InflationError, match="takes any number of frames: pass `frames=`"):
        unaffected_frames(free)
    with pytest.raises(InflationError, match="`frames` must be a positive int; got 0"):
        unaffected_frames(free, frames=0)
    with pytest.raises(InflationError, match=r"`images` must be \(batch, height, width, channels\)"):
        boring_video_check(model_2d, model_3d, np.ones((8, 8, 2)))
    a, b = keras.Input((8, 8, 2)), keras.Input((8, 8, 2))
    two = keras.Model([a, b], L.Add()([a, b]))
    with pytest.raises(InflationError, match="one input"):
        boring_video_check(two, model_3d, np.ones((1, 8, 8, 2)))
