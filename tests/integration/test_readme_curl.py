"""README's "Drive it with curl" block, run literally with bash against a fresh `sws up` on the
simulated region: every command in it works against the API as it answers today."""

from __future__ import annotations

import re
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.docblocks import BLOCK, ROOT, Substitutions
from tests.integration.sws_process import free_port, start_sws_up, stop, wait_until_healthy

PROBLEM = re.compile(r'"status":\s*[45]\d\d')  # a problem+json answer; a server's status is text


def readme_block(name: str) -> str:
    """The README's block marked `<!-- doc-test: NAME -->`, as docs' blocks are read."""
    found = {m["name"]: m["body"] for m in BLOCK.finditer((ROOT / "README.md").read_text())}
    assert name in found, f"README.md has no doc-test block {name!r}"
    return textwrap.dedent(found[name]) + "\n"


@pytest.fixture
def sws_up(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`sws up` as `make run` starts it, with a fresh `.sws` in the working directory `tmp_path`,
    on a free port of 127.0.0.1: (API URL, working directory)."""
    port, log = free_port(), tmp_path / "sws-up.log"
    process = start_sws_up(port, log, tmp_path, SWS_HOME=str(tmp_path / ".sws"))
    api = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(api, process, log)
        yield api, tmp_path
    finally:
        stop(process)


def test_the_readme_curl_block_runs_as_written(sws_up: tuple[str, Path]) -> None:
    api, cwd = sws_up
    subs = Substitutions({"http://127.0.0.1:8000": api})
    script = subs.apply(readme_block("curl"))
    subs.all_used()
    # What the block leaves behind, for the checks below (after it, not in it).
    script += 'echo; echo "SERVER=$SERVER"; echo "TOKEN=$TOKEN"\n'

    run = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert run.returncode == 0, run.stderr + run.stdout[-2000:]
    assert run.stderr == "", run.stderr
    assert PROBLEM.search(run.stdout) is None, run.stdout
    left = dict(line.split("=", 1) for line in run.stdout.splitlines() if "=" in line[:7])
    assert re.fullmatch(r"[0-9a-f-]{32,36}", left["SERVER"]), left
    gone = httpx.get(f"{api}/v1/servers", headers={"Authorization": f"Bearer {left['TOKEN']}"})
    assert gone.status_code == 401  # the block logged out
    _the_server_it_booted_stops(api, cwd, left["SERVER"])


def _the_server_it_booted_stops(api: str, cwd: Path, server_id: str) -> None:
    login = (cwd / ".sws" / "credentials" / "alice.json").read_text()
    token = httpx.post(
        f"{api}/v1/auth/tokens", content=login, headers={"content-type": "application/json"}
    ).json()["token"]
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}) as alice:
        server = alice.get(f"/v1/servers/{server_id}").json()
        assert server["name"] == "web-2" and server["flavor"]["name"] == "m1.small", server
        assert (server["status"], server["task_state"]) in {
            ("ACTIVE", "powering-off"),
            ("SHUTOFF", None),
        }, server
        assert "laptop" in [k["name"] for k in alice.get("/v1/keypairs").json()["items"]]
        assert "web" in [g["name"] for g in alice.get("/v1/security-groups").json()["items"]]
