"""Worked examples of the rating rules, read like accounting exercises (pure, no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sws.billing.model import DEFAULT_POLICIES, INSTANCE
from sws.billing.periods import anniversary, anniversary_period, hour_start, month_key
from sws.billing.rating import CapState, farm
from sws.billing.segments import Span, derive_spans
from tests.unit.billing.helpers import at, catalog, event, plan, product

SMALL = product("m1.small", "0.42")
MEDIUM = product("m1.medium", "1.67")
POLICY = DEFAULT_POLICIES[INSTANCE]


def test_1_an_instance_from_1027_to_1453_pays_five_started_hours_2_10() -> None:
    spans = derive_spans(
        [
            event("a", "create", at("2026-03-02 10:27")),
            event("b", "delete", at("2026-03-02 14:53")),
        ],
        POLICY,
    )
    result = farm(
        plan(*spans), catalog(SMALL), cursor=None, now=at("2026-03-03 00:00"), cap=CapState()
    )
    assert [d.period_start.hour for d in result.drafts] == [10, 11, 12, 13, 14]
    assert sum(d.amount for d in result.drafts) == Decimal("2.10")
    assert result.due_at is None  # nothing more will ever be due


# Worked example 2 (sixteen charges of 2.40 make 38.40; no float enters Money) is in
# tests/unit/test_money.py.


def test_3_a_monthly_subscription_from_jan_31_renews_feb_29_mar_31_apr_30() -> None:
    anchor = datetime(2028, 1, 31, 9, 30, tzinfo=UTC)
    utc = ZoneInfo("UTC")
    renewals = [anniversary(anchor, n, utc).date().isoformat() for n in range(4)]
    assert renewals == ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"]
    monthly = product("m1.xlarge", "400", "monthly_prepaid")
    result = farm(
        plan(Span(anchor, None, "m1.xlarge")),
        catalog(monthly),
        cursor=None,
        now=datetime(2028, 4, 30, 9, 30, tzinfo=UTC),
        cap=CapState(),
    )
    starts = [d.period_start.date().isoformat() for d in result.drafts]
    assert starts == renewals  # prepaid: each period is charged as it begins
    assert sum(d.amount for d in result.drafts) == Decimal("1600")
    assert result.due_at == datetime(2028, 5, 31, 9, 30, tzinfo=UTC)


def test_4_an_hour_across_a_month_boundary_lands_in_the_month_of_its_period() -> None:
    spans = [Span(at("2026-01-31 23:27"), at("2026-02-01 00:27"), "m1.small")]
    result = farm(
        plan(*spans), catalog(SMALL), cursor=None, now=at("2026-02-01 02:00"), cap=CapState()
    )
    utc = ZoneInfo("UTC")
    assert [month_key(d.period_start, utc) for d in result.drafts] == ["2026-01", "2026-02"]
    shanghai = ZoneInfo("Asia/Shanghai")  # 23:27 UTC is 07:27 on Feb 1 in Shanghai
    assert month_key(result.drafts[0].period_start, shanghai) == "2026-02"


def test_5_a_farmer_down_five_hours_catches_up_exactly_the_missed_periods() -> None:
    spans = (Span(at("2026-03-02 08:00"), None, "m1.small"),)
    first = farm(
        plan(*spans), catalog(SMALL), cursor=None, now=at("2026-03-02 10:00"), cap=CapState()
    )
    assert len(first.drafts) == 2 and first.cursor == at("2026-03-02 10:00")
    later = farm(
        plan(*spans), catalog(SMALL), cursor=first.cursor, now=at("2026-03-02 15:00"), cap=first.cap
    )
    assert [d.period_start.hour for d in later.drafts] == [10, 11, 12, 13, 14]
    again = farm(
        plan(*spans), catalog(SMALL), cursor=later.cursor, now=at("2026-03-02 15:00"), cap=later.cap
    )
    assert again.drafts == ()


def test_6_resize_at_1210_per_started_hour_switches_at_the_next_boundary() -> None:
    spans = derive_spans(
        [
            event("a", "create", at("2026-03-02 10:27")),
            event("b", "resize_finish", at("2026-03-02 12:10"), flavor="m1.medium"),
            event("c", "delete", at("2026-03-02 14:00")),
        ],
        POLICY,
    )
    result = farm(
        plan(*spans), catalog(SMALL, MEDIUM), cursor=None, now=at("2026-03-03"), cap=CapState()
    )
    assert [(d.period_start.hour, d.amount) for d in result.drafts] == [
        (10, Decimal("0.42")),
        (11, Decimal("0.42")),
        (12, Decimal("0.42")),
        (13, Decimal("1.67")),
    ]


def test_6_resize_at_1210_per_second_splits_the_hour_pro_rata() -> None:
    small = product("m1.small", "0.42", "per_second")
    medium = product("m1.medium", "1.67", "per_second")
    spans = (
        Span(at("2026-03-02 12:00"), at("2026-03-02 12:10"), "m1.small"),
        Span(at("2026-03-02 12:10"), at("2026-03-02 13:00"), "m1.medium"),
    )
    result = farm(
        plan(*spans),
        catalog(small, medium),
        cursor=None,
        now=at("2026-03-02 13:00"),
        cap=CapState(),
    )
    assert [d.amount for d in result.drafts] == [Decimal("0.070000"), Decimal("1.391667")]
    assert [d.quantity for d in result.drafts] == [Decimal("0.166667"), Decimal("0.833333")]


def test_the_monthly_cap_stops_an_hourly_price_at_its_monthly_price() -> None:
    capped = product("m1.small", "0.42", monthly_cap="5.00")
    spans = (Span(at("2026-03-31 10:00"), None, "m1.small"),)
    result = farm(
        plan(*spans), catalog(capped), cursor=None, now=at("2026-04-01 02:00"), cap=CapState()
    )
    march = [d.amount for d in result.drafts if d.period_start.month == 3]
    april = [d.amount for d in result.drafts if d.period_start.month == 4]
    assert sum(march) == Decimal("5.00") and march[-1] == 0
    assert april == [Decimal("0.42"), Decimal("0.42")]


def test_hours_align_to_the_tenants_clock() -> None:
    kolkata = ZoneInfo("Asia/Kolkata")  # +05:30: local hours start at :30 UTC
    assert hour_start(at("2026-03-02 10:27"), kolkata) == at("2026-03-02 09:30")


def test_a_price_change_applies_from_its_start() -> None:
    old = product("m1.small", "0.42")
    new = product("m1.small", "0.50", valid_from=at("2026-03-02 12:00"))
    cat = catalog(
        old.__class__(
            **{**{s: getattr(old, s) for s in old.__slots__}, "valid_until": new.valid_from}
        ),
        new,
    )
    spans = (Span(at("2026-03-02 10:00"), at("2026-03-02 14:00"), "m1.small"),)
    result = farm(plan(*spans), cat, cursor=None, now=at("2026-03-03"), cap=CapState())
    assert [d.amount for d in result.drafts] == [Decimal("0.42")] * 2 + [Decimal("0.50")] * 2


def test_anniversary_period_finds_the_period_holding_a_moment() -> None:
    utc = ZoneInfo("UTC")
    anchor = datetime(2028, 1, 31, tzinfo=UTC)
    assert anniversary_period(anchor, datetime(2028, 3, 15, tzinfo=UTC), utc) == (
        datetime(2028, 2, 29, tzinfo=UTC),
        datetime(2028, 3, 31, tzinfo=UTC),
    )
