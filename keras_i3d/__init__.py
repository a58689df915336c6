"""keras_i3d: DeepMind's I3D video network for Keras 3 (TensorFlow, JAX, PyTorch)."""

from keras_i3d.model import I3D, VALID_ENDPOINTS
from keras_i3d.preprocessing import decode_predictions, load_labels, preprocess_input
from keras_i3d.presets import PRESETS, Preset, get_preset

__version__ = "0.1.0"

__all__ = [
    "I3D",
    "PRESETS",
    "Preset",
    "VALID_ENDPOINTS",
    "decode_predictions",
    "get_preset",
    "load_labels",
    "preprocess_input",
]
