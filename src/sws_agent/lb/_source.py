"""Where the desired state comes from and where reports go: the SWS API, or memory (tests)."""

from __future__ import annotations

import json
import threading
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

from sws.loadbalancer.model import DesiredState
from sws_agent.credentials import Credentials


class StateSource(Protocol):
    def fetch(self, after: int, wait: float) -> DesiredState: ...
    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None: ...


@dataclass
class HttpSource:
    """The SWS API: a long poll on the desired state, and health reports (an admin's token,
    or `Credentials` that renew it)."""

    api: str
    token: str | Credentials
    node: str
    timeout: float = 10.0

    @property
    def credentials(self) -> Credentials:
        if isinstance(self.token, str):
            self.token = Credentials(self.api, token=self.token)
        return self.token

    def fetch(self, after: int, wait: float) -> DesiredState:
        url = (f"{self.api.rstrip('/')}/v1/admin/lb-nodes/{self.node}/desired-state"
               f"?after={after}&wait={wait}")

        def send(token: str) -> DesiredState:
            request = self._request(url, token)
            with urllib.request.urlopen(request, timeout=wait + self.timeout) as reply:
                return DesiredState.from_json(json.load(reply))

        return self.credentials.call(send)

    def report(
        self, version: int, members: dict[str, str], traffic: dict[str, int] | None = None
    ) -> None:
        url = f"{self.api.rstrip('/')}/v1/admin/lb-nodes/{self.node}/report"
        payload = {"version": version, "members": members, "traffic": traffic or {}}
        body = json.dumps(payload).encode()

        def send(token: str) -> None:
            with urllib.request.urlopen(self._request(url, token, body), timeout=self.timeout):
                pass

        self.credentials.call(send)

    def _request(self, url: str, token: str, body: bytes | None = None) -> urllib.request.Request:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return urllib.request.Request(url, data=body, headers=headers,
                                      method="POST" if body is not None else "GET")


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
