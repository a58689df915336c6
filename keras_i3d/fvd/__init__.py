"""The Fréchet Video Distance (Unterthiner et al. 2018) as its reference defines it.

Owns `keras_i3d.fvd.frechet` (the Fréchet distance of two Gaussians, tfgan's
formula in NumPy float64), `keras_i3d.fvd.resize` (the reference's TF1 legacy
bilinear resize and the other conventions in use) and
`keras_i3d.fvd.statistics` (streaming activation statistics, saved as
``.npz`` with their settings).

May import: `keras_i3d.applications`, `keras_i3d.weights`, `keras_i3d.video`,
`keras_i3d.preprocessing`, `keras_i3d.model` and everything below them.
"""
