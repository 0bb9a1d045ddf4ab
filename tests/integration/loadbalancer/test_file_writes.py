"""The agent writes HAProxy's files after a runtime change, off its critical path: a change is
live before they are written, a reload always loads the newest files, and a kill -9 between the
runtime change and the write leaves HAProxy and the files converging on restart (real HAProxy)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sws.loadbalancer.model import DesiredState, LoadBalancer, Member, Monitor
from sws.loadbalancer.renderer import render
from sws_agent.lb import LBAgent
from tests.integration.loadbalancer.backends import Backend, http_get, wait_until
from tests.integration.loadbalancer.conftest import ROOT, Node

CHILD = """
import json, sys, time
from pathlib import Path
from sws.loadbalancer.model import DesiredState
from sws.loadbalancer.renderer import RenderOptions
from sws_agent.lb import LBAgent
run_dir, port, binary, before, after = sys.argv[1:]
opts = RenderOptions(run_dir=Path(run_dir), bind=("127.0.0.1",), http_port=int(port),
                     maxconn=2000)
agent = LBAgent.create(opts, binary=binary)
agent.start(DesiredState.from_json(json.loads(before)))
agent.writer.delay = 60.0  # a slow disk: the files are not written before the kill
print(agent.apply(DesiredState.from_json(json.loads(after))), flush=True)
time.sleep(120)
"""


@pytest.fixture
def backend() -> Iterator[Backend]:
    found = Backend("w1").start()
    yield found
    found.kill()


def _lb(lb_id: str, host: str, backend: Backend) -> LoadBalancer:
    return LoadBalancer(
        id=lb_id,
        project_id="p",
        type="http",
        algorithm="roundrobin",
        monitor=Monitor(),
        hosts=(host,),
        members=(Member("w1", "s", "127.0.0.1", backend.port),),
    )


def _files_hold(agent: LBAgent, state: DesiredState) -> bool:
    wanted = render(state, agent.opts)
    hosts, ports = agent.maps
    return (
        agent.haproxy.config.read_text() == wanted.config
        and hosts.read_text() == wanted.hosts_map
        and ports.read_text() == wanted.ports_map
    )


def test_a_change_is_live_before_its_files_are_written_and_they_follow(
    node: Node, backend: Backend
) -> None:
    node.agent.writer.delay = 1.0  # a slow disk
    state = node.state(_lb("1" * 32, "slow.test", backend))
    started = time.monotonic()
    assert node.agent.apply(state) == "runtime"
    assert time.monotonic() - started < 0.5  # the apply did not wait for the disk
    assert http_get(node.http_port, "slow.test")[0] == 200
    assert "slow.test" not in node.agent.maps[0].read_text()
    assert node.agent.writer.settle(timeout=10)
    assert _files_hold(node.agent, state)


def test_a_reload_right_after_a_runtime_change_loads_the_newest_files(
    node: Node, backend: Backend
) -> None:
    node.agent.writer.delay = 0.3
    reloads = node.reloads()
    assert node.agent.apply(node.state(_lb("2" * 32, "reloaded.test", backend))) == "runtime"
    node.agent.haproxy.reload()  # a reload by hand waits for the writer first
    assert node.reloads() == reloads + 1
    assert http_get(node.http_port, "reloaded.test")[0] == 200


def test_kill_9_between_the_runtime_change_and_the_file_write_converges_on_restart(
    node: Node, backend: Backend
) -> None:
    before = node.state()
    after = node.state(_lb("3" * 32, "killed.test", backend))
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(node.agent.opts.run_dir),
            str(node.http_port),
            node.agent.haproxy.binary,
            json.dumps(before.to_json()),
            json.dumps(after.to_json()),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "runtime"
        assert http_get(node.http_port, "killed.test")[0] == 200  # live at runtime ...
        assert "killed.test" not in node.agent.maps[0].read_text()  # ... the files not yet
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert not _files_hold(node.agent, after)
    restarted = LBAgent.create(node.agent.opts, binary=node.agent.haproxy.binary)
    restarted.start(after)  # what the runner does first: the whole render, and a reload
    assert _files_hold(restarted, after)
    assert http_get(node.http_port, "killed.test")[0] == 200
    # A reload by anyone else now loads the same state.
    restarted.haproxy.reload()
    wait_until(lambda: http_get(node.http_port, "killed.test")[0] == 200)
    assert restarted.apply(after) == "unchanged"
    assert Path(restarted.maps[0]).read_text() == render(after, restarted.opts).hosts_map


def test_a_deleted_lbs_last_bytes_are_counted_from_its_own_stat_row(
    node: Node, backend: Backend
) -> None:
    lb = _lb("4" * 32, "gone.test", backend)
    assert node.agent.apply(node.state(lb)) == "runtime"
    for _ in range(5):
        assert http_get(node.http_port, "gone.test")[0] == 200
    assert node.agent.apply(node.state()) == "runtime"  # its backend is freed at runtime
    traffic, _ = node.agent.take_report()
    assert traffic.get(lb.id, 0) > 0, traffic
