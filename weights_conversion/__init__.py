"""Convert DeepMind's kinetics-i3d TF1 checkpoints into keras_i3d weights."""
