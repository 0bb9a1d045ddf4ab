"""The console's login throttle is the API's: one count per (user, address) for both, kept
where every replica sees it, and a forged X-Forwarded-For does not start a fresh one."""

from __future__ import annotations

import uvicorn
from fastapi.testclient import TestClient

from sws.web import serving
from tests.unit.console.conftest import PASSWORD, Browser, Console


def test_failures_on_the_api_count_for_the_console(console: Console) -> None:
    api = TestClient(console._app, raise_server_exceptions=False)
    for n in range(3):
        body = {"name": "alice", "password": f"guess-{n}"}
        assert api.post("/v1/auth/tokens", json=body).status_code == 401
    browser = console.browser()
    for _ in range(2):
        assert browser.login("alice", "wrong-password").status_code == 401
    blocked = browser.login("alice", PASSWORD)
    assert blocked.status_code == 429 and 1 <= int(blocked.headers["Retry-After"]) <= 60


def test_a_forged_forwarded_for_on_localhost_does_not_bypass_it(console: Console) -> None:
    config = uvicorn.Config(console._app, **serving.UVICORN)  # as `sws up` serves the console
    config.load()
    for n in range(5):
        browser = Browser(TestClient(config.loaded_app, client=("127.0.0.1", 40000),
                                     headers={"X-Forwarded-For": f"198.51.100.{n}"}))
        assert browser.login("alice", "wrong-password").status_code == 401
    browser = Browser(TestClient(config.loaded_app, client=("127.0.0.1", 40000),
                                 headers={"X-Forwarded-For": "198.51.100.99"}))
    assert browser.login("alice", PASSWORD).status_code == 429
