"""The edge's access log rotated as the agent reads it: by size and by age, with a window
pending across the rename, a restarted agent mid-rotation, and every line counted exactly once
(the test plays varnishncsa: it appends lines and reopens `access.log` on the rotation)."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from hypothesis import given, settings
from hypothesis import strategies as st

from sws_agent.cdn._traffic import AccessLog, Window
from sws_agent.cdn._varnish import VarnishOptions

DIST = "a1b2c3d4e5f6"


class FakeNcsa:
    """varnishncsa as the agent sees it: appends lines to the file it opened, and opens
    `access.log` again when told (SIGHUP), closing the renamed one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.out: IO[str] = path.open("a")
        self.written = 0

    def requests(self, count: int) -> None:
        for _ in range(count):
            self.out.write(f"{DIST} 10.0.0.{self.written % 250 + 1} miss 100\n")
            self.written += 1
        self.out.flush()

    def reopen(self) -> None:
        self.out.close()
        self.out = self.path.open("a")


class Clock:
    def __init__(self) -> None:
        self.at = 1_000_000.0

    def __call__(self) -> float:
        return self.at


def access_log(run_dir: Path, clock: Clock, rotate_bytes: int = 1 << 20) -> AccessLog:
    run_dir.mkdir(exist_ok=True)
    return AccessLog(
        VarnishOptions(run_dir=run_dir),
        varnishncsa="true",
        rotate_bytes=rotate_bytes,
        rotate_seconds=60,
        now=clock,
    )


def started(tmp_path: Path) -> tuple[AccessLog, FakeNcsa, Clock]:
    clock = Clock()
    log = access_log(tmp_path / "edge", clock)
    log.start()  # `true` stands for varnishncsa: the stream and the empty log exist
    return log, FakeNcsa(log.path), clock


def requests_in(window: Window | None) -> int:
    if window is None:
        return 0
    return sum(r["hit_requests"] + r["miss_requests"] for r in window.rows)


def drain(log: AccessLog) -> tuple[int, set[str]]:
    """Every window there is now, taken: (requests, streams seen)."""
    counted, streams = 0, set()
    while (window := log.next_window()) is not None:
        counted += requests_in(window)
        streams.add(window.stream)
        log.done(window)
    return counted, streams


def test_a_log_past_its_size_is_rotated_and_counted_once_across_the_rotation(
    tmp_path: Path,
) -> None:
    log, ncsa, _ = started(tmp_path)
    log.rotate_bytes = 2000
    ncsa.requests(30)  # about 930 bytes: not yet
    assert log.rotate_if_due() is False
    ncsa.requests(50)  # past 2000 bytes
    first = log.next_window()  # read before the rotation: pending through it
    assert requests_in(first) == 80

    assert log.rotate_if_due() is True
    ncsa.requests(5)  # before varnishncsa reopens: still into the renamed file
    ncsa.reopen()
    ncsa.requests(7)  # the new log

    again = log.next_window()  # the pending window, resent as it was
    assert again == first
    assert first is not None
    log.done(first)
    counted, streams = drain(log)
    assert counted == 5  # the old file to its end; the switch to the new stream after it
    assert streams == {first.stream}
    counted, streams = drain(log)
    assert counted == 7 and first.stream not in streams
    assert sorted(p.name for p in log.path.parent.glob("access*")) == ["access.log"]


def test_an_old_log_is_rotated_by_age_but_an_empty_one_is_not(tmp_path: Path) -> None:
    log, ncsa, clock = started(tmp_path)
    clock.at += 61
    assert log.rotate_if_due() is False  # nothing in it

    ncsa.requests(1)
    assert log.rotate_if_due() is True
    assert log.rotate_if_due() is False  # not again while the old file is drained
    ncsa.reopen()
    assert drain(log)[0] == 1
    assert drain(log)[0] == 0
    assert log.rotate_if_due() is False  # the new stream is young


def test_the_old_file_is_not_left_before_varnishncsa_closed_it(tmp_path: Path) -> None:
    log, ncsa, _ = started(tmp_path)
    log.rotate_bytes = 100
    ncsa.requests(4)
    log.rotate_if_due()

    assert drain(log)[0] == 4
    ncsa.requests(2)  # varnishncsa has not reopened yet: these land in the renamed file
    assert drain(log)[0] == 2
    ncsa.reopen()
    ncsa.requests(3)
    assert drain(log)[0] == 0  # the old file was at its end: the switch
    assert drain(log)[0] == 3


def test_an_agent_restarted_mid_rotation_resumes_the_old_file(tmp_path: Path) -> None:
    log, ncsa, clock = started(tmp_path)
    log.rotate_bytes = 100
    ncsa.requests(10)
    pending = log.next_window()
    log.rotate_if_due()
    ncsa.requests(1)

    restarted = access_log(log.options.run_dir, clock)  # a new agent, varnishncsa not running
    restarted.start()
    ncsa.reopen()  # the new varnishncsa opened access.log

    assert restarted.next_window() == pending
    assert pending is not None
    restarted.done(pending)
    assert drain(restarted)[0] == 1
    ncsa.requests(4)
    assert drain(restarted)[0] == 4


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["write", "read", "rotate", "reopen", "restart"]), st.integers(0, 40)
        ),
        max_size=40,
    )
)
def test_any_interleaving_counts_every_request_once(
    tmp_path_factory: object,
    steps: list[tuple[str, int]],
) -> None:
    tmp = tmp_path_factory.mktemp("edge")  # type: ignore[attr-defined]
    log, ncsa, clock = started(tmp)
    log.rotate_bytes = 500
    counted, reopened = 0, True
    for action, count in steps:
        if action == "write":
            ncsa.requests(count)
        elif action == "read":
            window = log.next_window()
            if window is not None and count % 3:  # sometimes the answer is lost: resent
                counted += requests_in(window)
                log.done(window)
        elif action == "rotate" and log.rotate_if_due():
            reopened = False
        elif action == "reopen" and not reopened:
            ncsa.reopen()
            reopened = True
        elif action == "restart":
            clock.at += count
            log = access_log(log.options.run_dir, clock, rotate_bytes=500)
    if not reopened:
        ncsa.reopen()
    for _ in range(3):  # the old file, the switch, the new one
        counted += drain(log)[0]
    assert counted == ncsa.written
