"""Loading weights into a built network, by layer name: the last step of the weights path.

`load_weights` takes what `keras_i3d.weights.spec.describe` made of a
``weights`` argument, checks that it fits the model, gets a verified weights
holder (a file is verified in place; a preset is fetched,
`keras_i3d.weights.fetch`) and assigns every layer's variables from it.
"""

from __future__ import annotations

import keras

from keras_i3d.model.architecture import FIRST_CONV_LAYER, LOGITS_LAYER
from keras_i3d.weights.fetch import Verify, fetch
from keras_i3d.weights.spec import WeightsSpec, check_fits, describe
from keras_i3d.weights.verify import verify as default_verify


def model_channels(model: keras.Model) -> int:
    """Input channels of an I3D model's first convolution."""
    return int(model.get_layer(FIRST_CONV_LAYER).kernel.shape[3])


def model_classes(model: keras.Model) -> int:
    """Width of an I3D model's ``Logits`` layer."""
    return int(model.get_layer(LOGITS_LAYER).output.shape[-1])


def verified_holder(spec: WeightsSpec, progress: bool = True, verify: Verify = default_verify) -> keras.Model:
    """A weights holder filled with the spec's weights, verified (and fetched, for a preset).

    Raises:
        WeightsError: if the weights cannot be found, read or verified.
    """
    if spec.kind == "file":
        return verify(spec.file, spec)
    return fetch(spec, verify, progress)[1]


def load_weights(model: keras.Model, weights, include_top: bool = True, progress: bool = True) -> None:
    """Loads a preset or a ``.weights.h5`` file into an I3D model, by layer name.

    Works for any head: weights of a full model load into a model built with
    ``include_top=False`` (the classifier is skipped). Every file is verified
    first (`keras_i3d.weights.verify.verify`): a preset against the
    registry's content digest, a file against its ``.sha256`` sidecar and the
    digests its config records. A cached preset that fails is discarded and
    fetched again.

    Args:
        model: a model built by `keras_i3d.I3D`.
        weights: a preset name, a path to a ``.weights.h5`` file, or a
            `keras_i3d.weights.spec.WeightsSpec` from ``describe``.
        include_top: whether ``model`` has the ``Logits`` classifier.
        progress: show progress bars while converting or downloading.

    Raises:
        WeightsError: if the weights cannot be found, read, verified, or do not fit.
    """
    spec = describe(weights)
    check_fits(spec, model_channels(model), model_classes(model) if include_top else None)
    holder = verified_holder(spec, progress)
    for layer in model.layers:
        if layer.weights:
            for target, value in zip(layer.weights, holder.get_layer(layer.name).weights, strict=True):
                target.assign(value.value)
