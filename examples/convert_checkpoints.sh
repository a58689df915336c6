#!/usr/bin/env bash
# Convert every DeepMind checkpoint found under $KINETICS_I3D_DATA/checkpoints into
# ./weights/ with a manifest (preset, source, sha256, parity on the sample clip).
set -euo pipefail
python -m weights_conversion --all --data-dir "${KINETICS_I3D_DATA:-../shared/kinetics-i3d}" --output-dir weights
