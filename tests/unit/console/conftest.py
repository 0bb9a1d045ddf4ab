"""A console on a fresh database, a simulated region and clock, with an admin and two tenants.

`Browser` is a TestClient that logs in through the login form, keeps the cookies and reads
the CSRF token from the pages, as a browser would.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from sws import bootstrap
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.drivers.simulated.catalog import HostShape
from sws.drivers.simulated.region import SimulatedRegion
from sws.identity import service as identity
from tests.apps import app_for
from tests.fake_dns import FakeAddresses, FakeTxt
from tests.schema import migrate

PASSWORD = "s3cret-passw0rd"
TASK_SECONDS = 3
START = datetime(2026, 3, 2, 10, 27, tzinfo=UTC)
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


@dataclass
class Browser:
    client: TestClient

    def csrf(self, path: str = "/console/login") -> str:
        found = CSRF.search(self.client.get(path).text)
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, *, page: str = "/console/",
             csrf: str | None = None, follow: bool = False) -> httpx.Response:
        form = {"csrf": csrf if csrf is not None else self.csrf(page), **(data or {})}
        return self.client.post(path, data=form, follow_redirects=follow)

    def login(self, name: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf("/console/login")
        return self.client.post("/console/login", data={
            "csrf": token, "name": name, "password": password}, follow_redirects=False)


@dataclass
class Console:
    container: bootstrap.Container
    clock: SimulatedClock
    tenants: dict[str, str]
    _app: Any
    txt: FakeTxt = field(default_factory=FakeTxt)  # TXT records proving custom LB host names

    def browser(self, name: str | None = None, **headers: str) -> Browser:
        client = TestClient(self._app, raise_server_exceptions=False, headers=headers)
        browser = Browser(client)
        if name:
            assert browser.login(name).status_code == 303
        return browser

    def settle(self, seconds: int = TASK_SECONDS) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        self.container.tick()


USERS = (("operator", "root-admin", "admin"), ("acme", "alice", "member"),
         ("globex", "bob", "member"))


@dataclass(frozen=True)
class Template:
    """A migrated database with the three tenants, made once and copied for each test."""

    path: Path
    tenants: dict[str, str]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    folder = tmp_path_factory.mktemp("console-template")
    settings = _settings(folder)
    container = bootstrap.build(settings, clock=SimulatedClock(START))
    migrate(container.db.engine)
    identity.ensure_regions(db=container.db, names=settings.regions)
    tenants = {name: _tenant(container, name, user, role) for name, user, role in USERS}
    container.db.engine.dispose()
    return Template(path=folder / "sws.db", tenants=tenants)


@pytest.fixture
def console(tmp_path: Path, template: Template) -> Iterator[Console]:
    yield from make_console(tmp_path, template)


@pytest.fixture
def small_console(tmp_path: Path, template: Template) -> Iterator[Console]:
    """One hypervisor with 4 GiB of RAM: big launches find no valid host."""
    yield from make_console(tmp_path, template, HostShape(vcpus=8, ram_mb=4096, disk_gb=200))


def _settings(home: Path, hypervisors: int = 4) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'sws.db'}",
                    sim_task_seconds=TASK_SECONDS, demo_data=False, sim_hypervisors=hypervisors)


def make_console(
    tmp_path: Path, template: Template, shape: HostShape | None = None
) -> Iterator[Console]:
    shutil.copy(template.path, tmp_path / "sws.db")
    settings = _settings(tmp_path, 1 if shape else 4)
    clock = SimulatedClock(START)
    container = bootstrap.build(settings, clock=clock)
    txt = container.txt_resolver = FakeTxt()
    container.address_resolver = FakeAddresses()  # webhooks never leave the test
    if shape:
        runtime = container.regions["RegionOne"]
        runtime.driver = SimulatedRegion(
            name="RegionOne", db=container.db, clock=clock, bus=runtime.bus,
            hypervisor_count=1, task_seconds=TASK_SECONDS, host_shape=shape,
        )
    app = app_for(container)
    yield Console(container=container, clock=clock, tenants=template.tenants, _app=app,
                  txt=txt)
    container.db.engine.dispose()


def _tenant(container: bootstrap.Container, name: str, user: str, role: str) -> str:
    db, clock = container.db, container.clock
    tenant = identity.create_tenant(db=db, clock=clock, name=name)
    identity.create_user(db=db, clock=clock, tenant_id=tenant.id, name=user, password=PASSWORD,
                         role=role)
    return tenant.id
