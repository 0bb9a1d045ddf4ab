"""`sws up` with a real Swift region logs no eventlet traceback on its Swift calls.

Swift's InternalClient is an eventlet pipeline: its proxy app spawns a timeout watchdog
greenthread when it is built, and its timers belong to the hub of the thread that ran them. In
`sws up` the API's worker threads and the ticker call it; before SWS gave it a thread of its own,
the first container create printed `greenlet.error: Cannot switch to a different thread`. This
runs the real `sws up` process against scripts/swift-dev and reads its log.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.sws_process import free_port, start_sws_up, stop, wait_until_healthy


@pytest.fixture
def sws_up(swift_env: dict[str, str], tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    """A running `sws up` whose RegionOne has the rig's Swift: (API URL, SWS_HOME, its log)."""
    swift = {
        "RegionOne": {
            "proxy_url": swift_env["SWIFT_DEV_PROXY_B"],
            "internal_client_conf": swift_env["SWIFT_DEV_INTERNAL_CLIENT_CONF"],
            "auth": "tempauth",
            "tempauth_user": swift_env["SWIFT_DEV_RESELLER_USER"],
            "tempauth_key": swift_env["SWIFT_DEV_RESELLER_KEY"],
            "usage_redis_url": swift_env["SWIFT_DEV_USAGE_REDIS_URL"],
            "usage_prefix": swift_env["SWIFT_DEV_USAGE_PREFIX"],
        }
    }
    port, log = free_port(), tmp_path / "sws-up.log"
    process = start_sws_up(port, log, tmp_path, SWS_HOME=str(tmp_path / "home"),
                           SWS_SWIFT=json.dumps(swift))
    api = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(api, process, log)
        yield api, tmp_path / "home", log
    finally:
        stop(process)


def test_swift_calls_from_api_threads_and_the_ticker_log_no_traceback(
    sws_up: tuple[str, Path, Path],
) -> None:
    api, home, log = sws_up
    login = json.loads((home / "credentials" / "alice.json").read_text())
    token = httpx.post(f"{api}/v1/auth/tokens", json=login, timeout=10).json()["token"]
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        assert c.post("/v1/storage/containers", json={"name": "photos"}).status_code == 201
        put = c.put("/v1/storage/containers/photos/objects/a.txt", content=b"hello")
        assert put.status_code == 201, put.text
        for _ in range(3):  # API worker threads take turns
            assert c.get("/v1/storage/containers").status_code == 200
            assert c.get("/v1/storage/containers/photos/firewall").status_code == 200
        rules = {"deny": ["192.0.2.0/24"]}
        assert c.put("/v1/storage/containers/photos/firewall", json=rules).status_code == 200
    time.sleep(1)  # timers left behind would fire now
    text = log.read_text(errors="replace")
    assert "Cannot switch to a different thread" not in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
