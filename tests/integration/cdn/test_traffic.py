"""Traffic metering on real edges: varnishncsa's log counted per distribution and client, with
hit and miss, and a window resent after a restart counted once by SWS."""

from __future__ import annotations

from typing import Any

from sws.cdn import terminator
from sws.cdn.model import EdgeState
from sws.cdn.renderer import render
from sws_agent.cdn._traffic import AccessLog, TrafficMeter
from tests.integration.cdn.conftest import (
    DIST,
    FRONT_HTTP_PORT,
    Edge,
    Rig,
    distribution,
    state_of,
)
from tests.integration.netns import wait_for


def _counted(log: AccessLog, requests: int) -> list[dict[str, Any]]:
    """The rows of the log's next windows, merged per (distribution, client), once they hold
    `requests` counted requests: varnishncsa may write them across several windows."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}

    def complete() -> bool:
        window = log.next_window()
        if window is not None:
            log.done(window)
            for row in window.rows:
                into = merged.setdefault(
                    (row["distribution"], row["client"]), dict.fromkeys(row, 0)
                )
                into.update({k: v if isinstance(v, str) else into[k] + v for k, v in row.items()})
        total = sum(r["hit_requests"] + r["miss_requests"] for r in merged.values())
        return total >= requests

    wait_for(complete, 30, "the access log")
    return [merged[key] for key in sorted(merged)]


def _attached(rig: Rig, edge: Edge, log: AccessLog) -> None:
    """Wait until varnishncsa logs: it starts at the log's tail once attached to Varnish, so a
    request before that is not metered. Requests of no distribution are logged but not counted."""

    def logged() -> bool:
        rig.get(edge, "/", host="probe.invalid")
        return log.path.stat().st_size > 0

    wait_for(logged, 10, "varnishncsa")


def test_an_edge_counts_a_miss_then_hits_with_their_bytes(rig: Rig) -> None:
    rig.origin.put("/a.txt", "x" * 1000)
    rig.apply(state_of(distribution()))
    edge = rig.edges[0]
    log = AccessLog(edge.varnish.options)
    log.start()
    try:
        _attached(rig, edge, log)
        answers = [rig.get(edge, "/a.txt") for _ in range(3)]
        rig.get(edge, "/a.txt", host="unknown.example.com")  # no distribution: not counted
        assert [a.hit for a in answers] == [False, True, True]
        (row,) = _counted(log, 3)
        assert row["distribution"] == DIST and row["client"] == "10.77.1.1"
        assert (row["miss_requests"], row["hit_requests"]) == (1, 2)
        assert row["hit_bytes"] > 2 * 1000 and row["miss_bytes"] > 1000  # bodies and headers
    finally:
        log.stop()


def test_a_pending_window_is_resent_as_it_was_after_a_restart(rig: Rig) -> None:
    rig.origin.put("/b.txt", "y" * 500)
    rig.apply(state_of(distribution()))
    edge = rig.edges[1]
    log = AccessLog(edge.varnish.options)
    log.start()
    sent: list[dict[str, Any]] = []
    try:
        _attached(rig, edge, log)
        rig.get(edge, "/b.txt")
        rig.get(edge, "/b.txt")

        def refuse(window: dict[str, Any]) -> None:
            sent.append(window)
            raise OSError("SWS unreachable")

        wait_for(lambda: log.path.read_text().count(DIST) == 2, 10, "the access log")
        assert not TrafficMeter(log, refuse).report_once()
        rig.get(edge, "/b.txt")  # more lines arrive while the window is pending
        restarted = AccessLog(edge.varnish.options)  # a new agent over the same run directory
        assert TrafficMeter(restarted, sent.append).report_once()
        assert sent[1] == sent[0]  # the same window, not a longer one
        (row,) = sent[0]["rows"]
        assert (row["miss_requests"], row["hit_requests"]) == (1, 1)
        wait_for(lambda: log.path.read_text().count(DIST) == 3, 10, "the third request")
        following = restarted.next_window()
        assert following is not None and following.start == sent[0]["end"]
        assert [r["hit_requests"] for r in following.rows] == [1]
    finally:
        log.stop()


def test_a_request_through_the_terminator_is_counted_for_the_clients_own_address(rig: Rig) -> None:
    """HAProxy hands Varnish the client's address (PROXY protocol on the `front` socket), so
    HTTPS and terminated HTTP traffic fall in the client's ISP view, not in none."""
    rig.origin.put("/t.txt", "t" * 300)
    dists = [distribution()]
    rig.apply(EdgeState(render(dists), terminator=terminator.render(dists, [])))
    edge = rig.edges[0]
    log = AccessLog(edge.varnish.options)
    log.start()
    try:
        _attached(rig, edge, log)
        assert rig.get(edge, "/t.txt", port=FRONT_HTTP_PORT).body == "t" * 300
        (row,) = _counted(log, 1)
        assert row["distribution"] == DIST and row["client"] == "10.77.1.1"
    finally:
        log.stop()
