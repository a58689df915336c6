"""Small helpers with no model code and no Keras.

Files and atomic writes, hashes, downloads, paths, quiet framework start-up,
signals, module aliases.

May import: `keras_i3d.errors`, `keras_i3d.version`, `keras_i3d.presets` (the bottom level) only.
"""
