"""A real Swift (scripts/swift-dev) for the storage-firewall tests.

The session fixture brings it up (idempotently) and, if it started it, takes it down at the end.
Rules are written the way SWS writes them: container sysmeta through Swift's InternalClient.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from swiftclient import client

from sws_swift.rules import FirewallRules
from sws_swift.writer import internal_client, write_raw, write_rules

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "swift-dev"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="package")
def swift_env() -> Iterator[dict[str, str]]:
    was_up = _run("status").returncode == 0
    up = _run("up")
    if up.returncode != 0:
        pytest.skip(f"scripts/swift-dev up failed:\n{up.stderr[-3000:]}")
    env = dict(line.split("=", 1) for line in _run("env").stdout.splitlines() if "=" in line)
    yield env
    if not was_up:
        _run("down")


def usage_hash(env: dict[str, str], hour: int, member: str) -> dict[str, int]:
    """The rig's sws_usage hash of `member` ('account/container') for `hour` (epoch hours)."""
    key = f"{env['SWIFT_DEV_USAGE_PREFIX']}{hour}:{member}"
    store = redis.Redis.from_url(env["SWIFT_DEV_USAGE_REDIS_URL"])
    try:
        return {k.decode(): int(v) for k, v in store.hgetall(key).items()}
    finally:
        store.close()


@dataclass
class Swift:
    """One test's view of the cluster: a fresh container, a token, and the rule writer."""

    env: dict[str, str]
    token: str
    container: str
    internal: Any
    redis: redis.Redis

    def url(self, proxy: str = "A") -> str:
        return f"{self.env[f'SWIFT_DEV_PROXY_{proxy}']}/v1/{self.env['SWIFT_DEV_ACCOUNT']}"

    def set_rules(self, rules: FirewallRules) -> None:
        write_rules(self.internal, self.env["SWIFT_DEV_ACCOUNT"], self.container, rules)

    def set_raw(self, headers: dict[str, str]) -> None:
        write_raw(self.internal, self.env["SWIFT_DEV_ACCOUNT"], self.container, headers)

    def status(self, method: str = "HEAD", obj: str = "o", proxy: str = "A", **kw: Any) -> int:
        """The status of one request (swiftclient raises for 4xx/5xx; this returns them)."""
        try:
            call = {"HEAD": client.head_object, "GET": client.get_object}[method]
            call(self.url(proxy), self.token, self.container, obj, **kw)
            return 200
        except client.ClientException as exc:
            return int(exc.http_status)

    def refusal(self, proxy: str = "A", **headers: str) -> client.ClientException:
        with pytest.raises(client.ClientException) as caught:
            client.get_object(self.url(proxy), self.token, self.container, "o", headers=headers)
        return caught.value

    def usage(self, hour: int) -> dict[str, int]:
        """This container's sws_usage hash for `hour` (epoch hours), as the proxies flushed it."""
        return usage_hash(self.env, hour, self.member)

    @property
    def member(self) -> str:
        """'account/container', as sws_usage names the container in Redis."""
        return f"{self.env['SWIFT_DEV_ACCOUNT']}/{self.container}"

    def reset_windows(self) -> None:
        """What the clock crossing into the next window does: the window's keys are new."""
        prefix = self.env["SWIFT_DEV_REDIS_PREFIX"]
        for key in self.redis.scan_iter(
            f"{prefix}*:{self.env['SWIFT_DEV_ACCOUNT']}/{self.container}|*"
        ):
            self.redis.delete(key)


@pytest.fixture(scope="package")
def internal(swift_env: dict[str, str]) -> Any:
    return internal_client(swift_env["SWIFT_DEV_INTERNAL_CLIENT_CONF"])


@pytest.fixture
def swift(swift_env: dict[str, str], internal: Any) -> Iterator[Swift]:
    url, token = client.get_auth(
        f"{swift_env['SWIFT_DEV_PROXY_A']}/auth/v1.0",
        swift_env["SWIFT_DEV_USER"],
        swift_env["SWIFT_DEV_KEY"],
    )
    container = f"fw-{uuid.uuid4().hex[:10]}"
    client.put_container(url, token, container)
    client.put_object(url, token, container, "o", b"hello")
    store = redis.Redis.from_url(swift_env["SWIFT_DEV_REDIS_URL"])
    yield Swift(swift_env, token, container, internal, store)
    store.close()
