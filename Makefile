PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BACKENDS ?= tensorflow jax torch
PYTEST_ARGS ?=
# DeepMind's data folder for the tests and the demo (the library itself reads only the
# environment). Without it the demo downloads what it needs, verified, from DeepMind.
KINETICS_I3D_DATA ?= $(abspath $(wildcard ../shared/kinetics-i3d))
export KINETICS_I3D_DATA

.PHONY: install test test-s3 lint demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	# torch first, pinned to the CPU build: an unpinned torch pulls a CUDA build.
	$(PY) -m pip install "torch==2.13.0"
	$(PY) -m pip install -e ".[tensorflow,jax,torch,video,serving,test]"
	touch $@

install: $(VENV)/.installed

lint: install
	$(VENV)/bin/ruff check keras_i3d weights_conversion tests examples
	$(VENV)/bin/ruff format --check keras_i3d weights_conversion tests examples

test: install lint
	@set -e; for b in $(BACKENDS); do \
	  echo "=== KERAS_BACKEND=$$b"; \
	  KERAS_BACKEND=$$b $(PY) -m pytest tests $(PYTEST_ARGS); \
	done

# test-tensorflow, test-jax, test-torch (not .PHONY: make skips pattern rules for phony targets)
test-%: install
	KERAS_BACKEND=$* $(PY) -m pytest tests $(PYTEST_ARGS)

# s3:// datasets (tensorflow-io) against a local moto server, in their own venv (.venv-s3).
test-s3:
	PYTHON=$(PYTHON) bash .ci/s3_check.sh

demo: install
	$(PY) examples/classify_cricket.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
