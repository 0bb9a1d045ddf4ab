"""The agent's two loops: apply new versions as they come, and report health periodically."""

from __future__ import annotations

import logging
import threading
import urllib.error
from dataclasses import dataclass, field

from sws_agent.lb._agent import LBAgent
from sws_agent.lb._haproxy import AgentError
from sws_agent.lb._source import StateSource

log = logging.getLogger("sws_agent.lb")


@dataclass
class Runner:
    """The agent's two loops: apply new versions as they come; report health periodically.

    Both loops run in daemon threads and the caller's thread only waits for `stopping`, so a
    stop takes effect at once: a long poll in flight is abandoned (its thread dies with the
    process), and an apply in progress gets `grace` seconds to finish.
    """

    agent: LBAgent
    source: StateSource
    poll_wait: float = 20.0
    report_interval: float = 0.5
    grace: float = 0.5
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        """Until `stopping` is set (by a signal handler, say)."""
        threading.Thread(target=self._main_loop, name="lb-apply", daemon=True).start()
        self.stopping.wait()
        log.info("stopping; HAProxy keeps serving")
        if self.agent.lock.acquire(timeout=self.grace):  # let an apply in progress finish
            self.agent.lock.release()
            self.agent.settle_files(self.grace)  # and its files be written

    def _main_loop(self) -> None:
        if self._start():
            threading.Thread(target=self._report_loop, name="lb-report", daemon=True).start()
            self._apply_loop()

    def _start(self) -> bool:
        while not self.stopping.is_set():
            try:
                state = self.source.fetch(after=-1, wait=0)
                self.agent.start(state)
            except (OSError, AgentError, ValueError) as exc:
                log.warning("start failed: %s; retrying", exc)
                self.stopping.wait(2)
                continue
            log.info(
                "started: version %d, %d load balancers, HAProxy worker %d",
                state.version,
                len(state.loadbalancers),
                self.agent.worker,
            )
            return True
        return False

    def _apply_loop(self) -> None:
        while not self.stopping.is_set():
            live = self.agent.live
            after = live.version if live is not None else -1
            try:
                state = self.source.fetch(after=after, wait=self.poll_wait)
                how = self.agent.apply(state)
            except (OSError, AgentError, ValueError, urllib.error.URLError) as exc:
                log.warning("apply failed: %s", exc)
                self.stopping.wait(1)
                continue
            if how != "unchanged":
                log.info(
                    "applied version %d by %s: %d load balancers",
                    state.version,
                    how,
                    len(state.loadbalancers),
                )

    def _report_loop(self) -> None:
        while not self.stopping.wait(self.report_interval):
            self.report_once()

    def report_once(self) -> None:
        """Member health (the heartbeat) and each LB's bytes out since the last report."""
        live = self.agent.live
        traffic: dict[str, int] = {}
        try:
            traffic, health = self.agent.take_report()
            self.source.report(live.version if live else -1, health, traffic)
        except (OSError, AgentError, ValueError, urllib.error.URLError) as exc:
            with self.agent.lock:
                self.agent.traffic.give_back(traffic)
            log.warning("report failed: %s", exc)
