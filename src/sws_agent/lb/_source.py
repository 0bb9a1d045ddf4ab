"""Where the desired state comes from and where reports go: the SWS API, or memory (tests)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

from sws.loadbalancer.model import DesiredState
from sws_agent.api import AdminApi
from sws_agent.credentials import Credentials


class StateSource(Protocol):
    def fetch(self, after: int, wait: float) -> DesiredState: ...
    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None: ...


@dataclass
class HttpSource:
    """The SWS API: a long poll on the node's desired state, and health reports."""

    api: str
    token: str | Credentials
    node: str
    timeout: float = 10.0

    def __post_init__(self) -> None:
        self._api = AdminApi(self.api, self.token, self.timeout)

    def fetch(self, after: int, wait: float) -> DesiredState:
        path = f"/v1/admin/lb-nodes/{self.node}/desired-state?after={after}&wait={wait}"
        return DesiredState.from_json(self._api.get_json(path, wait=wait))

    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None:
        self._api.post_json(
            f"/v1/admin/lb-nodes/{self.node}/report",
            {"version": version, "members": members, "traffic": traffic or {}},
        )


@dataclass
class MemorySource:
    """An in-process source for tests and benchmarks: `publish` a state, agents pick it up."""

    state: DesiredState
    reports: list[dict[str, str]] = field(default_factory=list)
    traffic: list[dict[str, int]] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, state: DesiredState) -> None:
        with self._changed:
            self.state = state
            self._changed.notify_all()

    def fetch(self, after: int, wait: float) -> DesiredState:
        with self._changed:
            self._changed.wait_for(lambda: self.state.version > after, timeout=wait)
            return self.state

    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None:
        self.reports.append(members)
        self.traffic.append(dict(traffic or {}))
