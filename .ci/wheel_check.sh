#!/usr/bin/env bash
# Packaging check: what `pip install keras-i3d` will get once published.
#
#   1. builds the sdist, then the wheel from that sdist (`python -m build`), from a copy of the
#      checkout's files (tracked + untracked, not ignored), so nothing is written into the checkout;
#   2. `twine check --strict` on both;
#   3. lists both archives: no tests/ (tests/data holds binary files), no weights_conversion/ (a
#      checkout tool; installed users have `keras-i3d convert`), and every keras_i3d module, every
#      subpackage's __init__.py, the label maps and py.typed (PEP 561) in the wheel;
#   4. installs the wheel and ONE backend into a clean venv and, from a folder outside the
#      repository, runs `keras-i3d presets`, `keras-i3d --help`, a tiny model build + predict and the
#      label maps.
#
# build and twine live in a throw-away venv, never the project's .venv. Everything goes to one
# temporary folder, removed on exit (KEEP=1 keeps it and prints where).
#
# Knobs: PYTHON (default python3); WHEEL_CHECK_BACKEND = jax (default) or torch.
# jax: jax + jaxlib from PyPI are CPU-only wheels (~90 MB), the same on any machine. torch: pinned
# to 2.13.0, which this machine serves as a local CPU wheel; on a machine with only PyPI the Linux
# torch wheel is the CUDA build (several GB with its nvidia-* dependencies).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"
PYTHON="${PYTHON:-python3}"
BACKEND="${WHEEL_CHECK_BACKEND:-jax}"
START=$SECONDS

case "$BACKEND" in
  jax) BACKEND_REQ=(jax) ;;
  torch) BACKEND_REQ=("torch==2.13.0") ;;
  *) echo "wheel_check: WHEEL_CHECK_BACKEND must be jax or torch, not '$BACKEND'" >&2; exit 2 ;;
esac

TMP="$(mktemp -d "${TMPDIR:-/tmp}/keras-i3d-wheel-check.XXXXXX")"
cleanup() {
  local rc=$?
  if [ "${KEEP:-0}" = 1 ]; then echo "wheel_check: kept $TMP"; else rm -rf "$TMP"; fi
  local verdict=FAILED
  [ "$rc" = 0 ] && verdict=OK
  echo "wheel_check: $verdict in $((SECONDS - START)) s, cleanup included (backend $BACKEND)"
}
trap cleanup EXIT

step() { printf '\n=== %s (%ds)\n' "$*" "$((SECONDS - START))"; }
fail() { echo "wheel_check: FAIL: $*" >&2; exit 1; }

# -- 1. a copy of the source, as a clean clone plus uncommitted work would have it -------------
step "copying the source tree"
SRC="$TMP/src"
mkdir -p "$SRC"
if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git -C "$REPO" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
    tar --null -T - -cf - | tar -xf - -C "$SRC"
else
  tar --exclude=./.git --exclude='./.venv*' --exclude=./build --exclude=./dist --exclude='*.egg-info' \
    --exclude=__pycache__ -cf - . | tar -xf - -C "$SRC"
fi

step "tools venv (build, twine)"
"$PYTHON" -m venv "$TMP/tools"
"$TMP/tools/bin/python" -m pip install -q --disable-pip-version-check "build>=1.2" "twine>=6.1" "packaging>=24.2"

step "python -m build (sdist, then the wheel from the sdist)"
DIST="$TMP/dist"
# The full log only on failure; its warnings always (setuptools' deprecations show up here).
if ! (cd "$TMP" && "$TMP/tools/bin/python" -m build --outdir "$DIST" "$SRC") >"$TMP/build.log" 2>&1; then
  cat "$TMP/build.log" >&2
  fail "python -m build"
fi
grep -iE 'warn|deprecat' "$TMP/build.log" | grep -v 'byte-compiling is disabled' | sort | uniq -c || true
tail -1 "$TMP/build.log"
shopt -s nullglob
SDISTS=("$DIST"/*.tar.gz)
WHEELS=("$DIST"/*.whl)
shopt -u nullglob
[ "${#SDISTS[@]}" = 1 ] || fail "expected one sdist in $DIST"
[ "${#WHEELS[@]}" = 1 ] || fail "expected one wheel in $DIST"
SDIST="${SDISTS[0]}"
WHEEL="${WHEELS[0]}"
ls -l "$DIST"

step "twine check --strict"
"$TMP/tools/bin/twine" check --strict "$SDIST" "$WHEEL"

# -- 3. what the archives hold ------------------------------------------------------------------
step "archive contents"
"$TMP/tools/bin/python" - "$SDIST" "$WHEEL" "$SRC" <<'PY'
import collections, pathlib, sys, tarfile, zipfile

sdist, wheel, src = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
problems = []

with tarfile.open(sdist) as tar:
    s_names = [m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile() and "/" in m.name]
with zipfile.ZipFile(wheel) as zf:
    w_names = [n for n in zf.namelist() if not n.endswith("/")]
    w_set = set(w_names)
    meta = next(n for n in w_names if n.endswith(".dist-info/METADATA"))
    metadata = zf.read(meta).decode()
    entry_points = zf.read(meta.replace("METADATA", "entry_points.txt")).decode()


def summary(title, names):
    counts = collections.Counter(n.split("/", 1)[0] + ("/" if "/" in n else "") for n in names)
    print(f"{title}: {len(names)} files")
    for top, n in sorted(counts.items()):
        print(f"  {n:4d}  {top}")


summary("sdist " + pathlib.Path(sdist).name, s_names)
summary("wheel " + pathlib.Path(wheel).name, w_names)

for where, names in (("sdist", s_names), ("wheel", w_names)):
    for bad in ("tests/", "weights_conversion/", "examples/", ".ci/"):
        hits = [n for n in names if n.startswith(bad)]
        if hits:
            problems.append(f"{where} ships {bad} ({len(hits)} files, e.g. {hits[0]})")
    hits = [n for n in names if "__pycache__/" in n or n.endswith((".pyc", ".pyo"))]
    if hits:
        problems.append(f"{where} ships compiled files, e.g. {hits[0]}")

wheel_tops = {n.split("/", 1)[0] for n in w_names}
unexpected = {t for t in wheel_tops if t != "keras_i3d" and not t.endswith(".dist-info")}
if unexpected:
    problems.append(f"wheel has top-level entries besides keras_i3d/: {sorted(unexpected)}")

required = ["keras_i3d/__init__.py", "keras_i3d/py.typed", "keras_i3d/labels/kinetics400.txt",
            "keras_i3d/labels/kinetics600.txt"]
subpackages = ["model", "video", "weights", "applications", "inflation", "training", "serving", "bench",
               "cli", "utils"]
required += [f"keras_i3d/{p}/__init__.py" for p in subpackages]
# Every module and data file of the package in the source must be in the wheel (a new subpackage
# that packages.find misses shows up here).
for path in sorted((src / "keras_i3d").rglob("*")):
    if path.is_file() and "__pycache__" not in path.parts and path.suffix in (".py", ".txt", ".typed"):
        required.append(path.relative_to(src).as_posix())
missing = sorted(set(r for r in required if r not in w_set))
if missing:
    problems.append(f"wheel lacks {len(missing)} files: {missing[:10]}")
for needed in ("README.md", "LICENSE", "pyproject.toml", "keras_i3d/py.typed", "keras_i3d/labels/kinetics400.txt"):
    if needed not in s_names:
        problems.append(f"sdist lacks {needed}")
if not any(n.endswith(".dist-info/licenses/LICENSE") for n in w_names):
    problems.append("wheel lacks .dist-info/licenses/LICENSE")
if "License-Expression: Apache-2.0" not in metadata:
    problems.append("METADATA has no 'License-Expression: Apache-2.0'")
if "keras-i3d = keras_i3d.cli:main" not in entry_points:
    problems.append("entry_points.txt lacks the keras-i3d console script")

print("sdist top level:", " ".join(sorted({n.split("/", 1)[0] + ("/" if "/" in n else "") for n in s_names})))
if problems:
    print("\n".join("FAIL: " + p for p in problems), file=sys.stderr)
    sys.exit(1)
print(f"archives OK ({len(set(required))} required wheel files present)")
PY

# -- 4. a clean venv with the wheel and one backend, run from outside the repository -------------
step "clean venv: the wheel + $BACKEND"
VENV="$TMP/venv"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "${BACKEND_REQ[@]}"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "$WHEEL"
"$VENV/bin/python" -m pip check

RUN="$TMP/run"
mkdir -p "$RUN" "$TMP/keras-home"
cd "$RUN"
unset PYTHONPATH
export KERAS_BACKEND="$BACKEND" KERAS_HOME="$TMP/keras-home"
# Presets from the index only: nothing reads the data folder or downloads.
unset KINETICS_I3D_DATA

step "keras-i3d presets"
"$VENV/bin/keras-i3d" presets | tee "$TMP/presets.txt"
grep -q '^kinetics400_rgb ' "$TMP/presets.txt" || fail "keras-i3d presets does not list kinetics400_rgb"

step "keras-i3d --help"
"$VENV/bin/keras-i3d" --help >"$TMP/help.txt"
head -5 "$TMP/help.txt"
grep -q 'presets' "$TMP/help.txt" || fail "keras-i3d --help does not mention presets"

step "tiny model and label maps (KERAS_BACKEND=$BACKEND)"
# XLA's LLVM optimizations take ~70 of the ~80 s this build + predict costs on 2 cores on JAX, and
# change nothing checked here.
XLA_FLAGS="${XLA_FLAGS:---xla_backend_optimization_level=0}" "$VENV/bin/python" - "$VENV" "$REPO" <<'PY'
import os, sys

import numpy as np

import keras
import keras_i3d

venv, repo = (os.path.realpath(p) for p in sys.argv[1:3])
where = os.path.realpath(keras_i3d.__file__)
assert where.startswith(venv + os.sep), f"keras_i3d imported from {where}, not the clean venv"
assert not where.startswith(repo + os.sep), where
assert keras.backend.backend() == os.environ["KERAS_BACKEND"], keras.backend.backend()
print("keras_i3d", keras_i3d.__version__, "from", where, "| keras", keras.__version__, "on", keras.backend.backend())

m = keras_i3d.I3D(weights=None, classes=3, input_shape=(8, 32, 32, 3))
shape = m.predict(np.zeros((1, 8, 32, 32, 3), "float32"), verbose=0).shape
print("I3D(classes=3) predict shape:", shape)
assert tuple(shape) == (1, 3), shape

k400, k600 = keras_i3d.load_labels("kinetics400"), keras_i3d.load_labels("kinetics600")
assert (len(k400), len(k600)) == (400, 600), (len(k400), len(k600))
scores = np.zeros((1, 400), "float32")
scores[0, k400.index("playing cricket")] = 1.0
top = keras_i3d.decode_predictions(scores, top=1)
print("label maps: kinetics400", len(k400), "kinetics600", len(k600), "| top-1:", top[0][0])
assert "playing cricket" in str(top[0][0]), top
PY

step "wheel check passed: $(basename "$WHEEL")"
