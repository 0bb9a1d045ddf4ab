"""The agent's loops: apply each new version as it comes (purges reported at once), and a
periodic report that is also the edge's heartbeat and a watch on varnishd (started again when it
dies, with bounded retries and backoff)."""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
from dataclasses import dataclass, field

from sws_agent.cdn._agent import CDNAgent
from sws_agent.cdn._source import StateSource
from sws_agent.cdn._varnish import PREFIX, EdgeError
from sws_agent.lb._haproxy import AgentError

log = logging.getLogger("sws_agent.cdn")
FAILURES = (OSError, EdgeError, AgentError, ValueError, KeyError, urllib.error.URLError)


@dataclass
class Restarts:
    """When a dead varnishd may be started again: at once the first time, then after each
    `backoff` delay in turn; after `len(backoff)` restarts with no `stable` seconds of life
    between them the agent gives up (the edge's reports keep failing, so steering leaves it
    out) until an operator starts varnishd or the agent."""

    backoff: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    stable: float = 60.0
    in_a_row: int = 0
    last: float = float("-inf")
    gave_up: bool = False

    def may_try(self, now: float) -> bool:
        if self.in_a_row == 0:
            return True
        if self.in_a_row > len(self.backoff):
            return False
        return now >= self.last + self.backoff[self.in_a_row - 1]

    def tried(self, now: float) -> None:
        self.in_a_row, self.last = self.in_a_row + 1, now

    def alive(self, now: float) -> None:
        if now - self.last >= self.stable:
            self.in_a_row, self.gave_up = 0, False


@dataclass
class Runner:
    """Both loops run in daemon threads; the caller's thread waits for `stopping`."""

    agent: CDNAgent
    source: StateSource
    poll_wait: float = 20.0
    report_interval: float = 1.0
    stopping: threading.Event = field(default_factory=threading.Event)
    restarts: Restarts = field(default_factory=Restarts)

    def run(self) -> None:
        threading.Thread(target=self._main_loop, name="cdn-apply", daemon=True).start()
        self.stopping.wait()
        log.info("stopping; Varnish keeps serving")

    def _main_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.agent.start()
                break
            except FAILURES as exc:
                log.warning("start failed: %s; retrying", exc)
                self.stopping.wait(2)
        threading.Thread(target=self._report_loop, name="cdn-report", daemon=True).start()
        self._apply_loop()

    def _apply_loop(self) -> None:
        after = -1
        while not self.stopping.is_set():
            try:
                found = self.source.fetch(after=after, wait=self.poll_wait)
                if self.agent.apply(found.state):
                    log.info("applied version %d (VCL %s)", found.version, found.state.digest[:12])
                after = found.version
                if self.agent.finished:
                    self.report_once()
            except FAILURES as exc:
                log.warning("apply failed: %s", exc)
                self.stopping.wait(1)

    def _report_loop(self) -> None:
        while not self.stopping.wait(self.report_interval):
            self.watch_varnish()
            self.report_once()

    def watch_varnish(self) -> None:
        """Start varnishd again, with the last good VCL, if it has died (and `restarts`
        allows a try now)."""
        now = time.monotonic()
        if self.agent.varnish.alive():
            self.restarts.alive(now)
            return
        if not self.restarts.may_try(now):
            if self.restarts.in_a_row > len(self.restarts.backoff) and not self.restarts.gave_up:
                self.restarts.gave_up = True
                log.error(
                    "varnishd died %d times in a row; no more restarts", self.restarts.in_a_row
                )
            return
        self.restarts.tried(now)
        try:
            if self.agent.revive():
                log.warning(
                    "varnishd had died; started again (restart %d in a row)", self.restarts.in_a_row
                )
        except FAILURES as exc:
            log.warning("varnishd had died and did not start again: %s", exc)

    def report_once(self) -> None:
        """The running VCL's digest prefix and the purges carried out since the last report."""
        finished = self.agent.take_finished()
        try:
            active = self.agent.applied
            self.source.report(active.removeprefix(PREFIX) if active else None, finished)
        except FAILURES as exc:
            self.agent.give_back(finished)
            log.warning("report failed: %s", exc)
