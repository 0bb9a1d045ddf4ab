"""How a node agent signs its requests to SWS: a fixed admin token, or an admin user's password
with which it logs in (`POST /v1/auth/tokens`) and logs in again when its token has expired.

    SWS_AGENT_TOKEN=...                           a token; it expires after SWS_TOKEN_TTL_SECONDS
    SWS_AGENT_USER=lb-agent SWS_AGENT_PASSWORD=...  a user; the agent renews its own token

With a user, a request answered 401 is sent once more with a fresh token, so an agent outlives
any token lifetime. Both come from the environment (a systemd EnvironmentFile), never from the
command line, where `ps` would show them.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")


@dataclass
class Credentials:
    """A token, and optionally the user and password that get a new one."""

    api: str
    token: str = ""
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 10.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_env(cls, api: str, token: str | None = None) -> Credentials:
        """`token` (a command-line value) or $SWS_AGENT_TOKEN, and $SWS_AGENT_USER with
        $SWS_AGENT_PASSWORD."""
        return cls(api=api, token=token or os.environ.get("SWS_AGENT_TOKEN", ""),
                   user=os.environ.get("SWS_AGENT_USER") or None,
                   password=os.environ.get("SWS_AGENT_PASSWORD") or None)

    @property
    def renewable(self) -> bool:
        return bool(self.user and self.password)

    def bearer(self) -> str:
        """The token to send, logging in first when there is none yet."""
        with self._lock:
            if not self.token and self.renewable:
                self.token = self._log_in()
            return self.token

    def renew(self, stale: str) -> None:
        """Log in again, unless another thread already replaced the `stale` token."""
        with self._lock:
            if self.token == stale:
                self.token = self._log_in()

    def _log_in(self) -> str:
        body = json.dumps({"name": self.user, "password": self.password}).encode()
        request = urllib.request.Request(
            f"{self.api.rstrip('/')}/v1/auth/tokens", data=body, method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as reply:
            return str(json.load(reply)["token"])

    def call(self, send: Callable[[str], T]) -> T:
        """`send(token)`; on 401, once more with a new token when a user is configured."""
        token = self.bearer()
        try:
            return send(token)
        except urllib.error.HTTPError as exc:
            if exc.code != 401 or not self.renewable:
                raise
        self.renew(token)
        return send(self.bearer())
