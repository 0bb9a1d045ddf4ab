"""The three-node deployment for tests/nodes and tests/chaos: docs/operations.md's commands, run
as written, and the ways in (HAProxy on sws-n1, `scripts/nodes exec`, the example's admin)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
NODES = ROOT / "scripts" / "nodes"
OPERATIONS = ROOT / "docs" / "operations.md"
FRONT = "http://10.77.0.11:8080"  # HAProxy on sws-n1 (deploy/ansible/inventory/nodes/hosts.ini)
API_NODES = {"sws-n1-8001", "sws-n2-8001"}  # HAProxy's names of the two API processes
# The example secrets of deploy/ansible/inventory/nodes/group_vars/all.yml.
ADMIN = {"name": "admin", "password": "sws-example-admin-password"}
DB_URL = "postgresql://sws:sws-example-db-password@10.77.0.13:5432/sws"  # the same, on sws-n3

# Opt-in like scripts/nodes' own test: root, systemd-nspawn, minutes of work.
OPT_IN = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("SWS_TEST_NODES") != "1",
        reason="boots three systemd nodes (and deploys onto them) for minutes: SWS_TEST_NODES=1",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="systemd-nspawn needs root"),
    pytest.mark.skipif(
        shutil.which("systemd-nspawn") is None or shutil.which("debootstrap") is None,
        reason="scripts/install-system-packages brings systemd-nspawn and debootstrap",
    ),
]


def documented_commands() -> list[str]:
    """The shell block under docs/operations.md's "### Deploying the three nodes"."""
    text = OPERATIONS.read_text()
    found = re.search(r"^### Deploying the three nodes\n.*?```sh\n(.*?)```", text, re.M | re.S)
    assert found, "docs/operations.md has no '### Deploying the three nodes' block"
    lines = [line.split("  #")[0].strip() for line in found.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


@contextmanager
def deployed() -> Iterator[httpx.Client]:
    """Run the documented commands, yield a client of HAProxy, remove the nodes after."""
    commands = documented_commands()
    assert any("ansible-playbook" in c for c in commands), commands
    started = time.monotonic()
    try:
        script = "set -euo pipefail\n" + "\n".join(commands)
        done = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                              timeout=1800, check=False,
                              env={**os.environ, "PYTHONWARNINGS": "ignore"})
        assert done.returncode == 0, f"{commands}\n{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
        recap = done.stdout[done.stdout.rfind("PLAY RECAP"):]
        print(f"\ndeployed in {time.monotonic() - started:.0f} s\n{recap}")
        with httpx.Client(base_url=FRONT, timeout=30) as client:
            yield client
    finally:
        # destroy, not down: the rolling upgrade leaves the database at a release the next run
        # does not know, so every run starts from new nodes (the Debian base stays cached).
        subprocess.run([str(NODES), "destroy"], capture_output=True, timeout=300, check=False)


def node(name: str, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command inside a node."""
    done = subprocess.run([str(NODES), "exec", name, *command], capture_output=True, text=True,
                          timeout=120, check=False)
    if check:
        assert done.returncode == 0, f"{name}: {' '.join(command)}\n{done.stdout}{done.stderr}"
    return done


def login(front: httpx.Client, name: str, password: str) -> dict[str, str]:
    """Log in through HAProxy: the bearer header."""
    answer = front.post("/v1/auth/tokens", json={"name": name, "password": password})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def api_backends_up() -> set[str]:
    """The API processes HAProxy counts as up (its stats page, as CSV)."""
    stats = httpx.get("http://10.77.0.11:8404/;csv", timeout=5).text.splitlines()
    return {row.split(",")[1] for row in stats
            if row.startswith("sws_api,") and row.split(",")[17] == "UP"} & API_NODES
