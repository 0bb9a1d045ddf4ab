"""What every node agent shares to talk to SWS: signed JSON calls to the admin API (a long poll
for the desired state, a POST for reports) and the command-line plumbing around them."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from sws_agent.credentials import Credentials

CREDENTIALS_HELP = ("an admin token; better $SWS_AGENT_TOKEN, or $SWS_AGENT_USER and "
                    "$SWS_AGENT_PASSWORD, with which the agent renews its own token")


@dataclass
class AdminApi:
    """SWS's admin API for one agent (an admin's token, or `Credentials` that renew it),
    in one region when `region` is set."""

    api: str
    token: str | Credentials
    timeout: float = 10.0
    region: str | None = None

    @property
    def credentials(self) -> Credentials:
        if isinstance(self.token, str):
            self.token = Credentials(self.api, token=self.token)
        return self.token

    def get_json(self, path: str, *, wait: float = 0.0) -> Any:
        """GET `path`; the server may hold the request up to `wait` seconds (a long poll)."""
        def send(token: str) -> Any:
            with urllib.request.urlopen(self._request(path, token),
                                        timeout=wait + self.timeout) as reply:
                return json.load(reply)

        return self.credentials.call(send)

    def post_json(self, path: str, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()

        def send(token: str) -> None:
            with urllib.request.urlopen(self._request(path, token, body), timeout=self.timeout):
                pass

        self.credentials.call(send)

    def _request(self, path: str, token: str, body: bytes | None = None) -> urllib.request.Request:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                   "Accept": "application/json"}
        if self.region:
            headers["X-SWS-Region"] = self.region
        return urllib.request.Request(f"{self.api.rstrip('/')}{path}", data=body,
                                      headers=headers,
                                      method="POST" if body is not None else "GET")


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default="http://127.0.0.1:8000", help="SWS's API base URL")
    parser.add_argument("--token", default=None, help=CREDENTIALS_HELP)


def credentials(args: argparse.Namespace, log: logging.Logger) -> Credentials | None:
    """The agent's credentials from --token or the environment; None (logged) when there are
    none, so the agent exits instead of retrying 401s for ever."""
    found = Credentials.from_env(args.api, args.token)
    if found.token or found.renewable:
        return found
    log.error("no credentials: set SWS_AGENT_TOKEN, or SWS_AGENT_USER and "
              "SWS_AGENT_PASSWORD (or give --token)")
    return None


def seconds(text: str) -> float:
    """An interval on the command line: more than 0, at most an hour."""
    value = float(text)
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("give seconds between 0 and 3600, e.g. 0.5")
    return value


class Stoppable(Protocol):
    stopping: threading.Event

    def run(self) -> None: ...


def run_until_signalled(runner: Stoppable) -> int:
    """Run until SIGTERM or SIGINT; the runner's own stop path bounds how long that takes."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: runner.stopping.set())
    runner.run()
    return 0
