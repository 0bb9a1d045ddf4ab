"""Builders of synthetic notifications and events shaped like the captured samples."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sws.events.model import ResourceEvent

T0 = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)

_INSTANCE: dict[str, Any] = {
    "uuid": "00000000-0000-0000-0000-000000000000",
    "tenant_id": "p-1",
    "display_name": "vm",
    "host": "compute-1",
    "state": "active",
    "launched_at": "2026-11-21T06:00:00Z",
    "terminated_at": None,
    "deleted_at": None,
    "created_at": "2026-11-21T06:00:00Z",
    "updated_at": "2026-11-21T06:00:00Z",
    "flavor": {
        "nova_object.data": {
            "flavorid": "f-small",
            "name": "m1.small",
            "vcpus": 2,
            "memory_mb": 1024,
            "root_gb": 2,
        },
        "nova_object.name": "FlavorPayload",
    },
}

_STATES = {
    "create.end": "active",
    "power_off.end": "stopped",
    "power_on.end": "active",
    "resize_finish.end": "resized",
    "delete.end": "deleted",
}


def payload_time(moment: datetime) -> str:
    """A payload time as Nova and Neutron write it: to the whole second, with a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def stamp(moment: datetime) -> str:
    """An oslo message timestamp: UTC without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def instance_message(
    *, message_id: str, uuid: str, action: str, at: datetime, flavor: str = "m1.small"
) -> dict[str, Any]:
    """An inner oslo message for `instance.<action>` (e.g. "create.end")."""
    data = copy.deepcopy(_INSTANCE)
    data.update(uuid=uuid, state=_STATES.get(action, "active"), updated_at=payload_time(at))
    data["flavor"]["nova_object.data"]["name"] = flavor
    if action == "create.end":
        data.update(launched_at=payload_time(at))
    if action == "delete.end":
        data.update(terminated_at=payload_time(at), deleted_at=None)
    return {
        "message_id": message_id,
        "event_type": f"instance.{action}",
        "priority": "INFO",
        "publisher_id": "nova-compute:compute-1",
        "payload": {"nova_object.data": data, "nova_object.name": "InstanceActionPayload"},
        "timestamp": stamp(at),
    }


def floating_ip_message(
    *, message_id: str, fip_id: str, action: str, at: datetime, port_id: str | None = None
) -> dict[str, Any]:
    fip = {
        "id": fip_id,
        "floating_ip_address": "203.0.113.9",
        "project_id": "p-1",
        "port_id": port_id,
        "status": "ACTIVE" if port_id else "DOWN",
        "created_at": payload_time(at),
        "updated_at": payload_time(at),
    }
    return {
        "message_id": message_id,
        "event_type": f"floatingip.{action}",
        "payload": {"floatingip": fip},
        "timestamp": stamp(at),
    }


def as_line(message: dict[str, Any]) -> str:
    return json.dumps(message)


def event(
    message_id: str,
    action: str,
    seconds: float,
    *,
    state: str | None = "active",
    name: str | None = "vm",
    flavor: str | None = "m1.small",
    project_id: str | None = "p-1",
) -> ResourceEvent:
    """A ResourceEvent for instance i-1, `seconds` after T0."""
    return ResourceEvent(
        message_id=message_id,
        event_type=f"instance.{action}.end",
        resource_type="instance",
        resource_id="i-1",
        project_id=project_id,
        occurred_at=T0 + timedelta(seconds=seconds),
        action=action,
        state=state,
        name=name,
        flavor_name=flavor,
    )
