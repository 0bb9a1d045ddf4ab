"""No usage is ever silently free: unpriced time is kept as unrated usage, rated when a price
that covers it is loaded, or waived by the operator (audited)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from sws.billing import farmer, unrated
from sws.billing import repository as repo
from sws.billing import service as billing
from sws.billing.ports import BandwidthFeed, BandwidthUsage
from sws.billing.tables import billing_ledger
from sws.billing.unrated import Waiver
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid
from sws.identity import service as identity
from tests.unit.billing.conftest import CATALOG, Books
from tests.unit.billing.helpers import at, event


@pytest.fixture
def bare(database: Database) -> Books:
    """A tenant on an SWS whose operator has not loaded a catalog yet."""
    clock = SimulatedClock(at("2026-03-01 00:00"))
    tenant = identity.create_tenant(
        db=database, clock=clock, name="acme", billing_timezone="UTC", currency="CNY"
    )
    return Books(database, clock, tenant.id)


def _server(books: Books, start: str, end: str | None = None, flavor: str = "m1.small") -> None:
    events = [event("c", "create", at(start), flavor=flavor, project_id=books.tenant)]
    if end:
        events.append(event("d", "delete", at(end), flavor=flavor, project_id=books.tenant))
    books.journal(events)


def _load(books: Books, text: str | None = None) -> None:
    billing.load_catalog_text(db=books.db, clock=books.clock, text=text or CATALOG.read_text())


def _open(books: Books) -> list[tuple[str, str, Decimal, str]]:
    return [(u.item, u.item_type, u.quantity, u.unit)
            for u in unrated.summary(db=books.db, tenant_id=books.tenant)]


def test_a_server_that_ran_before_the_catalog_is_billed_once_the_catalog_is_loaded(
    bare: Books,
) -> None:
    # Ran 10:27 -> 13:10 with no price at all: kept, 2 h 43 min, not lost.
    _server(bare, "2026-03-02 10:27", "2026-03-02 13:10")
    assert bare.farm(at("2026-03-02 14:00")).charges == 0
    assert _open(bare) == [("instance", "m1.small", Decimal("2.716667"), "hour")]
    _load(bare)  # the sample catalog: valid from 2020, reaches back over those hours
    bare.farm(at("2026-03-02 15:00"))
    assert bare.charged() == [
        (at(f"2026-03-02 {hour}:00"), Decimal("0.42")) for hour in (10, 11, 12, 13)
    ]
    assert _open(bare) == []
    assert bare.farm(at("2026-03-02 16:00")).charges == 0  # rated once
    bill = billing.get_bill(db=bare.db, tenant_id=bare.tenant, month="2026-03")
    assert bill.total == Decimal("1.68") and billing.check(db=bare.db).ok


def test_a_running_server_is_charged_each_hour_once_when_the_catalog_comes(bare: Books) -> None:
    _server(bare, "2026-03-02 08:00")
    for hour in ("09", "10", "11"):
        bare.farm(at(f"2026-03-02 {hour}:30"))
    # 08:00-11:00; 11:00-11:30 may still grow, so it is kept once its hour is over
    assert _open(bare) == [("instance", "m1.small", Decimal("3"), "hour")]
    _load(bare)
    bare.farm(at("2026-03-02 12:00"))
    assert [s.hour for s, _ in bare.charged()] == [8, 9, 10, 11]
    assert _open(bare) == []


def test_a_late_delete_shortens_the_unrated_usage_it_arrives_after(bare: Books) -> None:
    _server(bare, "2026-03-02 10:00")
    bare.farm(at("2026-03-02 14:30"))
    assert _open(bare) == [("instance", "m1.small", Decimal("4"), "hour")]
    bare.journal([event("d", "delete", at("2026-03-02 11:30"), project_id=bare.tenant)])
    bare.farm(at("2026-03-02 15:00"))
    assert _open(bare) == [("instance", "m1.small", Decimal("1.5"), "hour")]
    _load(bare)
    bare.farm(at("2026-03-02 15:30"))
    assert [s.hour for s, _ in bare.charged()] == [10, 11]


def test_hours_before_a_price_starts_wait_for_a_price_that_reaches_back(bare: Books) -> None:
    late = CATALOG.read_text().replace('valid_from: "2020-01-01T00:00:00Z"',
                                       'valid_from: "2026-03-02T12:00:00Z"')
    assert late != CATALOG.read_text()
    bare.clock.warp_to(at("2026-03-02 09:00"))
    _load(bare, late)
    _server(bare, "2026-03-02 10:00")
    bare.farm(at("2026-03-02 14:00"))
    assert [s.hour for s, _ in bare.charged()] == [12, 13]  # priced from 12:00
    assert _open(bare) == [("instance", "m1.small", Decimal("2"), "hour")]  # 10:00-12:00
    line = ("  - {item: instance, item_type: m1.small, payment_type: per_started_hour,"
            " price: {CNY: \"0.40\"}, valid_from: \"%s\"}\n")
    with pytest.raises(Invalid) as refused:  # would re-price 13:00-14:00: closed periods stay
        _load(bare, "prices:\n" + line % "2026-03-02T13:00:00Z")
    assert refused.value.field == "valid_from"
    bare.journal([event("d", "delete", at("2026-03-02 11:30"), project_id=bare.tenant)])
    bare.farm(at("2026-03-02 14:10"))  # late: 12:00 and 13:00 are refunded, 10:00-11:30 kept
    assert _open(bare) == [("instance", "m1.small", Decimal("1.5"), "hour")]
    assert sum(a for _, a in bare.charged()) == Decimal("0.84")  # the charges; refunds adjust
    assert bare.journal_total() == 0
    _load(bare, "prices:\n" + line % "2026-03-02T00:00:00Z")  # only the unpriced morning
    bare.farm(at("2026-03-02 14:30"))
    assert bare.charged() == [
        (at("2026-03-02 10:00"), Decimal("0.40")),
        (at("2026-03-02 11:00"), Decimal("0.40")),
        (at("2026-03-02 12:00"), Decimal("0.42")),
        (at("2026-03-02 13:00"), Decimal("0.42")),
    ]
    assert _open(bare) == [] and bare.journal_total() == Decimal("-0.80")
    assert billing.check(db=bare.db).ok


def test_an_hour_charged_in_full_holds_no_unrated_part(bare: Books) -> None:
    # m1.small is priced from 10:30 (per started hour: 10:00-11:00 is charged whole); the
    # server is resized at 12:10 to a flavor with no price (12:00 is still m1.small's hour).
    late = CATALOG.read_text().replace('valid_from: "2020-01-01T00:00:00Z"',
                                       'valid_from: "2026-03-02T10:30:00Z"')
    bare.clock.warp_to(at("2026-03-02 09:00"))
    _load(bare, late)
    bare.journal([
        event("c", "create", at("2026-03-02 10:00"), project_id=bare.tenant),
        event("r", "resize_finish", at("2026-03-02 12:10"), flavor="x1.huge",
              project_id=bare.tenant),
        event("d", "delete", at("2026-03-02 14:00"), flavor="x1.huge", project_id=bare.tenant),
    ])
    bare.farm(at("2026-03-02 15:00"))
    assert [s.hour for s, _ in bare.charged()] == [10, 11, 12]
    assert _open(bare) == [("instance", "x1.huge", Decimal("1"), "hour")]  # 13:00-14:00


def test_waived_usage_is_never_charged_and_the_waiver_is_audited(bare: Books) -> None:
    _server(bare, "2026-03-02 10:00", "2026-03-02 12:00")
    bare.farm(at("2026-03-02 13:00"))
    with pytest.raises(Invalid) as no_reason:
        unrated.waive(db=bare.db, clock=bare.clock, waiver=Waiver(reason=" ", actor="ops"))
    assert no_reason.value.field == "reason"
    waived = unrated.waive(
        db=bare.db, clock=bare.clock,
        waiver=Waiver(reason="trial before launch", actor="ops", tenant_id=bare.tenant),
    )
    assert [(w.item_type, w.quantity) for w in waived] == [("m1.small", Decimal(2))]
    _load(bare)
    bare.farm(at("2026-03-02 14:00"))
    assert bare.charged() == [] and _open(bare) == []
    with bare.db.read() as conn:
        audit = [(r["action"], r["detail"]) for r in repo.audit_of(conn, bare.tenant)
                 if r["action"] == "unrated_waived"]
    assert audit == [(
        "unrated_waived",
        "instance m1.small in RegionOne: 2 hour from 2026-03-02T10:00:00+00:00 to "
        "2026-03-02T12:00:00+00:00; waived by ops: trial before launch",
    )]


def test_waived_hours_stay_free_when_a_late_event_re_rates_the_resource(bare: Books) -> None:
    late = CATALOG.read_text().replace('valid_from: "2020-01-01T00:00:00Z"',
                                       'valid_from: "2026-03-02T12:00:00Z"')
    bare.clock.warp_to(at("2026-03-02 09:00"))
    _load(bare, late)
    _server(bare, "2026-03-02 10:00")
    bare.farm(at("2026-03-02 14:00"))  # 10:00-12:00 unrated, 12:00 and 13:00 charged
    unrated.waive(db=bare.db, clock=bare.clock, waiver=Waiver(reason="migration", actor="ops"))
    _load(bare, "prices:\n  - {item: instance, item_type: m1.small, payment_type: "
                "per_started_hour, price: {CNY: \"0.40\"}, valid_from: \"2026-03-02T00:00:00Z\"}\n")
    bare.journal([event("d", "delete", at("2026-03-02 13:30"), project_id=bare.tenant)])
    bare.farm(at("2026-03-02 15:00"))  # re-rated from the start: 10:00 and 11:00 stay waived
    assert bare.journal_total() == Decimal("-0.84") and _open(bare) == []


class Bandwidth:
    def __init__(self, usage: list[BandwidthUsage]) -> None:
        self.usage = usage

    def bandwidth(self, *, start: datetime, end: datetime) -> list[BandwidthUsage]:
        return [u for u in self.usage if start <= u.hour_start < end]


def test_metered_usage_without_a_price_is_kept_in_its_unit_and_rated_later(bare: Books) -> None:
    hour = at("2026-03-02 10:00")
    feed = BandwidthFeed(Bandwidth([BandwidthUsage(bare.tenant, "vm-1", hour, 2_500_000_000)]),
                         default_region="RegionOne")
    bare.clock.warp_to(at("2026-03-02 12:00"))
    farmer.farm_pass(db=bare.db, clock=bare.clock, sources=[feed], close_months=False)
    assert _open(bare) == [("bandwidth", "gb_out", Decimal("2.5"), "gb_out")]
    _load(bare)
    bare.farm(at("2026-03-02 12:30"))
    assert bare.charged() == [(hour, Decimal("2.000000"))]  # 2.5 GB x 0.80
    assert _open(bare) == []


def test_charges_are_dated_when_their_period_fell_due(bare: Books) -> None:
    _load(bare)
    _server(bare, "2026-03-02 10:27", "2026-03-02 11:10")
    bare.farm(at("2026-03-05 00:00"))  # the farmer was down for days
    with bare.db.read() as conn:
        dates = sorted(conn.execute(select(billing_ledger.c.created_at)).scalars())
    assert dates == [at("2026-03-02 11:00"), at("2026-03-02 12:00")]


def test_readiness_warns_of_an_empty_catalog_and_of_unrated_usage(bare: Books) -> None:
    warnings = unrated.readiness(db=bare.db)
    assert len(warnings) == 1 and "empty price catalog" in warnings[0]
    _server(bare, "2026-03-02 10:00", "2026-03-02 11:00")
    bare.farm(at("2026-03-02 12:00"))
    assert any("1 piece(s) of unrated usage" in w for w in unrated.readiness(db=bare.db))
    _load(bare)
    bare.farm(at("2026-03-02 12:00") + timedelta(minutes=1))
    assert unrated.readiness(db=bare.db) == []
