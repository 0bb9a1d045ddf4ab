"""The access log of a real edge rotated under the real varnishncsa: a window pending across the
rename, varnishncsa reopening on SIGHUP, and every request counted exactly once, none lost."""

from __future__ import annotations

from sws_agent.cdn._traffic import AccessLog, Window
from tests.integration.cdn.conftest import DIST, Rig, distribution, state_of
from tests.integration.netns import wait_for


def _requests(window: Window | None) -> int:
    if window is None:
        return 0
    return sum(
        r["hit_requests"] + r["miss_requests"] for r in window.rows if r["distribution"] == DIST
    )


def _lines(log: AccessLog) -> int:
    """The distribution's lines varnishncsa has written, in the log and any rotated file."""
    files = [log.path, *log.path.parent.glob("access.*.log")]
    return sum(f.read_text().count(DIST) for f in files if f.exists())


def test_a_rotation_mid_read_loses_and_repeats_nothing(rig: Rig) -> None:
    rig.origin.put("/r.txt", "r" * 200)
    rig.apply(state_of(distribution()))
    edge = rig.edges[0]
    log = AccessLog(edge.varnish.options, rotate_bytes=1000)
    log.start()
    try:
        wait_for(
            lambda: (rig.get(edge, "/", host="probe.invalid"), log.path.stat().st_size)[1] > 0,
            10,
            "varnishncsa",
        )
        for _ in range(40):
            rig.get(edge, "/r.txt")
        wait_for(lambda: _lines(log) == 40, 10, "the first 40 lines")
        pending = log.next_window()  # read, not yet answered by SWS
        assert _requests(pending) == 40

        assert log.rotate_if_due()
        for _ in range(25):  # some before varnishncsa reopens, the rest after
            rig.get(edge, "/r.txt")
        wait_for(lambda: log.path.exists(), 10, "varnishncsa to reopen access.log")
        wait_for(lambda: _lines(log) == 65, 10, "the next 25 lines")

        assert log.next_window() == pending  # resent as it was, from the renamed file
        assert pending is not None
        counted = _requests(pending)
        log.done(pending)

        def counted_all() -> bool:
            nonlocal counted
            window = log.next_window()
            if window is not None:
                counted += _requests(window)
                log.done(window)
            return counted >= 65 and not list(log.path.parent.glob("access.*.log"))

        wait_for(counted_all, 20, "every line counted")
        assert counted == 65
        before = _lines(log)  # the new log's lines so far, all counted
        for _ in range(5):  # after the switch: the new log, a new stream
            rig.get(edge, "/r.txt")
        wait_for(lambda: _lines(log) == before + 5, 10, "5 more lines in the new log")
        latest = log.next_window()
        assert _requests(latest) == 5
        assert latest is not None and latest.stream != pending.stream
    finally:
        log.stop()
