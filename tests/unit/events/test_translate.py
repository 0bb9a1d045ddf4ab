"""Translation of single notifications: what is tracked, what is ignored, what is malformed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sws.events.model import ResourceEvent
from sws.events.translate import Ignored, MalformedNotification, translate

from .factories import T0, floating_ip_message, instance_message


def _create(**changes: Any) -> dict[str, Any]:
    message = instance_message(message_id="m-1", uuid="i-1", action="create.end", at=T0)
    message.update(changes)
    return message


def _reason(raw: Any) -> str:
    with pytest.raises(MalformedNotification) as caught:
        translate(raw)
    return caught.value.reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"oslo.version": "2.0", "oslo.message": "{nope"}', "oslo.message is not JSON"),
        ('{"oslo.version": "2.0", "oslo.message": 42}', "oslo.message is not a JSON string"),
        ('{"payload": {}}', "missing event_type"),
        ('{"event_type": "instance.create.end"}', "instance.create.end: missing payload"),
    ],
)
def test_malformed_shapes_are_named(raw: str, expected: str) -> None:
    assert _reason(raw).startswith(expected)


def test_missing_uuid_is_named() -> None:
    message = _create()
    del message["payload"]["nova_object.data"]["uuid"]
    reason = _reason(message)
    assert reason == "instance.create.end: missing payload.nova_object.data.uuid"


def test_missing_nova_object_data_is_named() -> None:
    reason = _reason(_create(payload={"nova_object.name": "x"}))
    assert reason == "instance.create.end: missing payload.nova_object.data"


@pytest.mark.parametrize("timestamp", ["yesterday", "2026-13-40 99:00:00", 12, "0001-01-01"])
def test_bad_timestamp_is_named(timestamp: object) -> None:
    reason = _reason(_create(timestamp=timestamp))
    assert reason.startswith(f"instance.create.end: bad timestamp {timestamp!r}")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("display_name", {"x": 1}, "payload.nova_object.data.display_name is not a string"),
        ("display_name", "x" * 256, "payload.nova_object.data.display_name is longer than 255"),
        ("launched_at", "soon", "bad payload.nova_object.data.launched_at 'soon'"),
    ],
)
def test_bad_payload_fields_are_named(field: str, value: object, expected: str) -> None:
    message = _create()
    message["payload"]["nova_object.data"][field] = value
    assert expected in _reason(message)


def test_bad_flavor_size_is_named() -> None:
    message = _create()
    message["payload"]["nova_object.data"]["flavor"]["nova_object.data"]["vcpus"] = "two"
    assert "flavor.vcpus is not a non-negative integer" in _reason(message)


def test_oversized_message_id_is_refused() -> None:
    assert "message_id" in _reason(_create(message_id="m" * 129))


def test_envelope_and_inner_message_translate_alike() -> None:
    message = _create()
    envelope = {"oslo.version": "2.0", "oslo.message": json.dumps(message)}
    assert translate(envelope) == translate(message) == translate(json.dumps(envelope).encode())


def test_timestamp_is_utc_without_zone() -> None:
    message = _create(timestamp="2026-11-21 06:12:22.586165")
    message["payload"]["nova_object.data"]["launched_at"] = None
    result = translate(message)
    assert isinstance(result, ResourceEvent)
    assert result.occurred_at.isoformat() == "2026-11-21T06:12:22.586165+00:00"
    assert result.time_source == "notification"


def test_without_timestamp_a_delete_falls_back_to_terminated_at() -> None:
    message = instance_message(message_id="m", uuid="i-1", action="delete.end", at=T0)
    del message["timestamp"]
    message["payload"]["nova_object.data"]["terminated_at"] = "2026-11-21T07:00:00Z"
    result = translate(message)
    assert isinstance(result, ResourceEvent)
    assert result.occurred_at.isoformat() == "2026-11-21T07:00:00+00:00"


def test_without_timestamp_a_create_without_launch_falls_back_to_updated_at() -> None:
    message = _create()
    del message["timestamp"]
    message["payload"]["nova_object.data"].update(launched_at=None,
                                                   updated_at="2026-11-21T06:30:00Z")
    result = translate(message)
    assert isinstance(result, ResourceEvent)
    assert result.occurred_at.isoformat() == "2026-11-21T06:30:00+00:00"


def test_message_without_id_gets_a_content_hash() -> None:
    message = _create()
    del message["message_id"]
    reordered = dict(reversed(list(message.items())))
    assert translate(message).message_id == translate(reordered).message_id
    message["timestamp"] = "2026-11-21 06:00:01"
    assert translate(message).message_id != translate(reordered).message_id


def test_floating_ip_update_is_associate_or_disassociate() -> None:
    on = floating_ip_message(message_id="a", fip_id="f", action="update.end", at=T0, port_id="p")
    off = floating_ip_message(message_id="b", fip_id="f", action="update.end", at=T0)
    associated, disassociated = translate(on), translate(off)
    assert isinstance(associated, ResourceEvent) and isinstance(disassociated, ResourceEvent)
    assert (associated.action, associated.port_id) == ("associate", "p")
    assert (disassociated.action, disassociated.port_id) == ("disassociate", None)


def test_floating_ip_delete_with_only_an_id_is_understood() -> None:
    message = floating_ip_message(message_id="d", fip_id="f-9", action="delete.end", at=T0)
    message["payload"] = {"floatingip_id": "f-9"}
    result = translate(message)
    assert isinstance(result, ResourceEvent)
    assert (result.resource_id, result.action, result.project_id) == ("f-9", "delete", None)


def test_floating_ip_create_without_body_is_malformed() -> None:
    message = floating_ip_message(message_id="c", fip_id="f", action="create.end", at=T0)
    message["payload"] = {"floatingip_id": "f"}
    assert _reason(message) == "floatingip.create.end: missing payload.floatingip"


def test_load_balancer_delete() -> None:
    message: dict[str, Any] = {
        "message_id": "lb-del",
        "event_type": "octavia.loadbalancer.delete.end",
        "timestamp": "2026-11-21 06:00:00",
        "payload": {
            "id": "lb-1",
            "project_id": "p-1",
            "name": "web",
            "provisioning_status": "DELETED",
            "vip": {"ip_address": "192.0.2.7", "port_id": "port-1"},
        },
    }
    result = translate(message)
    assert isinstance(result, ResourceEvent)
    assert (result.resource_type, result.action, result.address) == (
        "load_balancer",
        "delete",
        "192.0.2.7",
    )
    del message["payload"]["id"]
    assert _reason(message) == "octavia.loadbalancer.delete.end: missing payload.id"


def test_unknown_event_types_are_ignored_with_a_reason() -> None:
    result = translate({"message_id": "x", "event_type": "backup.create.end", "payload": {}})
    assert isinstance(result, Ignored)
    assert result.reason == "event type not tracked by SWS"


def test_not_scheduled_delete_is_recognised_by_missing_host_and_launch() -> None:
    message = instance_message(message_id="m", uuid="i-1", action="delete.end", at=T0)
    message["payload"]["nova_object.data"].update(host=None, launched_at=None)
    result = translate(message)
    assert isinstance(result, ResourceEvent) and result.action == "delete_not_scheduled"
    message["payload"]["nova_object.data"]["launched_at"] = "2026-11-21T06:00:00Z"
    result = translate(message)  # shelved-offloaded: no host, but it did run
    assert isinstance(result, ResourceEvent) and result.action == "delete"
