# Two commands for a newcomer: `make run` starts SWS, `make test` runs every test.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-installed-stamp
BASE_PYTHON ?= python3

.PHONY: run test lint typecheck unit integration bench-events bench-console services clean

# `make run` needs only Python: the base install.
$(STAMP): pyproject.toml
	$(BASE_PYTHON) -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e .
	touch $(STAMP)

# `make test` adds the test tools and the Swift, OpenStack and libvirt client libraries.
$(DEV_STAMP): $(STAMP)
	$(PYTHON) -m pip install --quiet -e '.[dev,swift,openstack]'
	touch $(DEV_STAMP)

run: $(STAMP)
	$(VENV)/bin/sws up

test: $(DEV_STAMP) lint typecheck
	scripts/services ensure
	scripts/install-lb-tools
	scripts/install-netfilter-tools
	scripts/install-browser
	scripts/openstack-dev install && $(PYTHON) -m pip install --quiet -e '.[libvirt]'
	$(PYTHON) -m pytest

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests bench

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy --strict src

unit: $(DEV_STAMP)
	$(PYTHON) -m pytest tests/unit

integration: $(DEV_STAMP)
	scripts/services ensure
	$(PYTHON) -m pytest tests/integration

bench-events: $(DEV_STAMP)
	$(PYTHON) bench/events.py

bench-console: $(DEV_STAMP)
	$(PYTHON) bench/console.py

services:
	scripts/services ensure

clean:
	rm -rf $(VENV) .sws .pytest_cache .mypy_cache .ruff_cache
