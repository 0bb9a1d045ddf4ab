"""An SWS API on a fresh database, a simulated region and a simulated clock, with two tenants.

`database_url` is the one fixture the integration suites override to rerun these tests on
PostgreSQL and MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from sws import bootstrap
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.identity import service as identity
from tests.apps import app_for
from tests.fake_dns import FakeAddresses, FakeTxt
from tests.schema import migrate

PASSWORD = "s3cret-passw0rd"
TASK_SECONDS = 3


@dataclass
class Tenant:
    id: str
    headers: dict[str, str]


@dataclass
class Cloud:
    client: TestClient
    container: bootstrap.Container
    clock: SimulatedClock
    admin: dict[str, str]
    acme: Tenant
    globex: Tenant
    txt: FakeTxt = field(default_factory=FakeTxt)  # TXT records proving custom LB host names

    def settle(self, seconds: int = TASK_SECONDS) -> None:
        """Let simulated time pass so the region finishes its tasks and events are applied."""
        self.clock.advance(timedelta(seconds=seconds))
        self.container.tick()

    def flavor_id(self, name: str) -> str:
        flavors = self.client.get("/v1/flavors", headers=self.acme.headers).json()["items"]
        return str(next(f["id"] for f in flavors if f["name"] == name))

    def image_id(self, headers: dict[str, str] | None = None) -> str:
        images = self.client.get("/v1/images", headers=headers or self.acme.headers).json()["items"]
        public = [i for i in images if i["visibility"] == "public"]
        return str(min(public, key=lambda i: (i["min_disk_gb"], i["name"]))["id"])  # the smallest

    def boot(self, tenant: Tenant, name: str = "web-1", flavor: str = "m1.small") -> Any:
        body = {"name": name, "flavor_id": self.flavor_id(flavor), "image_id": self.image_id()}
        response = self.client.post("/v1/servers", json=body, headers=tenant.headers)
        assert response.status_code == 202, response.text
        self.settle()
        return response.json()[0]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sws.db'}"


@pytest.fixture
def cloud(tmp_path: Path, database_url: str) -> Iterator[Cloud]:
    settings = Settings(
        home=tmp_path, database_url=database_url, sim_task_seconds=TASK_SECONDS, demo_data=False
    )
    with open_cloud(settings, SimulatedClock(datetime(2026, 3, 2, 10, 27, tzinfo=UTC))) as cloud:
        yield cloud


@contextmanager
def open_cloud(settings: Settings, clock: SimulatedClock) -> Iterator[Cloud]:
    """SWS as `settings` compose it, migrated, with an operator and two tenants signed in."""
    container = bootstrap.build(settings, clock=clock)
    txt = container.txt_resolver = FakeTxt()
    container.address_resolver = FakeAddresses()  # webhooks never leave the test
    migrate(container.db.engine)
    identity.ensure_regions(db=container.db, names=settings.regions)
    with TestClient(app_for(container), raise_server_exceptions=False) as client:
        yield Cloud(
            client=client, container=container, clock=clock,
            admin=_tenant(client, container, "operator", "root-admin", "admin").headers,
            acme=_tenant(client, container, "acme", "alice", "member"),
            globex=_tenant(client, container, "globex", "bob", "member"), txt=txt,
        )
    container.db.engine.dispose()


def _tenant(
    client: TestClient, container: bootstrap.Container, name: str, user: str, role: str
) -> Tenant:
    db, clock = container.db, container.clock
    tenant = identity.create_tenant(db=db, clock=clock, name=name)
    identity.create_user(
        db=db, clock=clock, tenant_id=tenant.id, name=user, password=PASSWORD, role=role
    )
    token = client.post("/v1/auth/tokens", json={"name": user, "password": PASSWORD})
    assert token.status_code == 201, token.text
    return Tenant(id=tenant.id, headers={"Authorization": f"Bearer {token.json()['token']}"})
