"""The farmer on a real (SQLite) database: worked examples, late events, coupons, close."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from sws.billing import farmer
from sws.billing import service as billing
from sws.billing.ports import BandwidthFeed, BandwidthUsage, ObjectStorageFeed, StorageUsage
from sws.errors import Conflict, Invalid, Unavailable
from sws.money import Money
from tests.unit.billing.conftest import Books
from tests.unit.billing.helpers import at, event


def _life(
    books: Books,
    start: str,
    end: str | None = None,
    flavor: str = "m1.small",
    resource: str = "vm-1",
) -> None:
    events = [
        event(
            f"{resource}-c",
            "create",
            at(start),
            flavor=flavor,
            resource_id=resource,
            project_id=books.tenant,
        )
    ]
    if end:
        events.append(
            event(
                f"{resource}-d",
                "delete",
                at(end),
                flavor=flavor,
                resource_id=resource,
                project_id=books.tenant,
            )
        )
    books.journal(events)


def test_1_created_1027_deleted_1453_costs_2_10_in_the_ledger_and_the_bill(books: Books) -> None:
    _life(books, "2026-03-02 10:27", "2026-03-02 14:53")
    books.farm(at("2026-03-02 16:00"))
    assert [a for _, a in books.charged()] == [Decimal("0.42")] * 5
    assert books.journal_total() == Decimal("-2.10")
    bill = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-03")
    assert [(line.quantity, line.total) for line in bill.lines] == [(Decimal(5), Decimal("2.10"))]
    assert bill.total == Decimal("2.10") and bill.category("instance") == Decimal("2.10")


def test_4_the_hour_2327_to_0027_is_billed_in_the_month_of_each_period(books: Books) -> None:
    _life(books, "2026-01-31 23:27", "2026-02-01 00:27")
    books.farm(at("2026-02-01 03:00"))
    january = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-01")
    february = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-02")
    assert (january.total, february.total) == (Decimal("0.42"), Decimal("0.42"))


def test_5_five_hours_down_then_exactly_the_missed_periods_once_each(books: Books) -> None:
    _life(books, "2026-03-02 08:00")
    books.farm(at("2026-03-02 10:00"))
    assert len(books.charged()) == 2
    report = books.farm(at("2026-03-02 15:00"))  # the farmer was down 10:00 -> 15:00
    assert report.charges == 5
    assert [s.hour for s, _ in books.charged()] == [8, 9, 10, 11, 12, 13, 14]
    assert books.farm().charges == 0  # a replay charges nothing
    assert billing.check(db=books.db).ok


def test_nothing_is_charged_for_a_failed_create_or_an_unscheduled_delete(books: Books) -> None:
    books.journal(
        [
            event(
                "e1",
                "create_error",
                at("2026-03-02 10:00"),
                resource_id="vm-err",
                project_id=books.tenant,
            ),
            event(
                "e2",
                "delete_not_scheduled",
                at("2026-03-02 10:01"),
                resource_id="vm-ns",
                project_id=books.tenant,
            ),
        ]
    )
    books.farm(at("2026-03-03 00:00"))
    assert books.charged() == [] and books.journal_total() == 0


def test_a_delete_that_arrives_before_its_create_bills_the_same(books: Books) -> None:
    books.journal(
        [event("d", "delete", at("2026-03-02 14:53"), resource_id="vm-1", project_id=books.tenant)]
    )
    books.farm(at("2026-03-02 12:00"))
    books.journal(
        [event("c", "create", at("2026-03-02 10:27"), resource_id="vm-1", project_id=books.tenant)]
    )
    books.farm(at("2026-03-02 16:00"))
    assert books.journal_total() == Decimal("-2.10")


def test_a_late_delete_refunds_the_hours_charged_after_it(books: Books) -> None:
    _life(books, "2026-03-02 10:27")
    books.farm(at("2026-03-02 17:00"))  # 10..16: 7 hours charged, the delete not yet known
    books.journal(
        [
            event(
                "late",
                "delete",
                at("2026-03-02 14:53"),
                resource_id="vm-1",
                project_id=books.tenant,
            )
        ]
    )
    report = books.farm(at("2026-03-02 17:05"))
    assert report.adjustments == 2 and books.journal_total() == Decimal("-2.10")
    bill = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-03")
    assert bill.total == Decimal("2.10")
    assert books.farm(at("2026-03-02 18:00")).adjustments == 0  # converged
    assert billing.check(db=books.db).ok


def test_shelved_offloaded_time_is_free_and_stopped_time_is_charged(books: Books) -> None:
    t = books.tenant
    books.journal(
        [
            event("c", "create", at("2026-03-02 08:00"), project_id=t),
            event("p", "power_off", at("2026-03-02 09:00"), project_id=t),  # stopped: charged
            event("o", "shelve_offload", at("2026-03-02 10:00"), project_id=t),  # offloaded: free
            event("u", "unshelve", at("2026-03-02 13:30"), project_id=t),
            event("d", "delete", at("2026-03-02 14:10"), project_id=t),
        ]
    )
    books.farm(at("2026-03-02 16:00"))
    assert [s.hour for s, _ in books.charged()] == [8, 9, 13, 14]


def test_coupons_are_spent_before_cash_soonest_expiry_first(books: Books) -> None:
    billing.top_up(
        db=books.db,
        clock=books.clock,
        tenant_id=books.tenant,
        amount=Money.of("10", "CNY"),
        idempotency_key="t1",
    )
    late = billing.grant_coupon(
        db=books.db,
        clock=books.clock,
        tenant_id=books.tenant,
        amount=Money.of("1.00", "CNY"),
        expires_at=at("2026-12-31 00:00"),
    )
    soon = billing.grant_coupon(
        db=books.db,
        clock=books.clock,
        tenant_id=books.tenant,
        amount=Money.of("0.50", "CNY"),
        expires_at=at("2026-06-30 00:00"),
        items=["instance"],
        idempotency_key="soon",
    )
    lb_only = billing.grant_coupon(
        db=books.db,
        clock=books.clock,
        tenant_id=books.tenant,
        amount=Money.of("5", "CNY"),
        expires_at=at("2026-06-30 00:00"),
        items=["load_balancer"],
        idempotency_key="lb",
    )
    _life(books, "2026-03-02 10:00", "2026-03-02 15:00")  # 5 x 0.42 = 2.10
    books.farm(at("2026-03-02 16:00"))
    account = billing.get_account(db=books.db, clock=books.clock, tenant_id=books.tenant)
    left = {c.id: c.remaining.amount for c in account.coupons}
    assert left == {soon.id: Decimal(0), late.id: Decimal(0), lb_only.id: Decimal(5)}
    assert account.balance == Money.of("9.40", "CNY")  # 2.10 - 0.50 - 1.00 from cash
    assert billing.check(db=books.db).ok


def test_a_closed_month_never_changes_and_late_events_adjust_the_next(books: Books) -> None:
    _life(books, "2026-01-31 20:00")
    books.farm(at("2026-02-01 02:00"))
    closed = billing.close_month(db=books.db, clock=books.clock, month="2026-01")
    assert closed == [books.tenant]
    january = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-01")
    assert january.closed and january.total == Decimal("1.68")
    books.journal([event("late", "delete", at("2026-01-31 21:30"), project_id=books.tenant)])
    books.farm(at("2026-02-01 03:00"))
    assert billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-01") == january
    february = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-02")
    adjustments = [line for line in february.lines if line.kind == "adjustment"]
    # 22:00 and 23:00 (January, closed) and 00:00, 01:00 (February) are refunded in February
    assert sum(line.total for line in adjustments) == Decimal("-1.68")
    assert billing.check(db=books.db).ok


def test_bad_months_are_refused_naming_the_month(books: Books) -> None:
    for month in ("2026-13", "2026-00", "26-01", "2026-1"):
        with pytest.raises(Invalid) as caught:
            billing.get_bill(db=books.db, tenant_id=books.tenant, month=month)
        assert caught.value.field == "month"
    billing.get_account(db=books.db, clock=books.clock, tenant_id=books.tenant)
    with pytest.raises(Conflict):
        billing.close_month(db=books.db, clock=books.clock, month="2026-01")  # not over yet


class FakeBandwidth:
    def __init__(self, usage: list[BandwidthUsage]) -> None:
        self.usage = usage

    def bandwidth(self, *, start, end):  # type: ignore[no-untyped-def]
        return [u for u in self.usage if start <= u.hour_start < end]


def test_bandwidth_from_the_port_is_rated_per_gb_once(books: Books) -> None:
    hour = at("2026-03-02 10:00")
    fake = FakeBandwidth(
        [
            BandwidthUsage(books.tenant, "vm-1", hour, 2_500_000_000),
            BandwidthUsage(books.tenant, "vm-1", hour + timedelta(hours=1), 1),
        ]
    )
    feed = BandwidthFeed(fake, default_region="RegionOne")
    books.clock.warp_to(at("2026-03-02 13:00"))
    for _ in range(2):
        farmer.farm_pass(db=books.db, clock=books.clock, sources=[feed], close_months=False)
    assert [a for _, a in books.charged()] == [Decimal("2.000000"), Decimal("0.000000")]
    bill = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-03")
    assert bill.category("bandwidth") == Decimal("2.00")


class FakeStorage:
    def __init__(self, usage: list[StorageUsage]) -> None:
        self.usage = usage

    def storage(self, *, start, end):  # type: ignore[no-untyped-def]
        return [u for u in self.usage if start <= u.hour_start < end]


def test_object_storage_egress_is_rated_per_gb_out_on_the_container(books: Books) -> None:
    hour = at("2026-03-02 10:00")
    served = StorageUsage(  # an hour of GETs: 2.5 GB out, 20,000 requests, nothing kept
        books.tenant, "photos", hour, gb_month=Decimal(0), requests=20_000,
        bytes_out=2_500_000_000,
    )
    feed = ObjectStorageFeed(FakeStorage([served]), default_region="RegionOne")
    points = {p.item_type: p for p in feed.points(start=hour, end=hour + timedelta(hours=1))}
    assert points["gb_out"].quantity == Decimal("2.5")
    assert (points["gb_out"].item, points["gb_out"].resource_id) == ("object_storage", "photos")
    books.clock.warp_to(at("2026-03-02 12:00"))
    for _ in range(2):
        farmer.farm_pass(db=books.db, clock=books.clock, sources=[feed], close_months=False)
    # 2.5 GB x 0.80 = 2.00 and 2 x 10k requests x 0.01 = 0.02; the zero GB-month is not charged.
    assert [a for _, a in books.charged()] == [Decimal("0.020000"), Decimal("2.000000")]
    bill = billing.get_bill(db=books.db, tenant_id=books.tenant, month="2026-03")
    egress = next(line for line in bill.lines if line.item_type == "gb_out")
    assert (egress.type, egress.resource_name, egress.unit_price, egress.total) == (
        "object_storage", "photos", Decimal("0.80"), Decimal("2.00")
    )
    assert egress.quantity == Decimal("2.5")
    assert bill.category("object_storage") == Decimal("2.02")
    assert bill.category("bandwidth") == 0  # egress of a container is not instance bandwidth


class DownStorage(FakeStorage):
    """Object storage whose usage Redis is down, until it comes back."""

    down = True

    def storage(self, *, start, end):  # type: ignore[no-untyped-def]
        if self.down:
            raise Unavailable("object storage usage cannot be read: connection refused")
        return super().storage(start=start, end=end)


def test_usage_that_cannot_be_read_waits_and_the_rest_of_the_pass_goes_on(books: Books) -> None:
    hour = at("2026-03-02 10:00")
    storage = DownStorage([StorageUsage(books.tenant, "photos", hour, gb_month=Decimal(0),
                                        requests=10_000)])
    bandwidth = FakeBandwidth([BandwidthUsage(books.tenant, "vm-1", hour, 1_000_000_000)])
    feeds = [ObjectStorageFeed(storage, default_region="RegionOne"),
             BandwidthFeed(bandwidth, default_region="RegionOne")]
    books.clock.warp_to(at("2026-03-02 12:00"))
    report = farmer.farm_pass(db=books.db, clock=books.clock, sources=feeds, close_months=False)
    assert report.usage == 1  # the bandwidth hour; storage waits for its Redis
    storage.down = False
    farmer.farm_pass(db=books.db, clock=books.clock, sources=feeds, close_months=False)
    assert sorted(a for _, a in books.charged()) == [Decimal("0.010000"), Decimal("0.800000")]
