"""The NumPy checkpoint reader: bit-identical to TensorFlow's, and clear about bad files."""

import numpy as np
import pytest

from keras_i3d.errors import CheckpointError
from keras_i3d.weights.tensor_bundle import TensorBundle
from tests.support import helpers

pytestmark = [pytest.mark.requires_data, pytest.mark.backend_independent]


def _assert_identical_to_tensorflow(prefix):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    bundle = TensorBundle(prefix)
    assert set(bundle.entries) == set(reader.get_variable_to_shape_map())
    for name in bundle.entries:
        ours, theirs = bundle.read(name), reader.get_tensor(name)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, name
        assert ours.tobytes() == theirs.tobytes(), name


def test_real_checkpoint_is_bit_identical_to_tensorflow():
    _assert_identical_to_tensorflow(helpers.data_dir() / "checkpoints" / "rgb_scratch" / "model.ckpt")


@pytest.mark.parametrize("source", ["rgb_imagenet", "flow_scratch", "flow_imagenet", "rgb_scratch_kin600"])
def test_synthetic_upstream_layouts_are_bit_identical_to_tensorflow(tmp_path, source):
    helpers.write_synthetic_checkpoint(tmp_path / "model.ckpt", helpers.checkpoint_layout(source))
    _assert_identical_to_tensorflow(tmp_path / "model.ckpt")


@pytest.mark.parametrize("source", helpers.SOURCES)
def test_index_alone_gives_names_shapes_dtypes(source):
    layout = helpers.checkpoint_layout(source)
    bundle = TensorBundle(helpers.data_dir() / "checkpoints" / source / "model.ckpt", check_data=False)
    assert bundle.shapes() == {name: tuple(shape) for name, (shape, _) in layout.items()}
    assert bundle.dtypes() == {name: dtype for name, (_, dtype) in layout.items()}


@pytest.fixture
def synthetic(tmp_path):
    layout = {"a/w": ([3, 4], "float32"), "b/w": ([1000], "float32"), "step": ([], "int64")}
    values = helpers.write_synthetic_checkpoint(tmp_path / "ckpt" / "model.ckpt", layout)
    return tmp_path / "ckpt" / "model.ckpt", values


def test_every_dtype_and_scalar_round_trips(synthetic):
    prefix, values = synthetic
    bundle = TensorBundle(prefix)
    for name, value in values.items():
        np.testing.assert_array_equal(bundle.read(name), value)
    assert bundle.read("step").shape == ()


def test_corrupted_tensor_fails_its_crc(synthetic):
    prefix, _ = synthetic
    entry = TensorBundle(prefix).entries["b/w"]
    data = prefix.with_name("model.ckpt.data-00000-of-00001")
    raw = bytearray(data.read_bytes())
    raw[entry.offset + 100] ^= 0x40
    data.write_bytes(bytes(raw))
    bundle = TensorBundle(prefix)
    np.testing.assert_array_equal(bundle.read("a/w").shape, (3, 4))  # other tensors still read
    with pytest.raises(CheckpointError, match=r"'b/w' in .*data-00000-of-00001 is corrupted: CRC-32C"):
        bundle.read("b/w")


def test_truncated_shard_is_reported_up_front(synthetic):
    prefix, _ = synthetic
    data = prefix.with_name("model.ckpt.data-00000-of-00001")
    size = data.stat().st_size
    with open(data, "r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(CheckpointError, match=rf"is truncated: it has {size // 2} bytes, the index needs {size}"):
        TensorBundle(prefix)


def test_missing_data_file(synthetic):
    prefix, _ = synthetic
    prefix.with_name("model.ckpt.data-00000-of-00001").unlink()
    with pytest.raises(CheckpointError, match="has an index but no data file"):
        TensorBundle(prefix)
    bundle = TensorBundle(prefix, check_data=False)
    with pytest.raises(CheckpointError, match="no data file"):
        bundle.read("a/w")


@pytest.mark.parametrize(
    "damage,match",
    [
        (lambda raw: raw[:20], "too short to be a TensorFlow checkpoint index"),
        (lambda raw: raw[:-1], "not a TensorFlow checkpoint index"),
        (lambda raw: b"\x89HDF\r\n\x1a\n" + bytes(200), "not a TensorFlow checkpoint index"),
        (lambda raw: raw[:30] + bytes([raw[30] ^ 1]) + raw[31:], "CRC-32C mismatch in the data block"),
    ],
    ids=["truncated-short", "truncated", "foreign", "bit-flip"],
)
def test_bad_index_files(synthetic, damage, match):
    prefix, _ = synthetic
    index = prefix.with_name("model.ckpt.index")
    index.write_bytes(damage(index.read_bytes()))
    with pytest.raises(CheckpointError, match=match):
        TensorBundle(prefix)


def test_missing_index(tmp_path):
    with pytest.raises(CheckpointError, match="Cannot read checkpoint index"):
        TensorBundle(tmp_path / "model.ckpt")


def test_unknown_tensor(synthetic):
    prefix, _ = synthetic
    with pytest.raises(KeyError, match="no tensor 'c/w'"):
        TensorBundle(prefix).read("c/w")


def test_reader_leaves_files_untouched(synthetic):
    prefix, _ = synthetic
    before = {p.name: p.read_bytes() for p in prefix.parent.iterdir()}
    TensorBundle(prefix).read("b/w")
    assert {p.name: p.read_bytes() for p in prefix.parent.iterdir()} == before
