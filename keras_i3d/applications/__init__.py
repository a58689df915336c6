"""The public builders in the keras.applications manner: `I3D`, `TwoStreamI3D`, `InceptionV1`.

May import: `keras_i3d.weights`, `keras_i3d.video`, `keras_i3d.model` and everything below them.
"""
