"""Pure builders of Nova versioned and Neutron legacy notifications, shaped like `samples/`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sws.drivers.base import Flavor, KeyPair
from sws.drivers.nova_payloads import (
    ACTION_PAYLOAD,
    flavor_payload,
    nova_object,
    oslo_timestamp,
)

OSLO_VERSION = "2.0"


@dataclass(frozen=True, slots=True)
class Fault:
    exception: str
    message: str
    function_name: str = "_build_and_run_instance"
    module_name: str = "nova.compute.manager"


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    """Everything a Nova instance payload says about one server at one moment."""

    uuid: str
    number: int
    tenant_id: str
    user_id: str
    display_name: str
    host: str | None
    state: str
    task_state: str | None
    power_state: str
    flavor: Flavor
    image_uuid: str
    key_name: str | None
    fixed_ip: str
    mac: str
    reservation_id: str
    request_id: str
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    terminated_at: datetime | None
    deleted_at: datetime | None
    fault: Fault | None = None
    keypair: KeyPair | None = None


def iso_z(moment: datetime | None) -> str | None:
    """Payload times: '2026-11-21T06:42:49Z'."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(message: dict[str, Any]) -> dict[str, Any]:
    """Wrap an inner message as oslo.messaging sends it over the wire."""
    return {"oslo.version": OSLO_VERSION, "oslo.message": json.dumps(message)}


def _ip_payload(facts: InstanceFacts) -> list[dict[str, Any]]:
    port = port_id(facts.uuid)
    return [
        nova_object(
            "IpPayload",
            "1.0",
            {
                "address": facts.fixed_ip,
                "device_name": f"tap{port[:11]}",
                "label": "private",
                "mac": facts.mac,
                "meta": {},
                "port_uuid": port,
                "version": 4,
            },
        )
    ]


def _fault_payload(fault: Fault | None) -> dict[str, Any] | None:
    if fault is None:
        return None
    return nova_object(
        "ExceptionPayload",
        "1.1",
        {
            "exception": fault.exception,
            "exception_message": fault.message,
            "function_name": fault.function_name,
            "module_name": fault.module_name,
            "traceback": f"Traceback (most recent call last):\n{fault.exception}: {fault.message}",
        },
    )


def instance_data(facts: InstanceFacts) -> dict[str, Any]:
    """The keys every Instance*Payload carries (InstanceActionPayload 1.8)."""
    return {
        "action_initiator_project": facts.tenant_id,
        "action_initiator_user": facts.user_id,
        "architecture": "x86_64",
        "auto_disk_config": "MANUAL",
        "availability_zone": "nova",
        "block_devices": [],
        "created_at": iso_z(facts.created_at),
        "deleted_at": iso_z(facts.deleted_at),
        "display_description": None,
        "display_name": facts.display_name,
        "fault": _fault_payload(facts.fault),
        "flavor": flavor_payload(facts.flavor),
        "host": facts.host,
        "host_name": facts.display_name,
        "image_uuid": facts.image_uuid,
        "ip_addresses": _ip_payload(facts),
        "kernel_id": "",
        "key_name": facts.key_name,
        "launched_at": iso_z(facts.launched_at),
        "locked": False,
        "locked_reason": None,
        "metadata": {},
        "node": facts.host,
        "os_type": None,
        "power_state": facts.power_state,
        "progress": 0,
        "ramdisk_id": "",
        "request_id": facts.request_id,
        "reservation_id": facts.reservation_id,
        "state": facts.state,
        "task_state": facts.task_state,
        "tenant_id": facts.tenant_id,
        "terminated_at": iso_z(facts.terminated_at),
        "updated_at": iso_z(facts.updated_at),
        "user_id": facts.user_id,
        "uuid": facts.uuid,
    }


def _keypairs_payload(facts: InstanceFacts) -> list[dict[str, Any]]:
    if facts.keypair is None:
        return []
    key = facts.keypair
    data = {
        "fingerprint": key.fingerprint,
        "name": key.name,
        "public_key": key.public_key,
        "type": key.key_type,
        "user_id": facts.user_id,
    }
    return [nova_object("KeypairPayload", "1.0", data)]


def create_payload(facts: InstanceFacts) -> dict[str, Any]:
    data = instance_data(facts)
    data.update(
        {
            "instance_name": f"instance-{facts.number:08x}",
            "keypairs": _keypairs_payload(facts),
            "tags": [],
            "trusted_image_certificates": None,
        }
    )
    return nova_object("InstanceCreatePayload", "1.12", data)


def action_payload(facts: InstanceFacts) -> dict[str, Any]:
    return nova_object("InstanceActionPayload", ACTION_PAYLOAD, instance_data(facts))


def resize_prep_payload(facts: InstanceFacts, new_flavor: Flavor) -> dict[str, Any]:
    data = instance_data(facts)
    data["new_flavor"] = flavor_payload(new_flavor)
    return nova_object("InstanceActionResizePrepPayload", "1.3", data)


def snapshot_payload(facts: InstanceFacts, image_id: str) -> dict[str, Any]:
    data = instance_data(facts)
    data["snapshot_image_id"] = image_id
    return nova_object("InstanceActionSnapshotPayload", "1.9", data)


def rebuild_payload(facts: InstanceFacts) -> dict[str, Any]:
    """InstanceActionRebuildPayload: the action payload and the image's trusted certificates."""
    data = instance_data(facts)
    data["trusted_image_certificates"] = None
    return nova_object("InstanceActionRebuildPayload", "1.9", data)


def port_id(server_id: str) -> str:
    """The simulated Neutron port of a server's only NIC."""
    return str(uuid.uuid5(uuid.UUID(server_id), "port"))


def context(project_id: str, user_id: str, request_id: str, at: datetime) -> dict[str, Any]:
    """The `_context_*` keys oslo.messaging adds from the request context."""
    return {
        "_context_auth_token": None,
        "_context_domain": None,
        "_context_global_request_id": None,
        "_context_is_admin": False,
        "_context_is_admin_project": True,
        "_context_project": project_id,
        "_context_project_domain": "default",
        "_context_project_id": project_id,
        "_context_project_name": None,
        "_context_quota_class": None,
        "_context_read_deleted": "no",
        "_context_read_only": False,
        "_context_remote_address": None,
        "_context_request_id": request_id,
        "_context_resource_uuid": None,
        "_context_roles": ["member", "reader"],
        "_context_service_catalog": [],
        "_context_show_deleted": False,
        "_context_system_scope": None,
        "_context_timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "_context_user": user_id,
        "_context_user_domain": "default",
        "_context_user_id": user_id,
        "_context_user_identity": f"{user_id} {project_id} - default default",
        "_context_user_name": None,
        "_unique_id": uuid.uuid4().hex,
    }


def nova_message(
    event_type: str, payload: dict[str, Any], facts: InstanceFacts, at: datetime
) -> dict[str, Any]:
    """One inner Nova versioned notification, as published on `versioned_notifications.info`."""
    message = context(facts.tenant_id, facts.user_id, facts.request_id, at)
    publisher_host = facts.host or "controller"
    service = "nova-compute" if facts.host else "nova-api"
    message.update(
        {
            "_exchange": "nova",
            "_routing_key": "versioned_notifications.info"
            if not event_type.endswith(".error")
            else "versioned_notifications.error",
            "event_type": event_type,
            "message_id": str(uuid.uuid4()),
            "payload": payload,
            "priority": "ERROR" if event_type.endswith(".error") else "INFO",
            "publisher_id": f"{service}:{publisher_host}",
            "timestamp": oslo_timestamp(at),
        }
    )
    return message


@dataclass(frozen=True, slots=True)
class FloatingIPFacts:
    id: str
    address: str
    project_id: str
    user_id: str
    network_id: str
    status: str
    fixed_ip: str | None
    port_id: str | None
    router_id: str | None
    revision_number: int
    created_at: datetime
    updated_at: datetime


def floatingip_body(facts: FloatingIPFacts) -> dict[str, Any]:
    return {
        "created_at": iso_z(facts.created_at),
        "description": "",
        "fixed_ip_address": facts.fixed_ip,
        "floating_ip_address": facts.address,
        "floating_network_id": facts.network_id,
        "id": facts.id,
        "port_details": None,
        "port_id": facts.port_id,
        "project_id": facts.project_id,
        "revision_number": facts.revision_number,
        "router_id": facts.router_id,
        "status": facts.status,
        "tags": [],
        "tenant_id": facts.project_id,
        "updated_at": iso_z(facts.updated_at),
    }


def neutron_message(
    event_type: str, facts: FloatingIPFacts, at: datetime, network_host: str
) -> dict[str, Any]:
    """One legacy (unversioned) Neutron notification, as on `notifications.info`."""
    payload: dict[str, Any] = {"floatingip": floatingip_body(facts)}
    if event_type.endswith("delete.end"):
        payload["floatingip_id"] = facts.id
    message = context(facts.project_id, facts.user_id, f"req-{uuid.uuid4()}", at)
    message["_context_tenant_id"] = facts.project_id
    message.update(
        {
            "_exchange": "neutron",
            "_routing_key": "notifications.info",
            "event_type": event_type,
            "message_id": str(uuid.uuid4()),
            "payload": payload,
            "priority": "INFO",
            "publisher_id": f"network.{network_host}",
            "timestamp": oslo_timestamp(at),
        }
    )
    return message
