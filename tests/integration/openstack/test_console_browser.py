"""The console over real OpenStack, in Chromium: a Keystone user opens Images, Snapshots and
Launch Instance, launches a server from the form, sees it listed and active, snapshots it and
finds the snapshot on the Snapshots page.

The browser fixtures are the e2e suite's (Debian's Chromium driven by Playwright); the server is
a real uvicorn on 127.0.0.1 serving the package's SWS, wired to the test cloud.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.conftest import browser, page  # noqa: F401 (the e2e suite's fixtures)

from .conftest import PASSWORD, Project
from .console import launch, log_in


@dataclass
class Site:
    url: str


@pytest.fixture(scope="module")
def site(container: Any) -> Iterator[Site]:
    import uvicorn

    from sws.web.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(
        create_app(container), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="sws-console-openstack", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the SWS server did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(timeout=10)


def test_a_keystone_user_launches_from_the_console_and_snapshots(
    page: Any,  # noqa: F811 (the e2e fixture)
    site: Site,
    projects: dict[str, Project],
    admin: Any,
) -> None:
    from playwright.sync_api import expect

    name = f"console-{uuid.uuid4().hex[:6]}"
    page.set_default_timeout(30_000)  # each page asks Keystone and Nova, beside the other tests
    log_in(page, site.url, projects["a"].user, PASSWORD)

    page.goto("/console/images")
    expect(page.locator("#images")).to_contain_text("cirros-fake")
    page.goto("/console/snapshots")
    expect(page.locator("#snapshots")).to_be_visible()

    try:
        row = launch(page, name, "m1.tiny", {"label": "cirros-fake"}, timeout_ms=60_000)
        row.locator("a", has_text=name).click()
        page.fill("input[name=snapshot_name]", f"{name}-snap")
        page.click("button[value=snapshot]")
        expect(page.locator(".flash.ok")).to_be_visible()
        page.goto("/console/snapshots")
        expect(page.locator("#snapshots")).to_contain_text(f"{name}-snap")
    finally:
        _forget(admin, projects["a"], name)


def _forget(admin: Any, project: Project, name: str) -> None:
    for image in admin.image.images(owner=project.id):
        if image.name == f"{name}-snap":
            admin.image.delete_image(image)
    for server in admin.compute.servers(all_projects=True, project_id=project.id, name=name):
        admin.compute.delete_server(server)
