"""CDN traffic as values: access-log lines counted per distribution and client, counts summed
per ISP view without losing a request or a byte, and the catalog's price for a view."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws.billing.model import Catalog, Product, base_item_type, check_item
from sws.cdn.traffic_model import ClientTraffic, Counts, TrafficReport, by_view, isp_of
from sws.errors import Invalid
from sws.money import Money
from sws_agent.cdn._traffic import count_lines

VIEWS = {"telecom": ["10.1.0.0/16"], "unicom": ["10.2.0.0/16"], "campus": ["10.1.9.0/24"]}
SINCE = datetime(2020, 1, 1, tzinfo=UTC)


def test_log_lines_become_hits_and_misses_per_distribution_and_client() -> None:
    lines = [
        "d1 10.1.0.5 miss 1200",
        "d1 10.1.0.5 hit 1100",
        "d1 10.1.0.5 hit 1100",
        "d1 10.2.0.7 pass 300",  # not cacheable: served from the origin, a miss
        " 10.2.0.7 synth 480",  # no distribution (an unknown host name): not counted
        "d2 10.2.0.7 hit 50",
        "garbled",
    ]
    assert count_lines(lines) == (
        {"distribution": "d1", "client": "10.1.0.5", "hit_requests": 2, "miss_requests": 1,
         "hit_bytes": 2200, "miss_bytes": 1200},
        {"distribution": "d1", "client": "10.2.0.7", "hit_requests": 0, "miss_requests": 1,
         "hit_bytes": 0, "miss_bytes": 300},
        {"distribution": "d2", "client": "10.2.0.7", "hit_requests": 1, "miss_requests": 0,
         "hit_bytes": 50, "miss_bytes": 0},
    )


def test_a_client_belongs_to_the_longest_matching_view() -> None:
    assert isp_of("10.1.9.3", VIEWS) == "campus"
    assert isp_of("10.1.8.3", VIEWS) == "telecom"
    assert isp_of("192.0.2.1", VIEWS) == ""
    assert isp_of("not an address", VIEWS) == ""


def test_the_hit_ratio_is_the_share_of_requests_from_the_cache() -> None:
    assert Counts(hit_requests=3, miss_requests=1).hit_ratio == 0.75
    assert Counts().hit_ratio is None


def test_a_report_is_a_window_with_counts_never_negative() -> None:
    for start, end in ((5, 5), (-1, 3)):
        with pytest.raises(Invalid) as refused:
            TrafficReport("edge-1", "s", start, end, ()).check()
        assert refused.value.field == "start"
    with pytest.raises(Invalid):
        TrafficReport("edge-1", "s", 0, 1, (ClientTraffic("d1", "10.1.0.1", Counts(-1)),)).check()


counts = st.builds(Counts, *(st.integers(0, 10**12) for _ in range(4)))
rows = st.lists(st.builds(ClientTraffic, st.sampled_from(["d1", "d2"]),
                          st.sampled_from(["10.1.9.1", "10.1.0.1", "10.2.0.1", "192.0.2.9"]),
                          counts), max_size=30)


@given(rows)
def test_summing_by_view_keeps_every_request_and_byte(found: list[ClientTraffic]) -> None:
    summed = by_view(TrafficReport("edge-1", "s", 0, 1, tuple(found)), VIEWS)
    total = sum(summed.values(), Counts())
    assert total == sum((r.counts for r in found), Counts())
    for dist in ("d1", "d2"):
        mine = sum((c for (d, _), c in summed.items() if d == dist), Counts())
        assert mine == sum((r.counts for r in found if r.distribution_id == dist), Counts())


def test_a_view_pays_its_own_price_else_the_plain_one() -> None:
    def price(item_type: str, amount: str) -> Product:
        return Product("*", "cdn", item_type, "per_unit", Money(Decimal(amount), "CNY"), SINCE)

    catalog = Catalog((price("gb_out", "0.50"), price("gb_out.telecom", "0.30")))
    at = datetime(2026, 3, 2, tzinfo=UTC)
    telecom = catalog.find("RegionOne", "cdn", "gb_out.telecom", "CNY", at)
    unicom = catalog.find("RegionOne", "cdn", "gb_out.unicom", "CNY", at)
    assert telecom is not None and telecom.price.amount == Decimal("0.30")
    assert unicom is not None and unicom.price.amount == Decimal("0.50")
    assert catalog.find("RegionOne", "bandwidth", "gb_out.telecom", "CNY", at) is None
    assert base_item_type("cdn", "gb_out.china-mobile") == "gb_out"
    check_item("cdn", "gb_out.telecom")
    with pytest.raises(Invalid) as refused:
        check_item("cdn", "gb_out.")
    assert refused.value.field == "item_type"
