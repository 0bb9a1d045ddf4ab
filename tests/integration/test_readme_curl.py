"""README's "Drive it with curl" block, run literally with bash against a fresh `sws up` on the
simulated region: every command in it works against the API as it answers today."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.docblocks import BLOCK, ROOT, Substitutions

SWS = Path(sys.executable).with_name("sws")
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWS_")}
    env |= {"SWS_HOME": str(tmp_path / ".sws")}
    with (tmp_path / "sws-up.log").open("wb") as log:
        process = subprocess.Popen(
            [str(SWS), "up", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    api = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(api, process, tmp_path / "sws-up.log")
        yield api, tmp_path
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_ready(api: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, f"sws up exited: {log.read_text()[-2000:]}"
        try:
            if httpx.get(f"{api}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"sws up did not answer within 30 s: {log.read_text()[-2000:]}")


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
