# Two commands for a newcomer: `make run` starts SWS, `make test` runs every test.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.dev-installed-stamp
BASE_PYTHON ?= python3

.PHONY: run test soak chaos nodes-test nodes-chaos deploy-tools lint typecheck unit api integration e2e bench-events bench-console bench-cdn services clean

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

# Every tier in its bounded form, on both cores, with a wall time per stage (docs/testing.md).
test:
	scripts/test-stages

# The long forms, before a release: 10x the property examples and kill/restart loops.
soak:
	HYPOTHESIS_PROFILE=soak SWS_SOAK_FACTOR=$${SWS_SOAK_FACTOR:-10} scripts/test-stages unit api integration

# The crash and race tests alone, at 10x their loops: kill -9 of farmers and agents, racing workers.
chaos: $(DEV_STAMP)
	HYPOTHESIS_PROFILE=soak SWS_SOAK_FACTOR=$${SWS_SOAK_FACTOR:-10} \
	  $(PYTHON) -m pytest -p xdist -n 2 --dist loadgroup -m chaos tests

# The deploy extra: ansible-core, for deploy/ansible (docs/operations.md, "Deploying with Ansible").
DEPLOY_STAMP := $(VENV)/.deploy-installed-stamp
$(DEPLOY_STAMP): $(DEV_STAMP)
	$(PYTHON) -m pip install --quiet -e '.[dev,swift,openstack,deploy]'
	touch $(DEPLOY_STAMP)

deploy-tools: $(DEPLOY_STAMP)

# Three systemd-nspawn nodes on this machine (scripts/nodes; root; a few minutes the first time,
# while it builds the Debian base), the Ansible deployment onto them, its checks, the game day
# and the rolling upgrade: `make test`'s last stage alone (docs/operations.md).
nodes-test: $(DEPLOY_STAMP)
	scripts/test-stages nodes

# The game day alone, longer: SWS_CHAOS_SECONDS (100 by default; `make test` runs 100). Root.
nodes-chaos: $(DEPLOY_STAMP)
	SWS_TEST_NODES=1 SWS_CHAOS_SECONDS=$${SWS_CHAOS_SECONDS:-300} $(PYTHON) -m pytest -s tests/chaos

lint: $(DEV_STAMP)
	$(VENV)/bin/ruff check src tests bench

typecheck: $(DEV_STAMP)
	$(VENV)/bin/mypy --strict src

unit api integration e2e:
	scripts/test-stages $@

bench-events: $(DEV_STAMP)
	$(PYTHON) bench/events.py

bench-console: $(DEV_STAMP)
	$(PYTHON) bench/console.py

# Needs root, Varnish with varnish-modules and wrk (scripts/install-system-packages); starts
# scripts/swift-dev if it is down (and stops it again). docs/cdn.md, "Benchmark".
bench-cdn: $(DEV_STAMP)
	$(PYTHON) bench/cdn.py

services:
	scripts/services ensure

clean:
	rm -rf $(VENV) .sws .pytest_cache .mypy_cache .ruff_cache
