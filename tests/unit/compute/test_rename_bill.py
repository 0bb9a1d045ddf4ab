"""A rename reaches the open bill at once, through SWS's rename and through Nova's own
`instance.update`; a closed bill keeps the name it was closed with."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sws.billing import service as billing
from sws.billing.tables import billing_subscriptions
from sws.compute import service as compute
from sws.events import service as events
from tests.api.conftest import Cloud, cloud, database_url

__all__ = ["cloud", "database_url"]

CATALOG = Path(billing.__file__).with_name("prices.yaml")
SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"
MONTH = "2026-03"


def _billed(cloud: Cloud) -> str:
    """A booted web-1 charged for two started hours; its id."""
    billing.load_catalog_text(db=cloud.container.db, clock=cloud.clock, text=CATALOG.read_text())
    body = {"amount": "50", "currency": "CNY", "idempotency_key": "t1"}
    topped = cloud.client.post(f"/v1/admin/billing/{cloud.acme.id}/topups", json=body,
                               headers=cloud.admin)
    assert topped.status_code == 201, topped.text
    server_id = str(cloud.boot(cloud.acme, name="web-1")["id"])
    cloud.settle(3600)
    assert _names(cloud) == ["web-1"]
    return server_id


def _names(cloud: Cloud) -> list[str]:
    bill = cloud.client.get(f"/v1/billing/bills/{MONTH}", headers=cloud.acme.headers).json()
    return [line["resource_name"] for line in bill["lines"] if line["type"] == "instance"]


def _subscription_name(cloud: Cloud, server_id: str) -> str:
    with cloud.container.db.read() as conn:
        return str(conn.execute(select(billing_subscriptions.c.resource_name).where(
            billing_subscriptions.c.resource_id == server_id)).scalar_one())


def test_renaming_through_the_api_renames_the_open_bill_at_once(cloud: Cloud) -> None:
    server_id = _billed(cloud)
    renamed = cloud.client.patch(f"/v1/servers/{server_id}", json={"name": "db-1"},
                                 headers=cloud.acme.headers)
    assert renamed.status_code == 200, renamed.text
    assert _names(cloud) == ["db-1"]  # no tick, no lifecycle event in between
    assert _subscription_name(cloud, server_id) == "db-1"
    state = events.get_resource(db=cloud.container.db, resource_id=server_id,
                                resource_type="instance")
    assert (state.name, state.state) == ("db-1", "active")
    cloud.settle(3600)  # the farmer's next sync and charge keep the new name
    assert _names(cloud) == ["db-1"]
    assert _subscription_name(cloud, server_id) == "db-1"


def test_the_same_name_again_journals_nothing(cloud: Cloud) -> None:
    server_id = _billed(cloud)
    before = events.resource_history(db=cloud.container.db, resource_id=server_id,
                                     resource_type="instance")
    same = cloud.client.patch(f"/v1/servers/{server_id}", json={"name": "web-1"},
                              headers=cloud.acme.headers)
    assert same.status_code == 200
    after = events.resource_history(db=cloud.container.db, resource_id=server_id,
                                    resource_type="instance")
    assert after == before


def _nova_update(server_id: str, project_id: str, old: str, new: str, at: str) -> Any:
    message = json.loads((SAMPLES / "nova/resolved/instance-update.json").read_text())
    message = copy.deepcopy(message)
    data = message["payload"]["nova_object.data"]
    data.update(uuid=server_id, tenant_id=project_id, display_name=new, old_display_name=old,
                updated_at=at, state="active")
    data["flavor"]["nova_object.data"].update(name="m1.small")
    message["message_id"] = f"nova-update-{server_id}-{new}"
    return message


def test_nova_s_instance_update_with_a_new_name_renames_the_open_bill(cloud: Cloud) -> None:
    """A rename made in Nova itself: its instance.update (old_display_name set) is enough."""
    server_id = _billed(cloud)
    at = (cloud.clock.now() - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    message = _nova_update(server_id, cloud.acme.id, "web-1", "cache-1", at)
    counts = events.ingest(db=cloud.container.db, clock=cloud.clock, region="RegionOne",
                           envelopes=[message])
    assert counts.accepted == 1
    assert _names(cloud) == ["cache-1"]
    noise = _nova_update(server_id, cloud.acme.id, None, "cache-1", at)  # type: ignore[arg-type]
    noise["message_id"] = "nova-update-noise"
    assert events.ingest(db=cloud.container.db, clock=cloud.clock, region="RegionOne",
                         envelopes=[noise]).ignored == 1


def test_a_closed_bill_keeps_the_name_it_was_closed_with(cloud: Cloud) -> None:
    server_id = _billed(cloud)
    cloud.clock.advance(timedelta(days=31))
    cloud.container.tick()
    billing.close_month(db=cloud.container.db, clock=cloud.clock, tenant_id=cloud.acme.id,
                        month=MONTH)
    driver = next(iter(cloud.container.drivers().values()))  # the API's tokens have expired
    compute.rename(driver, cloud.acme.id, server_id, "db-1", db=cloud.container.db,
                   clock=cloud.clock)
    db = cloud.container.db
    march = billing.get_bill(db=db, tenant_id=cloud.acme.id, month=MONTH)
    april = billing.get_bill(db=db, tenant_id=cloud.acme.id, month="2026-04")
    assert march.closed
    assert {x.resource_name for x in march.lines if x.type == "instance"} == {"web-1"}
    assert {x.resource_name for x in april.lines if x.type == "instance"} == {"db-1"}
