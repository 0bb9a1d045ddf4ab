"""First-start data for the embedded cloud: an operator admin, two demo tenants and instances."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from sws.billing import service as billing
from sws.bootstrap import Container
from sws.drivers.base import ServerCreate
from sws.errors import SWSError
from sws.identity import service as identity
from sws.money import Money

DEMO_TENANTS = (
    ("acme", "Asia/Shanghai", "CNY", ("alice", "amir")),
    ("globex", "Europe/Paris", "EUR", ("bob", "beatriz")),
)
DEMO_SERVERS = (("web-1", "m1.small"), ("db-1", "m1.medium"))
DEMO_BALANCES = {"acme": "500.00", "globex": "60.00"}  # a starting balance, in each currency
SAMPLE_CATALOG = Path(billing.__file__).with_name("prices.yaml")


@dataclass(frozen=True, slots=True)
class Credential:
    name: str
    password: str
    tenant: str
    role: str


def seed_first_start(container: Container) -> list[Credential] | None:
    """Create the demo data once; returns the credentials, or None if tenants exist already.
    The container's regions must exist already (`sws up` ensures them at start-up)."""
    if identity.has_tenants(db=container.db):
        return None
    operator = container.settings.operator_tenant
    credentials = [_tenant_with_users(container, operator, "UTC", "CNY", ("admin",), "admin")]
    for name, zone, currency, users in DEMO_TENANTS:
        credentials.append(_tenant_with_users(container, name, zone, currency, users, "member"))
    flat = [c for group in credentials for c in group]
    _write_credentials(container.settings.home, flat)
    _seed_billing(container)
    return flat


def _seed_billing(container: Container) -> None:
    """The sample catalog, and a starting balance for each demo tenant (prepaid)."""
    db, clock = container.db, container.clock
    billing.load_catalog_text(db=db, clock=clock, text=SAMPLE_CATALOG.read_text())
    for tenant in identity.list_tenants(db=db, limit=1000, marker=None):
        if tenant.name in DEMO_BALANCES:
            amount = Money.of(DEMO_BALANCES[tenant.name], tenant.currency)
            billing.top_up(db=db, clock=clock, tenant_id=tenant.id, amount=amount,
                           idempotency_key=f"demo-start:{tenant.id}", memo="demo starting balance")


def _tenant_with_users(
    container: Container, name: str, zone: str, currency: str, users: tuple[str, ...], role: str
) -> list[Credential]:
    tenant = identity.create_tenant(
        db=container.db, clock=container.clock, name=name, billing_timezone=zone, currency=currency
    )
    made = []
    for user_name in users:
        password = secrets.token_urlsafe(12)
        user = identity.create_user(
            db=container.db, clock=container.clock, tenant_id=tenant.id,
            name=user_name, password=password, role=role,
            operator_tenant=container.settings.operator_tenant,
        )
        made.append(Credential(user_name, password, name, role))
        if role == "member" and user_name == users[0]:
            _launch_demo_servers(container, tenant.id, user.id)
    return made


def _launch_demo_servers(container: Container, project_id: str, user_id: str) -> None:
    driver = container.driver()
    flavors = {f.name: f.id for f in driver.list_flavors()}
    image = next(i for i in driver.list_images(project_id) if i.visibility == "public")
    for name, flavor in DEMO_SERVERS:
        spec = ServerCreate(name=name, flavor_id=flavors[flavor], image_id=image.id)
        try:
            driver.create_servers(project_id, user_id, spec)
        except SWSError:
            continue  # a full demo region is still a working region


def _write_credentials(home: Path, credentials: list[Credential]) -> None:
    folder = home / "credentials"
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    for cred in credentials:
        path = folder / f"{cred.name}.json"
        path.write_text(json.dumps({"name": cred.name, "password": cred.password}) + "\n")
        path.chmod(0o600)
