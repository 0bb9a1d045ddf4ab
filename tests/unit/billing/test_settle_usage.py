"""`sws billing settle` rates metered usage too: object storage is on the bill without `sws up`.

Worked example on the simulated store: a container holds 8 MB from three hours ago and is read
twice; settling to now bills its GB-months, requests and GB out for the hours that have ended an
hour before, as the running farmer would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sws import bootstrap
from sws.billing.periods import hour_start
from sws.clock import SimulatedClock
from sws.config import Settings
from sws.db.migrate import upgrade
from sws.identity import service as identity
from tests.unit.billing.conftest import CATALOG
from tests.unit.billing.test_cli import _invoke, home  # noqa: F401 (home: autouse SWS_HOME)

MB8 = 8_000_000


def _store_and_read(start: datetime) -> None:
    """acme keeps 8 MB in `photos` from `start`, and reads it twice an hour later."""
    clock = SimulatedClock(start)
    container = bootstrap.build(Settings(), clock=clock)
    upgrade(container.db.engine)
    tenant = identity.create_tenant(db=container.db, clock=clock, name="acme")
    store = container.object_store()
    store.create_container(tenant.id, "photos")
    store.put_object(
        tenant.id, "photos", "big", b"x" * MB8, content_type="text/plain", client_ip="198.51.100.7"
    )
    clock.advance(timedelta(hours=1))
    for _ in range(2):
        store.get_object(tenant.id, "photos", "big", client_ip="198.51.100.7")
    container.db.engine.dispose()


def test_settle_bills_object_storage_that_is_due() -> None:
    now = datetime.now(UTC)
    start = hour_start(now, UTC) - timedelta(hours=3)
    if (start + timedelta(hours=2)).month != start.month:  # keep both rated hours in one bill
        start -= timedelta(hours=2)
    _invoke("catalog", "load", str(CATALOG))
    _store_and_read(start)
    output = _invoke("billing", "settle", "--until", now.isoformat())
    assert "usage 0" not in output, output
    bill = json.loads(_invoke("billing", "bill", "acme", start.strftime("%Y-%m"), "--json"))
    lines = {line["item_type"]: line for line in bill["lines"] if line["type"] == "object_storage"}
    assert lines["requests_10k"]["quantity"] == "0.000300"  # the PUT and two GETs
    assert lines["gb_out"]["quantity"] == "0.016000"  # two reads of 8 MB
    assert Decimal(lines["gb_month"]["quantity"]) > 0
    again = _invoke("billing", "settle", "--until", now.isoformat())
    assert "usage 0" in again  # each hour is rated once


def _keep_a_volume(start: datetime) -> None:
    """acme creates a 10 GB local-ssd volume in the simulated region at `start`."""
    from sws.drivers.volumes import VolumeCreate

    clock = SimulatedClock(start)
    container = bootstrap.build(Settings(), clock=clock)
    upgrade(container.db.engine)
    tenant = identity.create_tenant(db=container.db, clock=clock, name="acme")
    container.block_storage().create_volume(
        tenant.id, VolumeCreate(name="db", size_gb=10, volume_type="local-ssd"))
    container.regions[container.default_region].bus.flush()  # the events reach the journal
    container.db.engine.dispose()


def test_settle_bills_a_volume_from_the_feed_sws_up_registers() -> None:
    now = datetime.now(UTC)
    start = hour_start(now, UTC) - timedelta(hours=3)
    if (start + timedelta(hours=2)).month != start.month:  # keep both rated hours in one bill
        start -= timedelta(hours=2)
    _invoke("catalog", "load", str(CATALOG))
    _keep_a_volume(start)
    output = _invoke("billing", "settle", "--until", now.isoformat())
    assert "usage 0" not in output, output
    bill = json.loads(_invoke("billing", "bill", "acme", start.strftime("%Y-%m"), "--json"))
    (line,) = [line for line in bill["lines"] if line["type"] == "volume"]
    # Whole hours since the create, each 10 GB-hours at 0.0014 CNY: 0.014 a full hour.
    hours = Decimal(line["quantity"]) / 10
    assert (line["item_type"], line["unit"], hours) == ("local-ssd", "gb_hour", hours.to_integral())
    assert hours >= 2
    assert Decimal(bill["volume"]) == (hours * Decimal("0.014")).quantize(Decimal("0.01"))
    assert "usage 0" in _invoke("billing", "settle", "--until", now.isoformat())
