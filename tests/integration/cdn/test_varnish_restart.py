"""A varnishd killed with -9 under a running `sws-agent cdn` is started again by the agent with
the last good configuration, and the edge serves again; its reports fail while it is dead."""

from __future__ import annotations

import os
import signal
import threading

from sws.cdn.model import EdgeState
from sws_agent.cdn import vcl_name
from sws_agent.cdn._runner import Restarts, Runner
from sws_agent.cdn._source import MemorySource
from tests.integration.cdn.conftest import Rig, distribution, state_of
from tests.integration.netns import wait_for


def _serves(rig: Rig) -> bool:
    try:
        return rig.get(rig.edges[0], "/").status == 200
    except OSError:
        return False


def test_a_varnishd_killed_with_9_is_started_again_with_the_last_good_vcl(rig: Rig) -> None:
    edge = rig.edges[0]
    state: EdgeState = state_of(distribution(ttl=77))
    source = MemorySource(state)
    runner = Runner(edge.agent, source, poll_wait=1.0, report_interval=0.1)
    threading.Thread(target=runner.run, daemon=True).start()
    try:
        wait_for(lambda: edge.varnish.active() == vcl_name(state.digest), 20, "the VCL")
        wait_for(lambda: _serves(rig), 10, "the edge")
        old_pid = edge.varnish.pid()
        assert old_pid is not None

        os.kill(old_pid, signal.SIGKILL)

        wait_for(
            lambda: edge.varnish.pid() != old_pid and edge.varnish.alive(), 30, "a new varnishd"
        )
        wait_for(lambda: _serves(rig), 20, "the edge serving again")
        assert edge.varnish.active() == vcl_name(state.digest)
        assert rig.get(edge, "/").body == "home"
        running = vcl_name(state.digest).removeprefix("sws_")
        source.reports.clear()
        wait_for(
            lambda: bool(source.reports) and source.reports[-1][0] == running,
            5,
            "a report of the running VCL",
        )
        assert runner.restarts.in_a_row == 1
    finally:
        runner.stopping.set()


def test_restarts_back_off_then_give_up_until_varnishd_has_lived_a_while() -> None:
    restarts = Restarts(backoff=(1.0, 2.0), stable=60.0)
    assert restarts.may_try(0.0)
    restarts.tried(0.0)
    assert not restarts.may_try(0.5)
    assert restarts.may_try(1.0)
    restarts.tried(1.0)
    assert not restarts.may_try(2.9)
    assert restarts.may_try(3.0)
    restarts.tried(3.0)
    assert not restarts.may_try(1000.0)  # three restarts in a row: no more
    restarts.alive(30.0)
    assert not restarts.may_try(1000.0)  # alive, but not yet for `stable` seconds
    restarts.alive(63.0)
    assert restarts.may_try(63.0)
