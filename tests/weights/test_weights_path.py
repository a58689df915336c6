"""The weights path, one way: describe -> check_fits -> (build) -> fetch(spec, verify) -> load.

The resolution chain is tested here with fake sources and a fake ``verify``
(milliseconds, no conversion); the real sources are tested against the real
checkpoint in ``test_pretrained.py`` and ``test_weights_faults.py``.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from keras_i3d import presets
from keras_i3d.errors import WeightsError
from keras_i3d.weights import fetch as fetch_lib
from keras_i3d.weights.fetch import Fetched, StepFailed, fetch
from keras_i3d.weights.files import WeightsFile, config_path, write_weights
from keras_i3d.weights.spec import WeightsSpec, check_fits, describe, preset_spec

PRESET = presets.PRESETS["kinetics400_rgb"]


class FakeVerify:
    """Records its calls; fails for the files named in ``reject``; returns a token per file."""

    def __init__(self, reject=()):
        self.calls = []
        self.reject = set(reject)

    def __call__(self, weights_file, spec, holder=None, require_sidecar=False):
        self.calls.append((weights_file.path.name, holder, require_sidecar))
        if weights_file.path.name in self.reject:
            raise WeightsError(f"{weights_file.path.name} is corrupt")
        return ("holder", weights_file.path.name)


def _writer(name: str, holder=None):
    """A source that writes a file into the cache folder (as a conversion would) and returns it."""

    def source(spec, progress):
        path = fetch_lib.cached_path(spec.preset).with_name(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"weights")
        return Fetched(WeightsFile(path), holder)

    return source


def _failing(reason: str):
    def source(spec, progress):
        raise StepFailed(reason)

    return source


def _never(spec, progress):
    pytest.fail("a later source ran after an earlier one worked")


pytestmark = pytest.mark.backend_independent


@pytest.fixture
def spec(fresh_cache):
    return preset_spec(PRESET)


def test_the_first_source_that_works_wins_and_later_ones_never_run(spec):
    verify = FakeVerify()
    sources = [("a", _failing("no data")), ("b", _writer("b.weights.h5", holder="in memory")), ("c", _never)]
    weights_file, holder = fetch(spec, verify, progress=False, sources=sources)
    assert weights_file.path.name == "b.weights.h5"
    assert holder == ("holder", "b.weights.h5")
    # The cache is tried first (absent here), then the source's file is verified with the holder it brought.
    assert verify.calls == [("b.weights.h5", "in memory", False)]


def test_every_reason_is_reported_when_all_sources_fail(spec):
    sources = [("local", _failing("no data folder")), ("mirror", _failing("not set")), ("origin", _failing("HTTP 404"))]
    with pytest.raises(WeightsError) as info:
        fetch(spec, FakeVerify(), progress=False, sources=sources)
    message = str(info.value)
    assert "Could not get weights for preset 'kinetics400_rgb'" in message
    for line in ("1. cache: ", "2. local: no data folder", "3. mirror: not set", "4. origin: HTTP 404"):
        assert line in message
    assert "keras-i3d download kinetics400_rgb" in message


def test_an_unexpected_error_in_a_source_is_not_reported_as_a_failed_way(spec):
    def buggy(spec, progress):
        raise ValueError("a bug, not a missing file")

    with pytest.raises(ValueError, match="a bug"):
        fetch(spec, FakeVerify(), progress=False, sources=[("buggy", buggy), ("next", _never)])


def test_a_fetched_file_that_does_not_verify_is_removed_and_the_chain_goes_on(spec):
    verify = FakeVerify(reject={"bad.weights.h5"})
    sources = [("bad", _writer("bad.weights.h5")), ("good", _writer("good.weights.h5"))]
    weights_file, _ = fetch(spec, verify, progress=False, sources=sources)
    assert weights_file.path.name == "good.weights.h5"
    assert not weights_file.path.with_name("bad.weights.h5").exists()


def test_a_rejected_file_is_named_in_the_combined_error(spec):
    with pytest.raises(WeightsError, match=r"2\. bad: bad\.weights\.h5 is corrupt"):
        fetch(spec, FakeVerify(reject={"bad.weights.h5"}), progress=False, sources=[("bad", _writer("bad.weights.h5"))])


def test_a_cached_file_is_verified_with_its_sidecar_required_and_nothing_else_runs(spec):
    cached = fetch_lib.cached_path(PRESET)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"weights")
    verify = FakeVerify()
    weights_file, holder = fetch(spec, verify, progress=False, sources=[("never", _never)])
    assert weights_file.path == cached
    assert verify.calls == [(cached.name, None, True)]


def test_a_cached_file_that_fails_is_discarded_with_a_warning_then_fetched_again(spec):
    cached = fetch_lib.cached_path(PRESET)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"weights")
    config_path(cached).write_text("{}")
    verify = FakeVerify(reject={cached.name})
    refetch = _writer("again.weights.h5")
    with pytest.warns(UserWarning, match="Discarding cached weights"):
        weights_file, _ = fetch(spec, verify, progress=False, sources=[("again", refetch)])
    assert weights_file.path.name == "again.weights.h5"
    assert not cached.exists() and not config_path(cached).exists()


def test_a_folder_in_place_of_the_cached_file_is_an_error_at_once(spec):
    fetch_lib.cached_path(PRESET).mkdir(parents=True)
    with pytest.raises(WeightsError, match="is a directory"):
        fetch(spec, FakeVerify(), progress=False, sources=[("never", _never)])


# -- describe and check_fits ---------------------------------------------------------------------------------


def test_describe_a_preset_from_the_registry():
    spec = describe("kinetics400_flow")
    assert (spec.kind, spec.channels, spec.classes, spec.stream) == ("preset", 2, 400, "flow")
    assert spec.trusted_digest == presets.PRESETS["kinetics400_flow"].weights_digest
    assert spec.path is None and describe(spec) is spec and describe(None) is None


def test_describe_rejects_unknown_presets_and_other_types():
    with pytest.raises(ValueError, match="kinetics700_rgb"):
        describe("kinetics700_rgb")
    with pytest.raises(ValueError, match="got int"):
        describe(3)


def _config_only_file(tmp_path, config):
    path = tmp_path / "x.weights.h5"
    path.write_bytes(b"not read by describe")
    config_path(path).write_text(json.dumps({"format": 1, **config}))
    return path


def test_describe_a_file_reads_its_config_once(tmp_path, monkeypatch):
    from keras_i3d.weights import files

    path = _config_only_file(tmp_path, {"channels": 3, "classes": 7, "stream": "rgb"})
    reads = []
    real = files.read_config
    monkeypatch.setattr(files, "read_config", lambda p: reads.append(p) or real(p))
    spec = describe(str(path))
    assert (spec.kind, spec.channels, spec.classes, spec.stream, spec.path) == ("file", 3, 7, "rgb", path)
    assert spec.file.config["classes"] == 7 and spec.file.info.classes == 7
    assert reads == [path]
    assert spec.trusted_digest is None  # no preset named: nothing from the registry applies


def test_a_file_converted_from_a_preset_checkpoint_is_held_to_the_registry_digest(tmp_path):
    path = _config_only_file(tmp_path, {"channels": 3, "classes": 400, "preset": PRESET.name, "source": PRESET.source})
    assert describe(path).trusted_digest == PRESET.weights_digest
    other = _config_only_file(tmp_path, {"channels": 3, "classes": 400, "preset": PRESET.name, "source": "mine"})
    assert describe(other).trusted_digest is None


def test_check_fits_has_one_error_for_presets_and_files(tmp_path):
    file_spec = describe(_config_only_file(tmp_path, {"channels": 2, "classes": None}))
    for spec in (describe("kinetics400_rgb"), file_spec):
        with pytest.raises(WeightsError, match=r"got classes=5\. Use include_top=False"):
            check_fits(spec, classes=5)
    with pytest.raises(WeightsError, match="has no classifier"):
        check_fits(file_spec, classes=400)
    with pytest.raises(WeightsError, match="weights for 2 input channels; the model takes 3"):
        check_fits(file_spec, channels=3)
    check_fits(file_spec, channels=2, classes=None)  # include_top=False takes any classifier
    check_fits(None, channels=9, classes=9)


def test_write_weights_records_a_digest_it_is_given_without_hashing_again(tmp_path, monkeypatch):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    from keras_i3d.weights import files

    monkeypatch.setattr(files, "weights_digest", lambda m: pytest.fail("hashed again"))
    config = write_weights(model, tmp_path / "m.weights.h5", {"channels": 3, "classes": 2}, digest="given")
    assert config["weights_digest"] == "given"
    assert json.loads(config_path(tmp_path / "m.weights.h5").read_text())["weights_digest"] == "given"


def test_a_spec_is_a_frozen_value():
    spec = describe("kinetics400_rgb")
    with pytest.raises(AttributeError):
        spec.classes = 3
    assert isinstance(spec, WeightsSpec) and np.isscalar(spec.channels)


def test_the_builders_check_the_weights_before_building_a_graph(monkeypatch, tmp_path):
    from keras_i3d.applications import i3d, two_stream

    monkeypatch.setattr(i3d, "i3d_features", lambda *a, **k: pytest.fail("a graph was built"))
    with pytest.raises(WeightsError, match="Preset 'kinetics400_rgb' has 400 classes; got classes=5"):
        i3d.I3D(weights="kinetics400_rgb", classes=5)
    path = _config_only_file(tmp_path, {"channels": 3, "classes": 7})
    with pytest.raises(WeightsError, match="has 7 classes; got classes=5"):
        i3d.I3D(weights=path, classes=5)
    with pytest.raises(ValueError, match=r"different numbers of classes \(\[400, 600\]\)"):
        two_stream.TwoStreamI3D(rgb_weights="kinetics600_rgb", flow_weights="kinetics400_flow")
