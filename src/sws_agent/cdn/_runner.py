"""The agent's loops: apply each new version as it comes (purges reported at once), and a
periodic report that is also the edge's heartbeat."""

from __future__ import annotations

import logging
import threading
import urllib.error
from dataclasses import dataclass, field

from sws_agent.cdn._agent import CDNAgent
from sws_agent.cdn._source import StateSource
from sws_agent.cdn._varnish import PREFIX, EdgeError
from sws_agent.lb._haproxy import AgentError

log = logging.getLogger("sws_agent.cdn")
FAILURES = (OSError, EdgeError, AgentError, ValueError, KeyError, urllib.error.URLError)


@dataclass
class Runner:
    """Both loops run in daemon threads; the caller's thread waits for `stopping`."""

    agent: CDNAgent
    source: StateSource
    poll_wait: float = 20.0
    report_interval: float = 1.0
    stopping: threading.Event = field(default_factory=threading.Event)

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
            self.report_once()

    def report_once(self) -> None:
        """The running VCL's digest prefix and the purges carried out since the last report."""
        finished = self.agent.take_finished()
        try:
            active = self.agent.applied
            self.source.report(active.removeprefix(PREFIX) if active else None, finished)
        except FAILURES as exc:
            self.agent.give_back(finished)
            log.warning("report failed: %s", exc)
