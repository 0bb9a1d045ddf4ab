"""An instance's public domain goes with the instance, whoever deletes the instance, and its
charge ends at the instance's delete; a load balancer the tenant made is left alone."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from sws.billing.segments import spans_from_json
from sws.billing.tables import billing_subscriptions
from sws.events import service as events
from tests.api.conftest import Cloud

SAMPLES = Path(__file__).resolve().parents[4] / "shared" / "samples"


def _domain(cloud: Cloud, server_id: str) -> Any:
    created = cloud.client.post(f"/v1/servers/{server_id}/public-domain", json={"port": 22},
                                headers=cloud.acme.headers)
    assert created.status_code == 201, created.text
    return created.json()


def _lb_status(cloud: Cloud, lb_id: str) -> int:
    response = cloud.client.get(f"/v1/loadbalancers/{lb_id}", headers=cloud.acme.headers)
    return int(response.status_code)


def _spans(cloud: Cloud, resource_id: str) -> list[Any]:
    with cloud.container.db.read() as conn:
        text = conn.execute(select(billing_subscriptions.c.spans).where(
            billing_subscriptions.c.resource_id == resource_id)).scalar_one()
    return spans_from_json(text)


def test_deleting_the_instance_deletes_its_public_domain_and_ends_its_charge(
    cloud: Cloud,
) -> None:
    """Launch, make a public domain, delete the instance through the API: the domain is gone
    (API and agents' desired state), and its billed span ends when the instance was deleted,
    not when anyone noticed."""
    server = cloud.boot(cloud.acme)
    domain = _domain(cloud, server["id"])
    cloud.settle(600)  # ten minutes of both being charged
    deleted = cloud.client.delete(f"/v1/servers/{server['id']}", headers=cloud.acme.headers)
    assert deleted.status_code == 204
    cloud.settle()
    assert _lb_status(cloud, domain["id"]) == 404
    url = f"/v1/servers/{server['id']}/public-domain"
    assert cloud.client.get(url, headers=cloud.acme.headers).status_code == 404
    desired = cloud.client.get("/v1/admin/lb-nodes/lb-1/desired-state", headers=cloud.admin)
    assert domain["id"] not in {lb["id"] for lb in desired.json()["loadbalancers"]}

    instance = events.get_resource(db=cloud.container.db, resource_id=server["id"],
                                   resource_type="instance")
    lb = events.get_resource(db=cloud.container.db, resource_id=domain["id"],
                             resource_type="load_balancer")
    assert instance.deleted_at is not None
    assert lb.deleted_at == instance.deleted_at
    cloud.settle()  # the farmer syncs the LB's subscription from the journal
    [span] = _spans(cloud, domain["id"])
    assert span.end == instance.deleted_at
    assert span.end - span.start > timedelta(minutes=10)


def _nova_delete(server_id: str, project_id: str, terminated_at: str) -> dict[str, Any]:
    """Nova's own instance.delete.end (its documentation sample), for an instance deleted
    outside SWS."""
    message = json.loads((SAMPLES / "nova/resolved/instance-delete-end.json").read_text())
    message = copy.deepcopy(message)
    data = message["payload"]["nova_object.data"]
    data.update(uuid=server_id, tenant_id=project_id, terminated_at=terminated_at,
                deleted_at=terminated_at, updated_at=terminated_at)
    message["message_id"] = f"nova-delete-{server_id}"
    message["timestamp"] = terminated_at.replace("T", " ").removesuffix("Z")
    return message


def test_an_instance_deleted_in_nova_loses_its_domain_at_nova_s_delete_time(
    cloud: Cloud,
) -> None:
    """The events path alone (a notification arriving an hour late): the domain goes, and
    its charge ends at Nova's terminated_at, not at the hour the event came in."""
    server = cloud.boot(cloud.acme)
    domain = _domain(cloud, server["id"])
    when = cloud.clock.now() + timedelta(minutes=5)
    cloud.clock.advance(timedelta(hours=1))
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    counts = events.ingest(db=cloud.container.db, clock=cloud.clock, region="RegionOne",
                           envelopes=[_nova_delete(server["id"], cloud.acme.id, stamp)])
    assert counts.accepted == 1
    assert _lb_status(cloud, domain["id"]) == 404
    lb = events.get_resource(db=cloud.container.db, resource_id=domain["id"],
                             resource_type="load_balancer")
    assert lb.deleted_at == when


def test_a_load_balancer_the_tenant_made_keeps_going_without_the_instance(cloud: Cloud) -> None:
    """Only the public domain made for the deleted instance goes: a shared LB with it among
    its members stays (the other member still serves), and so does another instance's
    public domain."""
    doomed, kept = cloud.boot(cloud.acme, "web-1"), cloud.boot(cloud.acme, "web-2")
    members = [{"server_id": doomed["id"], "port": 80}, {"server_id": kept["id"], "port": 80}]
    shared = cloud.client.post("/v1/loadbalancers", headers=cloud.acme.headers,
                               json={"name": "shared", "type": "http", "members": members})
    assert shared.status_code == 201, shared.text
    mine, other = _domain(cloud, doomed["id"]), _domain(cloud, kept["id"])
    assert cloud.client.delete(f"/v1/servers/{doomed['id']}",
                               headers=cloud.acme.headers).status_code == 204
    cloud.settle()
    assert _lb_status(cloud, mine["id"]) == 404
    assert _lb_status(cloud, other["id"]) == 200
    still = cloud.client.get(f"/v1/loadbalancers/{shared.json()['id']}",
                             headers=cloud.acme.headers)
    assert still.status_code == 200
    assert len(still.json()["members"]) == 2
    lb = events.get_resource(db=cloud.container.db, resource_id=shared.json()["id"],
                             resource_type="load_balancer")
    assert lb.deleted_at is None
