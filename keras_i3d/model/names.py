"""DeepMind's names and sizes that the command line needs without building anything (no Keras import).

`keras_i3d.model.architecture` builds the graph with these names; ``keras-i3d``
builds its argument parser from them without starting a backend.
"""

from __future__ import annotations

#: DeepMind's endpoint names, in network order.
VALID_ENDPOINTS = (
    "Conv3d_1a_7x7",
    "MaxPool3d_2a_3x3",
    "Conv3d_2b_1x1",
    "Conv3d_2c_3x3",
    "MaxPool3d_3a_3x3",
    "Mixed_3b",
    "Mixed_3c",
    "MaxPool3d_4a_3x3",
    "Mixed_4b",
    "Mixed_4c",
    "Mixed_4d",
    "Mixed_4e",
    "Mixed_4f",
    "MaxPool3d_5a_2x2",
    "Mixed_5b",
    "Mixed_5c",
    "Logits",
    "Predictions",
)
FEATURES_ENDPOINT = "Mixed_5c"
#: The last endpoint that the transfer-learning recipe keeps frozen by default.
FREEZE_UNTIL_ENDPOINT = "Mixed_4f"
#: Default spatial size (DeepMind's crop).
DEFAULT_SIZE = 224
#: The implementations of a fused convolution (`keras_i3d.model.fused_layers.FusedConv3D`).
IMPLEMENTATIONS = ("conv3d", "frames")
