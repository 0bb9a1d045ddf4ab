"""Rating usage points in bulk prices every point exactly as `price_point` does, one by one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from sws.billing.model import PER_UNIT, Product, make_product
from sws.billing.rating import UsagePoint, price_point, rate_points

from .helpers import at, catalog

MARCH = at("2026-03-01 00:00")


def _product(
    kind: str, price: str, *, region: str = "*", since: str = "2020-01-01 00:00"
) -> Product:
    """A usage price for `kind` ("item:item type")."""
    item, _, item_type = kind.partition(":")
    return make_product(
        region=region,
        item=item,
        item_type=item_type,
        payment_type=PER_UNIT,
        price=Decimal(price),
        currency="CNY",
        valid_from=at(since),
    )


CATALOG = catalog(
    replace(_product("bandwidth:gb_out", "0.80"), valid_until=at("2026-03-01 02:00")),
    _product("bandwidth:gb_out", "0.65", region="RegionTwo"),
    _product("bandwidth:gb_out", "0.90", since="2026-03-01 02:00"),  # a price change at 02:00
    _product("object_storage:gb_month", "0.000001"),
    _product("object_storage:requests_10k", "123456.654321"),
)


def point(kind: str, quantity: Decimal, *, hour: int = 0, region: str = "RegionOne") -> UsagePoint:
    """A point of `kind` ("item:item type") in the given hour of 1 March 2026."""
    item, _, item_type = kind.partition(":")
    return UsagePoint(
        "p-1", "vm-1", region, item, item_type, MARCH + timedelta(hours=hour), quantity
    )


def one_by_one(points: list[UsagePoint]) -> list[tuple[object, Decimal]]:
    return [price_point(CATALOG, p, "CNY") for p in points]


def test_a_gigabyte_out_at_0_80_then_0_90_after_the_price_change_and_an_unpriced_item() -> None:
    points = [
        point("bandwidth:gb_out", Decimal("1.5"), hour=1),
        point("bandwidth:gb_out", Decimal("1.5"), hour=2),  # the new price
        point(
            "bandwidth:gb_out", Decimal("1.5"), hour=1, region="RegionTwo"
        ),  # the region's own price
        point("object_storage:gb_month", Decimal("0.4")),  # half a micro-unit: half-up
        point("cdn:gb_out", Decimal(7)),
    ]
    rated = rate_points(points, CATALOG, "CNY")
    assert rated.amounts == [
        Decimal("1.2"),
        Decimal("1.35"),
        Decimal("0.975"),
        Decimal("0.000000"),
        0,
    ]
    assert rated.amounts[3] == 0 and rated.products[4] is None
    assert rated.pairs(0, 5) == one_by_one(points)


def test_when_most_quantities_differ_the_memo_is_dropped_and_every_point_still_matches() -> None:
    # 5,000 bandwidth hours whose quantities all differ, among instance-like repeats.
    points = [
        point(
            "bandwidth:gb_out" if n % 3 else "object_storage:requests_10k",
            Decimal(n) / 997 if n % 3 else Decimal(1),
            hour=n % 4,
        )
        for n in range(5_000)
    ]
    assert rate_points(points, CATALOG, "CNY").pairs(0, len(points)) == one_by_one(points)


quantities = st.one_of(
    st.sampled_from([Decimal(0), Decimal(1), Decimal("0.5"), Decimal(3600)]),  # repeats
    st.decimals(min_value=0, max_value=10**12, places=9, allow_nan=False, allow_infinity=False),
)
points_st = st.lists(
    st.builds(
        point,
        st.sampled_from(
            [
                "bandwidth:gb_out",
                "object_storage:gb_month",
                "object_storage:requests_10k",
                "cdn:gb_out",
            ]
        ),
        quantities,
        hour=st.integers(0, 4),
        region=st.sampled_from(["RegionOne", "RegionTwo"]),
    ),
    max_size=60,
)


@given(points_st)
def test_rating_in_bulk_equals_pricing_each_point(points: list[UsagePoint]) -> None:
    rated = rate_points(points, CATALOG, "CNY")
    assert len(rated.products) == len(rated.amounts) == len(points)
    assert rated.pairs(0, len(points)) == one_by_one(points)
