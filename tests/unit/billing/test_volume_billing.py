"""Volumes and volume snapshots on the bill (issue 16): the worked example on SQLite, the
catalog's volume prices, and the feed registered with the farmer that `sws up` runs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sws.billing.invoices.model import bill_lines
from sws.billing.model import ITEMS, VOLUME, VOLUME_SNAPSHOT, make_product
from sws.db.engine import Database
from sws.errors import Invalid
from sws.money import Money
from tests.unit.billing.helpers import at
from tests.unit.billing.volume_example import bill_a_volume_and_a_snapshot, check_the_volume_example


def test_100_gb_of_ssd_for_3_hours_and_a_snapshot_for_half_a_month(database: Database) -> None:
    check_the_volume_example(bill_a_volume_and_a_snapshot(database))


def test_volumes_are_bill_items_priced_per_unit_of_their_types() -> None:
    assert {VOLUME, VOLUME_SNAPSHOT} <= set(ITEMS)
    ssd = make_product(region="*", item=VOLUME, item_type="local-ssd", payment_type="per_unit",
                       price=Decimal("0.0014"), currency="CNY", valid_from=at("2026-01-01 00:00"))
    assert ssd.unit == "gb_hour"
    with pytest.raises(Invalid) as refused:
        make_product(region="*", item=VOLUME_SNAPSHOT, item_type="gb_hour",
                     payment_type="per_unit", price=Decimal("0.1"), currency="CNY",
                     valid_from=at("2026-01-01 00:00"))
    assert refused.value.field == "item_type"


def test_the_invoice_lists_volumes_and_snapshots_by_category() -> None:
    categories = {"instance": Decimal("1.00"), "volume": Decimal("0.42"),
                  "volume_snapshot": Decimal("6.00"), "object_storage": Decimal(0)}
    assert [(x.description, x.amount) for x in bill_lines(categories, "CNY")] == [
        ("Instances", Money(Decimal("1.00"), "CNY")),
        ("Volumes", Money(Decimal("0.42"), "CNY")),
        ("Volume snapshots", Money(Decimal("6.00"), "CNY")),
    ]
