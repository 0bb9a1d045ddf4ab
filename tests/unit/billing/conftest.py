"""Billing fixtures: a migrated database with the sample catalog and two tenants."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from sws.billing import farmer
from sws.billing import service as billing
from sws.billing.tables import billing_charges, billing_ledger
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.events import repository as events_repo
from sws.events.model import ResourceEvent
from sws.identity import service as identity
from tests.unit.billing.helpers import at

CATALOG = Path(billing.__file__).with_name("prices.yaml")


@dataclass
class Books:
    """A billing database, its clock and a tenant, with the helpers an exercise needs."""

    db: Database
    clock: SimulatedClock
    tenant: str

    def journal(self, events: Iterable[ResourceEvent], region: str = "RegionOne") -> None:
        """Put events in the journal the way ingest does: each message_id once."""
        with self.db.begin() as conn:
            seen = events_repo.find_processed(conn, [e.message_id for e in events])
            fresh = list({e.message_id: e for e in events if e.message_id not in seen}.values())
            events_repo.record_processed(
                conn, [(e.message_id, "accepted") for e in fresh], received_at=self.clock.now()
            )
            events_repo.insert_events(conn, fresh, region=region, received_at=self.clock.now())

    def farm(self, until: datetime | None = None) -> farmer.FarmReport:
        if until is not None:
            self.clock.warp_to(until)
        return farmer.farm_pass(db=self.db, clock=self.clock, close_months=False)

    def charged(self) -> list[tuple[datetime, Decimal]]:
        with self.db.read() as conn:
            query = select(billing_charges.c.period_start, billing_charges.c.amount)
            return sorted((r.period_start, r.amount) for r in conn.execute(query))

    def journal_total(self) -> Decimal:
        with self.db.read() as conn:
            rows = conn.execute(
                select(billing_ledger.c.amount).where(billing_ledger.c.account_id == self.tenant)
            )
            return sum((r.amount for r in rows), Decimal(0))


@pytest.fixture
def books(database: Database) -> Books:
    clock = SimulatedClock(at("2026-01-01 00:00"))
    billing.load_catalog_text(db=database, clock=clock, text=CATALOG.read_text())
    tenant = identity.create_tenant(
        db=database, clock=clock, name="acme", billing_timezone="UTC", currency="CNY"
    )
    return Books(database, clock, tenant.id)
