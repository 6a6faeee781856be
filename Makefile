# Two commands for a fresh machine: `make run` and `make test`. Both are idempotent:
# the virtual environment is made once and refreshed only when pyproject.toml or a lock
# file changes. Everything is installed from the lock files, pinned and hash-checked;
# `make lock` writes them again (docs/operations-lock.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCKS := requirements.lock requirements-dev.lock requirements-tools.lock
# Wheels only: a source build would fetch its build dependencies without hash checks.
PIP_INSTALL := $(BIN)/python -m pip install --quiet --require-hashes --only-binary :all:
# One lock for every platform and Python from 3.11 (the image's); pins already in a lock
# file are kept unless UPGRADE=1 (`make lock-upgrade`).
UV_COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)

.PHONY: run test chat check bench bench-e2e bench-instructions lint lock lock-upgrade model \
	container-smoke clean

# pip and uv (which writes the lock files), pinned.
$(BIN)/uv: requirements-tools.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) -r requirements-tools.lock
	touch $@

$(STAMP): pyproject.toml $(LOCKS) $(BIN)/uv
	$(PIP_INSTALL) -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
	  echo "pyproject.toml asks for what the lock files lack: run make lock"; exit 1; }
	touch $(STAMP)

# Write the lock files again from pyproject.toml (after a dependency was added or changed).
lock: $(BIN)/uv
	$(UV_COMPILE) --group tools -o requirements-tools.lock
	$(UV_COMPILE) pyproject.toml --group build -o requirements.lock
	$(UV_COMPILE) pyproject.toml --group build --extra dev -c requirements.lock -o requirements-dev.lock

# The same, moving every pin to the newest release allowed.
lock-upgrade:
	$(MAKE) lock UPGRADE=1

run: $(STAMP)
	mkdir -p var
	$(BIN)/python -m bot serve

chat: $(STAMP)
	$(BIN)/python -m bot chat

check: $(STAMP)
	$(BIN)/python -m bot check

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/classify.py

# End to end: signed webhooks into `serve`, replies out to a fake Graph API (uses wrk).
bench-e2e: $(STAMP)
	$(BIN)/python -m bench.e2e --quick

# Instructions per webhook under callgrind, serve against bare aiohttp (uses valgrind).
bench-instructions: $(STAMP)
	$(BIN)/python -m bench.e2e_instructions

# Train the learned readings again (intents/model.npz, replies.npz, anger.npz and safety.npz)
# after the catalogue, the lexicon or a development set changed; tests/test_model.py says when
# it is due.
model: $(STAMP)
	$(BIN)/python -m intents.model train
	$(BIN)/python -m intents.replies train
	$(BIN)/python -m intents.anger train
	$(BIN)/python -m intents.safety train

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The image built and run under podman, alone then as compose.yaml (deploy/podman_smoke.py).
container-smoke: $(STAMP)
	$(BIN)/python -m deploy.podman_smoke

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
