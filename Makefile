# Two commands for a newcomer: `make run` starts SWS, `make test` runs every test.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
BASE_PYTHON ?= python3

.PHONY: run test lint typecheck unit integration bench-events services clean

$(STAMP): pyproject.toml
	$(BASE_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/sws up

test: $(STAMP) lint typecheck
	scripts/services ensure
	$(PYTHON) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict src

unit: $(STAMP)
	$(PYTHON) -m pytest tests/unit

integration: $(STAMP)
	scripts/services ensure
	$(PYTHON) -m pytest tests/integration

bench-events: $(STAMP)
	$(PYTHON) bench/events.py

services:
	scripts/services ensure

clean:
	rm -rf $(VENV) .sws .pytest_cache .mypy_cache .ruff_cache
