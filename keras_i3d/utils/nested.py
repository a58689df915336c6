"""Walking models that hold models (the streams of a `TwoStreamI3D`)."""

from __future__ import annotations

from collections.abc import Iterator

import keras


def leaf_layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """Every layer of ``model`` that is not itself a model, nested models' layers included, in order."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from leaf_layers(layer)
        else:
            yield layer
