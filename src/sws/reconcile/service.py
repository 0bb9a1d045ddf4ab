"""Compare what SWS believes exists with what the cloud lists, and repair the difference.

A missed `instance.delete.end` would leave a server charged forever. Each pass:
- lists the region's servers (as admin, every project) and, for every instance SWS still holds
  open that Nova no longer lists, asks Nova for the deleted record (`deleted=True`) and closes
  the resource at Nova's `terminated_at`; if Nova no longer has it, at the time this pass first
  saw it missing (now);
- does the same for floating IPs against Neutron (which keeps no deleted records: "now");
- opens a server Nova lists as running but SWS never heard of (a missed `create.end`) at its
  `launched_at`.

Every repair is a synthetic notification in Nova's/Neutron's own shape, published by
`sws.reconciler` with a deterministic message_id (`sws-reconcile:<type>:<id>:<action>`), and
goes through `events.service.ingest` like any other: a second pass, or two reconcilers at
once, repair once. The journal row (event_type, message_id prefix) and a WARNING log line are
the audit trail of what the reconciler changed and why. Under a `guard` (the region's
reconciler lease, `sws worker reconcile`) each repair is applied in a transaction that first
checks this process still leads.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.nova_payloads import (
    ACTION_PAYLOAD,
    FLAVOR_PAYLOAD,
    nova_object,
    oslo_timestamp,
)
from sws.events import service as events
from sws.events.model import FLOATING_IP, INSTANCE, ResourceState
from sws.leases.service import Guard

log = logging.getLogger("sws.reconcile")
PUBLISHER = "sws.reconciler"
PAGE = 1000


class RealCloud(Protocol):
    """What the reconciler reads from a region (the OpenStack driver provides it)."""

    def live_servers(self) -> Sequence[Any]: ...
    def deleted_servers(self, changes_since: datetime) -> Sequence[Any]: ...
    def all_floating_ip_ids(self) -> set[str]: ...


@dataclass
class ReconcileReport:
    closed: list[str] = field(default_factory=list)
    opened: list[str] = field(default_factory=list)


def reconcile_once(
    *, db: Database, clock: Clock, cloud: RealCloud, region: str, guard: Guard | None = None
) -> ReconcileReport:
    report = ReconcileReport()
    now = clock.now()
    publish = functools.partial(_publish, db, clock, region, guard)
    live = {s.id: s for s in cloud.live_servers()}
    instances = _open(db, INSTANCE, region, include_deleted=True)
    missing = [r for r in instances if r.deleted_at is None and r.resource_id not in live]
    if missing:
        since = min((r.created_at or now) for r in missing) - timedelta(minutes=5)
        deleted = {s.id: s for s in cloud.deleted_servers(since)}
        for state in missing:
            when = _deleted_at(deleted.get(state.resource_id)) or now
            publish(_instance_delete(state, when))
            report.closed.append(state.resource_id)
    known = {r.resource_id for r in instances}
    for server in live.values():
        launched = _time(server.launched_at)
        if server.id not in known and launched is not None:
            publish(_instance_create(server, launched))
            report.opened.append(server.id)
    fips = cloud.all_floating_ip_ids()
    for state in _open(db, FLOATING_IP, region):
        if state.resource_id not in fips:
            publish(_fip_delete(state, now))
            report.closed.append(state.resource_id)
    return report


def _open(
    db: Database, kind: str, region: str, include_deleted: bool = False
) -> list[ResourceState]:
    found: list[ResourceState] = []
    offset = 0
    while True:
        page = events.list_resources(
            db=db, project_id=None, resource_type=kind, include_deleted=include_deleted,
            limit=PAGE, offset=offset,
        )
        found += [s for s in page if s.region in (region, None)]
        if len(page) < PAGE:
            return found
        offset += PAGE


def _publish(
    db: Database, clock: Clock, region: str, guard: Guard | None, message: dict[str, Any]
) -> None:
    log.warning("reconcile: %s %s at %s (%s)", message["event_type"],
                message["message_id"], message["timestamp"], PUBLISHER)
    envelope = {"oslo.version": "2.0", "oslo.message": json.dumps(message)}
    if guard is None:
        events.ingest(db=db, envelopes=[envelope], clock=clock, region=region,
                      source="reconciler")
        return
    with db.begin() as conn:
        guard.check(conn)
        events.ingest_in(conn, envelopes=[envelope], received_at=clock.now(), region=region,
                         source="reconciler")


def _message(kind: str, resource_id: str, action: str, event_type: str, when: datetime,
             payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "message_id": f"sws-reconcile:{kind}:{resource_id}:{action}",
        "event_type": event_type, "priority": "INFO", "publisher_id": PUBLISHER,
        "timestamp": oslo_timestamp(when), "payload": payload,
    }


def _instance_delete(state: ResourceState, when: datetime) -> dict[str, Any]:
    ran = state.created_at is not None
    data = {
        "uuid": state.resource_id, "tenant_id": state.project_id, "state": "deleted",
        "display_name": state.name, "host": "reconciled" if ran else None,
        "launched_at": oslo_timestamp(state.created_at) if state.created_at else None,
        "terminated_at": oslo_timestamp(when),
    }
    payload = nova_object("InstanceActionPayload", ACTION_PAYLOAD, data)
    return _message(INSTANCE, state.resource_id, "delete", "instance.delete.end", when, payload)


def _instance_create(server: Any, launched: datetime) -> dict[str, Any]:
    flavor = server.flavor
    data = {
        "uuid": server.id, "tenant_id": server.project_id, "state": server.vm_state or "active",
        "display_name": server.name, "host": server.compute_host or "reconciled",
        "launched_at": oslo_timestamp(launched),
        "flavor": nova_object("FlavorPayload", FLAVOR_PAYLOAD, {
            "flavorid": flavor.id or flavor.original_name, "name": flavor.original_name,
            "vcpus": flavor.vcpus, "memory_mb": flavor.ram, "root_gb": flavor.disk,
        }),
    }
    payload = nova_object("InstanceActionPayload", ACTION_PAYLOAD, data)
    return _message(INSTANCE, server.id, "create", "instance.create.end", launched, payload)


def _fip_delete(state: ResourceState, when: datetime) -> dict[str, Any]:
    payload = {"floatingip": {"id": state.resource_id, "project_id": state.project_id,
                              "floating_ip_address": state.address}}
    return _message(FLOATING_IP, state.resource_id, "delete", "floatingip.delete.end", when,
                    payload)


def _deleted_at(server: Any) -> datetime | None:
    if server is None:
        return None
    return _time(server.terminated_at) or _time(getattr(server, "updated_at", None))


def _time(value: Any) -> datetime | None:
    from sws.drivers.openstack.driver import parse_time

    return parse_time(value)
