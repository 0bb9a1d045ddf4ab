"""Loading a catalog file is all or nothing: a file with any bad part writes nothing at all."""

from __future__ import annotations

import pytest

from sws.billing import service as billing
from sws.billing.model import BillingPolicy
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid
from tests.unit.billing.helpers import at

GOOD_PRICES = """
valid_from: "2026-01-01T00:00:00Z"
prices:
  - {item: instance, item_type: m1.small, payment_type: per_started_hour, price: {CNY: "0.42"}}
"""


@pytest.mark.parametrize(("settings", "field"), [
    ("{grace_hours: soon}", "settings.grace_hours"),
    ("{close_delay_hours: nan}", "settings.close_delay_hours"),
    ("{low_balance_threshold: lots}", "settings.low_balance_threshold"),
    ("{grace_hours: -5}", "settings.grace_hours"),
    ("[grace_hours]", "settings"),
])
def test_a_bad_setting_loads_no_price_either(
    database: Database, settings: str, field: str
) -> None:
    clock = SimulatedClock(at("2026-01-01 00:00"))
    text = GOOD_PRICES + f"settings: {settings}\n"
    with pytest.raises(Invalid) as refused:
        billing.load_catalog_text(db=database, clock=clock, text=text)
    assert refused.value.field == field
    assert billing.list_prices(db=database) == []
    assert billing.load_policy(db=database)[0] == BillingPolicy()


def test_prices_and_settings_of_a_good_file_land_together(database: Database) -> None:
    clock = SimulatedClock(at("2026-01-01 00:00"))
    text = GOOD_PRICES + 'settings: {grace_hours: 24, low_balance_threshold: "5"}\n'
    assert billing.load_catalog_text(db=database, clock=clock, text=text) == (1, 1)
    policy, _ = billing.load_policy(db=database)
    assert policy.grace.total_seconds() == 24 * 3600
    assert str(policy.low_balance_threshold) == "5"
    assert [p.item_type for p in billing.list_prices(db=database)] == ["m1.small"]
