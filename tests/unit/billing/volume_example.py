"""The volume worked example, on any database: 100 GB of local SSD for 3 hours and a 100 GB
snapshot kept for half of November, rated by the farmer from the volume events and closed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from sws.billing import farmer
from sws.billing import service as billing
from sws.billing.model import Bill
from sws.billing.tables import billing_bills, billing_charges
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.events import repository as events_repo
from sws.events.model import ResourceEvent
from sws.identity import service as identity
from sws.volumes.usage import VolumeUsageFeed
from tests.unit.billing.helpers import at

CATALOG = Path(billing.__file__).with_name("prices.yaml")
VOLUME_HOURS = 3
SNAPSHOT_HOURS = 15 * 24  # half of November's 30 days


@dataclass(frozen=True)
class Billed:
    """What the farmer charged and what the closed bill froze."""

    charges: list[tuple[str, datetime, Decimal, Decimal]]  # item, hour, quantity, amount
    bill: Bill
    frozen: dict[str, Decimal]  # the closed bill's columns
    ledger_balance: Decimal


def _event(mid: str, kind: str, rid: str, action: str, when: str, tenant: str,
           volume_type: str | None) -> ResourceEvent:
    return ResourceEvent(
        message_id=mid, event_type=f"{kind}.{action}.end", resource_type=kind, resource_id=rid,
        project_id=tenant, occurred_at=at(when), action=action, name=rid,
        flavor_name=volume_type, root_gb=100,
    )


def _journal(db: Database, clock: SimulatedClock, events: list[ResourceEvent]) -> None:
    with db.begin() as conn:
        events_repo.record_processed(conn, [(e.message_id, "accepted") for e in events],
                                     received_at=clock.now())
        events_repo.insert_events(conn, events, region="RegionOne", received_at=clock.now())


def bill_a_volume_and_a_snapshot(db: Database) -> Billed:
    """Load the sample catalog, journal the events, farm hour by hour's windows, close November."""
    clock = SimulatedClock(at("2026-10-31 12:00"))
    billing.load_catalog_text(db=db, clock=clock, text=CATALOG.read_text())
    tenant = identity.create_tenant(db=db, clock=clock, name="acme", billing_timezone="UTC",
                                    currency="CNY").id
    feed = VolumeUsageFeed(db, default_region="RegionOne")
    farmer.farm_pass(db=db, clock=clock, sources=[feed], close_months=False)  # its cursor starts
    _journal(db, clock, [
        _event("v-c", "volume", "vol-db", "create", "2026-11-02 10:00", tenant, "local-ssd"),
        _event("v-d", "volume", "vol-db", "delete", "2026-11-02 13:00", tenant, "local-ssd"),
        _event("s-c", "volume_snapshot", "snap-1", "create", "2026-11-01 00:00", tenant, None),
        _event("s-d", "volume_snapshot", "snap-1", "delete", "2026-11-16 00:00", tenant, None),
    ])
    for day in range(1, 20):  # a pass a day, and one more: each hour is rated once
        clock.warp_to(at("2026-11-01 00:00") + timedelta(days=day))
        farmer.farm_pass(db=db, clock=clock, sources=[feed], close_months=False)
        farmer.farm_pass(db=db, clock=clock, sources=[feed], close_months=False)
    clock.warp_to(at("2026-12-04 01:00"))
    billing.close_month(db=db, clock=clock, month="2026-11")
    return _billed(db, tenant)


def _billed(db: Database, tenant: str) -> Billed:
    c = billing_charges.c
    with db.read() as conn:
        charges = [
            (r.item, r.period_start, r.quantity, r.amount)
            for r in conn.execute(select(c.item, c.period_start, c.quantity, c.amount)
                                  .order_by(c.item, c.period_start))
        ]
        row = conn.execute(select(billing_bills).where(billing_bills.c.account_id == tenant)
                           ).mappings().one()
    frozen = {k: Decimal(row[k]) for k in ("total", "volume", "volume_snapshot", "object_storage")}
    account = billing.get_account(db=db, clock=SimulatedClock(at("2026-12-04 01:00")),
                                  tenant_id=tenant)
    return Billed(charges, billing.get_bill(db=db, tenant_id=tenant, month="2026-11"), frozen,
                  account.balance.amount)


def check_the_volume_example(billed: Billed) -> None:
    """The expected charges, exact to the micro-unit, and the closed bill's columns."""
    volume = [x for x in billed.charges if x[0] == "volume"]
    # 100 GB x 1 h x 0.0014 CNY per GB-hour = 0.14 each hour, 0.42 for the 3 hours.
    assert [(h.hour, q, a) for _, h, q, a in volume] == [
        (hour, Decimal(100), Decimal("0.14")) for hour in (10, 11, 12)
    ]
    snapshot = [x for x in billed.charges if x[0] == "volume_snapshot"]
    # 100 GB for an hour of a 30-day month is 100/720 GB-month (0.138889 to 6 places), at
    # 0.12 CNY per GB-month 0.0166666... a hour: 0.016667 in the ledger's micro-units.
    assert len(snapshot) == SNAPSHOT_HOURS
    assert {(q, a) for *_, q, a in snapshot} == {(Decimal("0.138889"), Decimal("0.016667"))}
    assert (snapshot[0][1], snapshot[-1][1]) == (at("2026-11-01 00:00"), at("2026-11-15 23:00"))
    # The ledger holds 360 x 0.016667 = 6.000120; the bill line is rounded half-up to 6.00.
    assert sum(a for *_, a in snapshot) == Decimal("6.000120")
    assert billed.bill.closed
    assert billed.bill.category("volume") == Decimal("0.42")
    assert billed.bill.category("volume_snapshot") == Decimal("6.00")
    (ssd,) = [x for x in billed.bill.lines if x.type == "volume"]
    assert (ssd.item_type, ssd.unit, ssd.unit_price, ssd.quantity) == (
        "local-ssd", "gb_hour", Decimal("0.0014"), Decimal(300))
    (snap,) = [x for x in billed.bill.lines if x.type == "volume_snapshot"]
    assert (snap.item_type, snap.unit, snap.unit_price) == ("gb_month", "gb_month", Decimal("0.12"))
    assert snap.quantity == Decimal("50.000040")  # 360 x 0.138889 GB-months
    assert billed.frozen == {"total": Decimal("6.42"), "volume": Decimal("0.42"),
                             "volume_snapshot": Decimal("6.00"), "object_storage": Decimal(0)}
    # What the tenant paid is the bill: the close books the ledger's 0.00012 of rounding back.
    assert billed.ledger_balance == Decimal("-6.42")
