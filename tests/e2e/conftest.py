"""A real SWS server on 127.0.0.1 and Debian's Chromium driven by Playwright.

The server runs uvicorn in a thread over a SimulatedClock, so a test moves time and ticks the
region itself (`Site.settle`). Outside CI a missing browser skips these tests with the reason;
in CI (`CI=true`) the root conftest turns that skip into a failure.
Set `SWS_SCREENSHOTS=1` to save each main page into docs/screenshots/.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from sws import bootstrap
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.db.migrate import upgrade
from sws.identity import service as identity
from sws.web.app import create_app

CHROMIUM = Path(os.environ.get("SWS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "s3cret-passw0rd"
TASK_SECONDS = 3
USERS = (("operator", "root-admin", "admin"), ("acme", "alice", "member"),
         ("globex", "bob", "member"))


@dataclass
class Site:
    url: str
    container: bootstrap.Container
    clock: SimulatedClock

    def settle(self, seconds: int = TASK_SECONDS) -> None:
        """Let simulated time pass so the region finishes its tasks."""
        self.clock.advance(timedelta(seconds=seconds))
        self.container.tick()

    def shot(self, page: Any, name: str) -> None:
        if os.environ.get("SWS_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def build_container(
    home: Path, clock: SimulatedClock | None = None, **settings: Any
) -> tuple[bootstrap.Container, SimulatedClock]:
    """The test cloud on SQLite in `home`, with the three tenants of USERS; `settings` are
    extra `Settings` fields (a real Swift, CDN edges), `clock` another clock."""
    clock = clock or SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))
    container = bootstrap.build(
        Settings(home=home, database_url=f"sqlite:///{home / 'sws.db'}",
                 sim_task_seconds=TASK_SECONDS, demo_data=False, **settings),
        clock=clock,
    )
    upgrade(container.db.engine)
    identity.ensure_regions(db=container.db, names=container.settings.regions)
    for tenant_name, user, role in USERS:
        tenant = identity.create_tenant(db=container.db, clock=clock, name=tenant_name,
                                        billing_timezone="Asia/Shanghai")
        identity.create_user(db=container.db, clock=clock, tenant_id=tenant.id, name=user,
                             password=PASSWORD, role=role)
    return container, clock


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_site(*build_container(tmp_path_factory.mktemp("e2e"))) as found:
        yield found


@contextmanager
def serve_site(container: bootstrap.Container, clock: SimulatedClock) -> Iterator[Site]:
    """uvicorn serving `container`'s app on a free port of 127.0.0.1, in a thread."""
    port = free_port()
    config = uvicorn.Config(create_app(container), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sws-e2e-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the SWS server did not start")
        time.sleep(0.05)
    try:
        yield Site(url=f"http://127.0.0.1:{port}", container=container, clock=clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        container.db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser (as root)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(base_url=site.url, viewport={"width": 1280, "height": 800},
                                  locale="en-US")
    context.set_default_timeout(20_000)  # a page load on a busy 2-core CI host
    tab = context.new_page()
    yield tab
    context.close()
