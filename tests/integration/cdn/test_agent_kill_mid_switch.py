"""A real process kill of the agent mid-configuration (issue 19), at the exact moment that matters:
the new VCL is compiled and loaded into Varnish, and the agent is in its `vcl.use`. The agent's
whole process group is killed with SIGKILL there (its `varnishadm` child with it); the edge
keeps serving the last good configuration, and a restarted agent finishes the change.

The moment is made deterministic by a `varnishadm` wrapper first on the agent's PATH: once the
test arms it, a `vcl.use` call writes a marker and sleeps instead of switching."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from sws_agent.cdn import vcl_name
from tests.integration.cdn.conftest import EDGE_PORT, Rig
from tests.integration.cdn.test_agent_process import (
    AGENT,
    API_PORT,
    Api,
    D,
    _distribution,
    _rendered,
    _serves,
)
from tests.integration.cdn.test_agent_process import api as api  # the fixture, re-exported
from tests.integration.netns import wait_for

WRAPPER = """#!/bin/sh
for arg in "$@"; do
  if [ "$arg" = "vcl.use" ] && [ -e {marks}/armed ]; then
    echo "$@" > {marks}/reached
    exec sleep 600
  fi
done
exec {real} "$@"
"""


def _start_agent(api: Api, path: str) -> subprocess.Popen[str]:
    """Edge e1's agent as a process, in its own process group, with `path` as its PATH."""
    token = api.cloud.admin["Authorization"].removeprefix("Bearer ")
    argv = ["ip", "netns", "exec", api.rig.hub.name("e1"), str(AGENT), "cdn",
            "--api", f"http://10.77.1.1:{API_PORT}", "--edge", "edge-1",
            "--run-dir", str(api.rig.edges[0].varnish.options.run_dir),
            "--listen", f"10.77.1.2:{EDGE_PORT}", "--storage", "malloc,32m",
            "--report-interval", "0.2"]
    log = (api.tmp_path / "agent.log").open("a")
    return subprocess.Popen(argv, env={"SWS_AGENT_TOKEN": token, "PATH": path}, stdout=log,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


@pytest.mark.chaos
def test_a_kill_9_between_loading_and_using_a_vcl_leaves_the_last_good_one_serving(
    api: Api, tmp_path: Path
) -> None:
    rig: Rig = api.rig
    client, acme = api.cloud.client, api.cloud.acme
    real = shutil.which("varnishadm", path="/usr/bin:/usr/sbin:/bin:/sbin")
    assert real is not None
    marks, wrapped = tmp_path / "marks", tmp_path / "bin"
    marks.mkdir()
    wrapped.mkdir()
    (wrapped / "varnishadm").write_text(WRAPPER.format(marks=marks, real=real))
    (wrapped / "varnishadm").chmod(0o755)
    system_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    rig.origin.put("/", "home")
    made = _distribution(api)
    edge = rig.edges[0]
    good = _rendered(api)
    agent = _start_agent(api, f"{wrapped}:{system_path}")
    try:
        wait_for(lambda: edge.varnish.active() == vcl_name(good), 30, "the first configuration")
        assert rig.get(edge, "/", host=made["host"]).status == 200

        (marks / "armed").touch()
        client.patch(f"{D}/{made['id']}", json={"default_ttl": 77}, headers=acme.headers)
        new = _rendered(api)
        wait_for((marks / "reached").exists, 30, "the agent inside its vcl.use")
        assert vcl_name(new) in (marks / "reached").read_text()
        # mid-configuration: the new VCL is compiled and loaded, the old one still serves
        assert vcl_name(new) in {name for name, _ in edge.varnish.vcls()}

        os.killpg(agent.pid, signal.SIGKILL)  # the agent and its varnishadm, together
        agent.wait(timeout=10)
    finally:
        if agent.poll() is None:
            os.killpg(agent.pid, signal.SIGKILL)
            agent.wait(timeout=10)

    assert edge.varnish.active() == vcl_name(good)
    answer = rig.get(edge, "/", host=made["host"])
    assert (answer.status, answer.body) == (200, "home")

    (marks / "armed").unlink()
    api.agent = _start_agent(api, system_path)  # the fixture stops it
    wait_for(lambda: edge.varnish.active() == vcl_name(new), 30, "the restarted agent's switch")
    assert _serves(rig, made["host"], "/")
