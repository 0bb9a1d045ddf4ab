"""Where an edge's desired state comes from and where its reports go: the SWS API, or memory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from sws.cdn.model import EdgeState
from sws_agent.api import AdminApi
from sws_agent.credentials import Credentials


@dataclass(frozen=True, slots=True)
class Versioned:
    version: int
    state: EdgeState


class StateSource(Protocol):
    def fetch(self, after: int, wait: float) -> Versioned: ...
    def report(self, digest: str | None, purges: dict[str, str]) -> None: ...


@dataclass
class HttpSource:
    """The SWS API: a long poll on the edge's desired state, and reports."""

    api: str
    token: str | Credentials
    edge: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        self._api = AdminApi(self.api, self.token, self.timeout)

    def fetch(self, after: int, wait: float) -> Versioned:
        path = f"/v1/admin/cdn-edges/{self.edge}/desired-state?after={after}&wait={wait}"
        data = self._api.get_json(path, wait=wait)
        return Versioned(int(data["version"]), EdgeState.from_json(data))

    def report(self, digest: str | None, purges: dict[str, str]) -> None:
        self._api.post_json(f"/v1/admin/cdn-edges/{self.edge}/report",
                            {"digest": digest, "purges": purges})


@dataclass
class MemorySource:
    """An in-process source for tests and benchmarks: `publish` a state, the agent applies it."""

    state: EdgeState
    version: int = 1
    reports: list[tuple[str | None, dict[str, str]]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, state: EdgeState) -> None:
        with self._changed:
            self.state, self.version = state, self.version + 1
            self._changed.notify_all()

    def fetch(self, after: int, wait: float) -> Versioned:
        with self._changed:
            self._changed.wait_for(lambda: self.version > after, timeout=wait)
            return Versioned(self.version, self.state)

    def report(self, digest: str | None, purges: dict[str, str]) -> None:
        with self._changed:
            self.reports.append((digest, dict(purges)))
            self._changed.notify_all()

    def wait_reported(self, purge_id: str, timeout: float = 10.0) -> str | None:
        """The state an edge reported for `purge_id`, waiting up to `timeout` seconds."""
        def found() -> str | None:
            return next((p[purge_id] for _, p in self.reports if purge_id in p), None)

        with self._changed:
            self._changed.wait_for(lambda: found() is not None, timeout=timeout)
            return found()
