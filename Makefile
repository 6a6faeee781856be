# Two commands for a fresh machine: `make run` and `make test`. Both are idempotent:
# the virtual environment is made once and refreshed only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test chat check bench bench-e2e bench-instructions lint clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
