"""Extract DeepMind's intermediate endpoints (e.g. Mixed_4f, Mixed_5c) from a clip.

    python examples/endpoint_features.py

Every endpoint in ``keras_i3d.VALID_ENDPOINTS`` is a layer of that name.
"""

import numpy as np

import keras_i3d
from keras_i3d.utils.quiet import quiet_framework_startup

with quiet_framework_startup():  # without the backend framework's start-up log lines
    import keras

backbone = keras_i3d.I3D(weights="kinetics400_rgb", include_top=False)
extractor = keras.Model(
    backbone.input,
    {name: backbone.get_layer(name).output for name in ("Mixed_4f", "Mixed_5c")},
)
clip = np.random.default_rng(0).uniform(-1, 1, (1, 16, 224, 224, 3)).astype("float32")
for name, value in extractor.predict(clip, verbose=0).items():
    print(f"{name:10} {value.shape}")  # Mixed_4f (1, 4, 14, 14, 832), Mixed_5c (1, 2, 7, 7, 1024)
