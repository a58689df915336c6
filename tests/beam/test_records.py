"""SequenceExample bytes written without TensorFlow, read back by TensorFlow's own protobuf classes."""

import numpy as np
import pytest

from keras_i3d.beam import records

pytestmark = pytest.mark.backend_independent  # bytes; TensorFlow is only the oracle


def test_features_example_parses_with_tensorflow_and_matches_its_serialization():
    tf = pytest.importorskip("tensorflow")
    values = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    sidecar = {
        "name": "a/b.mp4@1.5-end", "source": "/videos/a/b.mp4", "label": "run", "start": 1.5, "end": None,
        "starts": [0.0, 0.16, 0.32], "ends": [0.64, 0.8, 0.96],
    }  # fmt: skip
    data = records.features_example(values, sidecar, "Mixed_5c", "joint", 25 / 4)
    example = tf.train.SequenceExample.FromString(data)
    context, lists = example.context.feature, example.feature_lists.feature_list
    assert context["clip/media_id"].bytes_list.value == [b"a/b.mp4@1.5-end"]
    assert context["clip/label/string"].bytes_list.value == [b"run"]
    assert context["clip/start/timestamp"].int64_list.value == [1_500_000] and "clip/end/timestamp" not in context
    assert context["I3D/feature/dimensions"].int64_list.value == [5]
    assert context["I3D/feature/rate"].float_list.value == [pytest.approx(6.25)]
    floats = np.array([f.float_list.value for f in lists["I3D/feature/floats"].feature], np.float32)
    assert np.array_equal(floats, values)
    assert [f.int64_list.value[0] for f in lists["I3D/feature/timestamp"].feature] == [0, 160_000, 320_000]
    assert [f.int64_list.value[0] for f in lists["I3D/feature/end_timestamp"].feature] == [640_000, 800_000, 960_000]
    assert example.SerializeToString(deterministic=True) == data  # the same bytes TensorFlow writes


def test_wire_format_edge_cases_against_tensorflow():
    tf = pytest.importorskip("tensorflow")
    context = {
        "big": records.int64_feature([-1, 0, 2**63 - 1, -(2**63), 300]),
        "empty_ints": records.int64_feature([]),
        "empty_floats": records.float_feature([]),
        "bytes": records.bytes_feature([b"", b"\x00\xff" * 200]),
    }
    data = records.sequence_example(context, {"list": [records.float_feature([1.5]), records.int64_feature([7])]})
    example = tf.train.SequenceExample.FromString(data)
    feature = example.context.feature
    assert list(feature["big"].int64_list.value) == [-1, 0, 2**63 - 1, -(2**63), 300]
    assert feature["empty_ints"].HasField("int64_list") and not feature["empty_ints"].int64_list.value
    assert feature["empty_floats"].HasField("float_list")
    assert list(feature["bytes"].bytes_list.value) == [b"", b"\x00\xff" * 200]
    items = example.feature_lists.feature_list["list"].feature
    assert items[0].float_list.value == [1.5] and items[1].int64_list.value == [7]
    assert example.SerializeToString(deterministic=True) == data
