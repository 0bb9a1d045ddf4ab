"""What the set-based ordinary hour takes from Python: prices that hold still, and zones whose
hours are UTC's. Pure: the SQL that uses them is checked against the oracle on PostgreSQL
(tests/integration/test_billing_farmer_ordinary.py)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sws.billing.farmer import ordinary_prices, zone_months
from sws.billing.model import Catalog, Product, make_product
from tests.budget import examples
from tests.unit.billing.helpers import at, product

NOW = at("2026-03-31 17:00")


def _regional(region: str, item_type: str = "m1.small", **kwargs: object) -> Product:
    base = product(item_type, **kwargs)  # type: ignore[arg-type]
    return make_product(region=region, item=base.item, item_type=base.item_type,
                        payment_type=base.payment_type, price=base.price.amount,
                        currency=base.price.currency, valid_from=base.valid_from,
                        monthly_cap=base.monthly_cap.amount if base.monthly_cap else None)


def test_utc_and_shanghai_hours_are_utc_hours_and_kolkata_ones_are_not() -> None:
    zones = {z.name: z for z in zone_months(["Asia/Kolkata", "Asia/Shanghai", "UTC", "Nowhere"],
                                            NOW)}
    assert set(zones) == {"Asia/Shanghai", "UTC"}
    assert (zones["UTC"].before, zones["UTC"].after) == ("2026-02", "2026-03")
    shanghai = zones["Asia/Shanghai"]  # 17:00 UTC is 01:00 on April 1st there
    assert (shanghai.month_start, shanghai.before, shanghai.after) == (
        at("2026-03-31 16:00"), "2026-03", "2026-04")


def test_a_summer_time_change_keeps_berlin_on_utc_hours() -> None:
    change = at("2026-03-29 01:00")  # 02:00 CET becomes 03:00 CEST
    assert [z.name for z in zone_months(["Europe/Berlin"], change + timedelta(minutes=30))] == [
        "Europe/Berlin"]


def test_a_region_with_a_daily_price_of_its_own_shadows_the_hourly_star_price() -> None:
    catalog = Catalog((product("m1.tiny", "0.17"),
                       _regional("RegionThree", "m1.tiny", payment_type="daily")))
    rows = {(p.region, p.item_type): p for p in ordinary_prices(catalog, NOW)}
    assert rows[("RegionThree", "m1.tiny")].product is None  # not the star price
    star = rows[("*", "m1.tiny")].product
    assert star is not None and str(star.price.amount) == "0.17"


def test_a_price_that_changed_half_an_hour_ago_holds_only_since_then() -> None:
    old = product("m1.small", "0.42")
    new = _regional("RegionOne", "m1.small", price="0.50", valid_from=NOW - timedelta(minutes=30))
    monthly = product("m1.xlarge", "400", "monthly_prepaid")
    rows = {(p.region, p.item_type): p for p in ordinary_prices(Catalog((old, new, monthly)), NOW)}
    assert {p.since for p in rows.values()} == {NOW - timedelta(minutes=30)}
    assert rows[("RegionOne", "m1.small")].product == new
    assert rows[("*", "m1.xlarge")].product is None


REGIONS = ("*", "RegionOne", "RegionTwo")
TYPES = ("m1.small", "m1.tiny")
PAYMENTS = ("per_started_hour", "per_second", "daily")


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    """Up to six products of two flavors in three regions, starting in the last two days."""
    products = {}
    for _ in range(draw(st.integers(1, 6))):
        region, kind = draw(st.sampled_from(REGIONS)), draw(st.sampled_from(TYPES))
        minutes = draw(st.integers(0, 48 * 60))
        found = _regional(region, kind, payment_type=draw(st.sampled_from(PAYMENTS)),
                          price=str(draw(st.integers(0, 500)) / 100),
                          valid_from=NOW - timedelta(minutes=minutes))
        products[found.id] = found
    return Catalog(tuple(products.values()))


@settings(max_examples=examples(200), deadline=None)
@given(catalogs(), st.integers(0, 48 * 60), st.sampled_from((*REGIONS[1:], "RegionNine")),
       st.sampled_from(TYPES))
def test_the_price_of_a_row_is_what_find_gives_at_every_moment_since_it_held(
    catalog: Catalog, minutes_ago: int, region: str, kind: str
) -> None:
    """The SQL takes a region's own row, else the `*` row, and trusts it from `since` to now."""
    rows = {(p.region, p.item_type): p for p in ordinary_prices(catalog, NOW)}
    row = rows.get((region, kind)) or rows.get(("*", kind))
    moment = NOW - timedelta(minutes=minutes_ago)
    found = catalog.find(region, "instance", kind, "CNY", moment)
    if row is None:
        assert found is None and catalog.find(region, "instance", kind, "CNY", NOW) is None
        return
    if moment < row.since:
        return
    hourly = found is not None and found.payment_type in ("per_started_hour", "per_second")
    assert row.product == (found if hourly else None)

