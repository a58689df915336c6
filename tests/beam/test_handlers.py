"""The RunInference model handlers on each backend, against the as-built Keras model."""

import keras
import numpy as np
import pytest

beam = pytest.importorskip("apache_beam")

from apache_beam.testing.util import assert_that  # noqa: E402

from keras_i3d import I3D, TwoStreamI3D  # noqa: E402
from keras_i3d.beam.handlers import I3DModelHandler  # noqa: E402
from keras_i3d.beam.library import KeyedModelHandler, PipelineOptions, RunInference  # noqa: E402
from keras_i3d.beam.settings import NetworkSpec  # noqa: E402
from keras_i3d.model.architecture import LOGITS_LAYER  # noqa: E402

SHAPE = (9, 32, 32)


def _relative(a, b):
    return float(np.abs(a - b).max() / (np.abs(b).max() + 1e-12))


def test_run_inference_with_the_clip_handler_matches_the_as_built_model(tmp_path):
    keras.utils.set_random_seed(0)
    model = I3D(weights=None, input_shape=(*SHAPE, 3), classes=5, classifier_activation=None)
    path = tmp_path / "small.keras"
    model.save(path)
    clips = np.random.default_rng(0).uniform(-1, 1, (3, *SHAPE, 3)).astype(np.float32)
    handler = I3DModelHandler(NetworkSpec(model=str(path)), endpoints=("Mixed_4f",), max_batch_size=2)
    expected_logits = keras.ops.convert_to_numpy(model.predict_on_batch(clips))
    mixed = keras.Model(model.input, model.get_layer("Mixed_4f").output)
    expected_features = keras.ops.convert_to_numpy(mixed.predict_on_batch(clips)).mean(axis=(1, 2, 3))

    def check(found):  # runs inside the pipeline; a failed assert fails the run
        results = dict(found)
        assert sorted(results) == [0, 1, 2], sorted(results)
        logits = np.stack([results[i][LOGITS_LAYER] for i in range(3)])
        features = np.stack([results[i]["Mixed_4f"] for i in range(3)])
        assert _relative(logits, expected_logits) < 1e-4 and _relative(features, expected_features) < 1e-4

    with beam.Pipeline(options=PipelineOptions(["--direct_running_mode=in_memory"])) as p:
        results = (
            p
            | beam.Create([(i, clip) for i, clip in enumerate(clips)])
            | RunInference(KeyedModelHandler(handler))
            | beam.MapTuple(lambda key, result: (key, result.inference))
        )
        assert_that(results, check)


@pytest.mark.backend_independent  # the two-stream plumbing; the network per backend is the test above's
def test_the_clip_handler_runs_two_streams(tmp_path):
    keras.utils.set_random_seed(1)
    model = TwoStreamI3D(None, None, classes=5, classifier_activation=None, frames=SHAPE[0], size=SHAPE[1])
    path = tmp_path / "two.keras"
    model.save(path)
    rng = np.random.default_rng(1)
    examples = [{"rgb": rng.uniform(-1, 1, (*SHAPE, 3)), "flow": rng.uniform(-1, 1, (*SHAPE, 2))} for _ in range(2)]
    handler = I3DModelHandler(NetworkSpec(stream="joint", model=str(path)), endpoints=("Mixed_5c",))
    results = handler.run_inference(examples, handler.load_model())
    inputs = {s: np.stack([e[s] for e in examples]).astype(np.float32) for s in ("rgb", "flow")}
    expected = keras.ops.convert_to_numpy(model.predict_on_batch(inputs))
    assert _relative(np.stack([r.inference[LOGITS_LAYER] for r in results]), expected) < 1e-4
    assert {k: v.shape for k, v in results[0].inference.items() if k != LOGITS_LAYER} == {
        "rgb/Mixed_5c": (1024,), "flow/Mixed_5c": (1024,),
    }  # fmt: skip
