"""Translators from OpenStack notifications (Nova, Neutron, Octavia) to `ResourceEvent` values.

One translator serves real OpenStack and the simulated region: both speak the same JSON.

Input is an oslo.messaging envelope (`{"oslo.version": "2.0", "oslo.message": "<json>"}`), the
inner message as a dict, or either one as JSON text. Each notification becomes exactly one of:

- a `ResourceEvent`: a lifecycle fact SWS tracks;
- an `Ignored`: a well-formed notification SWS deliberately does not track (the reason says why);
- a raised `MalformedNotification`: the reason names exactly what is wrong; callers dead-letter it.

Tracked:
- Nova versioned `instance.<action>.end` for create, delete, soft_delete, restore, resize_finish,
  resize_confirm, resize_revert, power_off, power_on, pause, unpause, suspend, resume, shelve,
  shelve_offload, unshelve, rebuild and snapshot (action `snapshot`: billing ignores it, the
  activity feed shows it); `instance.create.error`; `instance.exists`;
  `instance.update` only when it renames (`old_display_name` set and unlike `display_name`:
  action `rename`);
  `flavor.create|update|delete`. An `instance.delete.end` for an instance that never reached a
  host (host and launched_at both null: Nova's "not scheduled" delete) becomes the action
  `delete_not_scheduled`; `instance.create.error` becomes `create_error` with state `error`.
  Billing charges nothing for either.
- Neutron legacy `floatingip.create|update|delete.end`; an update becomes `associate` when the
  IP ends up on a port, `disassociate` otherwise.
- Octavia `octavia.loadbalancer.create|update|delete.end` (the LB dict is the payload).

Ignored:
- `*.start`: it announces an action; the matching `.end` (or `.error`) carries the outcome.
- `instance.update` that does not rename: Nova emits several per action (every task_state
  step) with transitional states; the lifecycle `.end` events carry the same facts once, at
  the moment they become true.
- intermediate steps (`resize_prep.end`, `resize.end`, `shutdown.end`) and actions that do not
  change what a resource costs (volume/interface attach, evacuate, ...).
- other services' notifications: scheduler, image, network, subnet, port, router, ...
- a message with no `timestamp` and no time in its payload (only Nova's documentation samples
  of flavor.* are like that): without a time it cannot be placed in order.

Idempotency key: the message's `message_id`. A message without one (Nova's documentation
samples) gets `sha256:<hex>` of its canonical JSON (keys sorted, no whitespace), so the same
message always gets the same key and a re-delivery is recognised as a duplicate.

`occurred_at` comes from the payload, the service's own record of when the change happened; the
message `timestamp` (UTC without a zone, e.g. "2026-11-21 06:12:22.586165") is stamped when the
notification is sent, 0.3 to 1.2 s later. Which payload field, by event:
- instance `create`: `launched_at` (an instance is billed from its launch); `create_error`:
  `updated_at`; `delete` and `delete_not_scheduled`: `terminated_at`, else `deleted_at`;
  `soft_delete`: `deleted_at`, else `updated_at`; every other instance action (resize, power,
  shelve, rebuild, `exists`, ...): `updated_at`;
- floating IP and load balancer `create`: `created_at` (both are billed from creation); `update`
  (associate, disassociate): `updated_at`; `delete`: none (their payloads keep no delete time);
- flavors: none.
Only when the payload lacks that field does the message `timestamp` serve; without either, the
payload's other times (terminated_at, deleted_at, updated_at, created_at for deletes; updated_at,
created_at otherwise). `ResourceEvent.time_source` records the field used, or `notification`.

Nova, Neutron and Octavia write payload times to the whole second. Such a time is refined by the
message timestamp: the moment is placed at the timestamp if that falls inside the payload's
second, else at that second's last microsecond, never later than the timestamp. So a delete at
10:59:59.8 (payload "10:59:59Z") notified at 11:00:00.4 closes at 10:59:59.999999, inside the
hour it happened in; and two actions in the same second (shelve then shelve_offload) keep the
order in which they were notified instead of tying.

Speed matters (one worker should keep up with a large region): orjson parses, no validation
library, dictionary look-ups only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from sws.errors import Invalid
from sws.events import translate_volumes
from sws.events.model import (
    CREATE,
    CREATE_ERROR,
    DELETE,
    DELETE_NOT_SCHEDULED,
    ERROR,
    FLAVOR,
    FLOATING_IP,
    INSTANCE,
    LOAD_BALANCER,
    ResourceEvent,
)

Message = Mapping[str, Any]

#: The longest string SWS keeps from a notification (ids, names, states, addresses).
MAX_TEXT = 255
MAX_MESSAGE_ID = 128
_INT_LIMIT = 2**31
_EARLIEST_YEAR, _LATEST_YEAR = 1970, 9998


class MalformedNotification(Invalid):
    """A notification that cannot be understood; `reason` says exactly what is wrong."""

    @property
    def reason(self) -> str:
        return self.detail


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed notification SWS does not track, and why."""

    message_id: str
    event_type: str
    reason: str


Translation = ResourceEvent | Ignored

_NOVA_INSTANCE_ACTIONS = {
    "instance.create.end": CREATE,
    "instance.create.error": CREATE_ERROR,
    "instance.delete.end": DELETE,
    "instance.soft_delete.end": "soft_delete",
    "instance.restore.end": "restore",
    "instance.resize_finish.end": "resize_finish",
    "instance.resize_confirm.end": "resize_confirm",
    "instance.resize_revert.end": "resize_revert",
    "instance.power_off.end": "power_off",
    "instance.power_on.end": "power_on",
    "instance.pause.end": "pause",
    "instance.unpause.end": "unpause",
    "instance.suspend.end": "suspend",
    "instance.resume.end": "resume",
    "instance.shelve.end": "shelve",
    "instance.shelve_offload.end": "shelve_offload",
    "instance.unshelve.end": "unshelve",
    "instance.rebuild.end": "rebuild",
    "instance.snapshot.end": "snapshot",
    "instance.exists": "exists",
}
RENAME = "rename"
_FLAVOR_ACTIONS = {"flavor.create": CREATE, "flavor.update": "update", "flavor.delete": DELETE}
_FLOATING_IP_ACTIONS = {
    "floatingip.create.end": CREATE,
    "floatingip.update.end": "update",
    "floatingip.delete.end": DELETE,
}
_LOAD_BALANCER_ACTIONS = {
    "octavia.loadbalancer.create.end": CREATE,
    "octavia.loadbalancer.update.end": "update",
    "octavia.loadbalancer.delete.end": DELETE,
}
_IGNORED_EXACT = {
    "instance.update": "state-change noise (no new display_name); the lifecycle .end events "
                       "carry the facts",
    "instance.resize_prep.end": "intermediate resize step; the flavor changes at resize_finish.end",
    "instance.resize.end": "intermediate resize step; the flavor changes at resize_finish.end",
    "instance.shutdown.end": "part of a delete or shelve; their .end events carry the fact",
}
_IGNORED_PREFIXES = (
    ("scheduler.", "scheduling is internal to Nova"),
    ("image.", "images are not tracked by SWS events"),
    ("network.", "networks are not billed"),
    ("subnet.", "subnets are not billed"),
    ("port.", "ports are not billed"),
    ("router.", "routers are not billed"),
    ("instance.", "this instance action does not change what the instance costs"),
)


def translate(raw: str | bytes | Message) -> Translation:
    """Translate one notification; raises MalformedNotification when it cannot be understood."""
    message = parse_message(raw)
    event_type = message.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedNotification("missing event_type")
    payload = message.get("payload")
    if not isinstance(payload, dict):
        raise MalformedNotification(f"{event_type}: missing payload (or not an object)")
    translator = _TRANSLATORS.get(event_type)
    if translator is None:
        return Ignored(message_id_of(message), event_type, ignore_reason(event_type))
    try:
        return translator(message, event_type, payload)
    except MalformedNotification as exc:
        raise MalformedNotification(f"{event_type}: {exc.detail}") from None


def parse_message(raw: str | bytes | Message) -> Message:
    """The inner oslo message, unwrapping the `oslo.message` envelope when there is one."""
    message = _loads(raw, "not JSON") if isinstance(raw, str | bytes | bytearray) else raw
    if not isinstance(message, Mapping):
        raise MalformedNotification("not a JSON object")
    inner = message.get("oslo.message")
    if inner is None:
        return message
    if not isinstance(inner, str):
        raise MalformedNotification("oslo.message is not a JSON string")
    unwrapped = _loads(inner, "oslo.message is not JSON")
    if not isinstance(unwrapped, dict):
        raise MalformedNotification("oslo.message is not a JSON object")
    return unwrapped


def message_id_of(message: Message) -> str:
    """The message_id, or `sha256:<hex>` of the canonical JSON when the message has none."""
    message_id = message.get("message_id")
    if isinstance(message_id, str) and 0 < len(message_id) <= MAX_MESSAGE_ID:
        return message_id
    if message_id is not None:
        raise MalformedNotification(
            f"message_id is not a string of 1 to {MAX_MESSAGE_ID} characters"
        )
    canonical = json.dumps(message, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def ignore_reason(event_type: str) -> str:
    """Why SWS does not track `event_type`."""
    if event_type.endswith(".start"):
        return "a .start event announces an action; its .end carries the outcome"
    exact = _IGNORED_EXACT.get(event_type)
    if exact is not None:
        return exact
    for prefix, reason in _IGNORED_PREFIXES:
        if event_type.startswith(prefix):
            return reason
    return "event type not tracked by SWS"


def _loads(text: str | bytes | bytearray, what: str) -> Any:
    """orjson first (several times faster); what it refuses and `json` accepts (integers
    beyond 64 bits, NaN, lone surrogates, deep nesting) still parses, as it always did."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedNotification(f"{what}: {exc}") from None


# --- Nova (versioned) ---------------------------------------------------------------------


_NOVA_DATA = "payload.nova_object.data"
_NOVA_FLAVOR = f"{_NOVA_DATA}.flavor"


def _nova_data(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    data = payload.get("nova_object.data")
    if not isinstance(data, dict):
        raise MalformedNotification("missing payload.nova_object.data")
    return data


def _required_str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = _text(data, key, where)
    if not value:
        raise MalformedNotification(f"missing {where}.{key}")
    return value


def _text(data: Mapping[str, Any], key: str, where: str) -> str | None:
    """An optional string field of at most MAX_TEXT characters (what the tables hold)."""
    value = data.get(key)
    if value is None or (type(value) is str and len(value) <= MAX_TEXT):  # the usual case first
        return value
    if isinstance(value, str):
        if len(value) <= MAX_TEXT:
            return value
        raise MalformedNotification(f"{where}.{key} is longer than {MAX_TEXT} characters")
    raise MalformedNotification(f"{where}.{key} is not a string")


def _count(data: Mapping[str, Any], key: str, where: str) -> int | None:
    """An optional non-negative integer field (vcpus, memory_mb, root_gb)."""
    value = data.get(key)
    if value is None or (type(value) is int and 0 <= value < _INT_LIMIT):  # the usual case first
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _INT_LIMIT:
        return value
    raise MalformedNotification(f"{where}.{key} is not a non-negative integer")


def _instance_action(event_type: str, data: Mapping[str, Any]) -> str:
    action = _NOVA_INSTANCE_ACTIONS[event_type]
    if action == DELETE and data.get("host") is None and data.get("launched_at") is None:
        return DELETE_NOT_SCHEDULED
    return action


def _nova_instance_update(
    message: Message, event_type: str, payload: Mapping[str, Any]
) -> Translation:
    """`instance.update` is a rename when its `old_display_name` is set and differs from the
    `display_name` (Nova sets it only then); every other update is noise."""
    data = _nova_data(payload)
    old_name = _text(data, "old_display_name", _NOVA_DATA)
    if not old_name or old_name == _text(data, "display_name", _NOVA_DATA):
        return Ignored(message_id_of(message), event_type, ignore_reason(event_type))
    return _nova_instance(message, event_type, payload, RENAME)


def _nova_instance(
    message: Message, event_type: str, payload: Mapping[str, Any], action: str | None = None
) -> Translation:
    data = _nova_data(payload)
    where, in_flavor = _NOVA_DATA, _NOVA_FLAVOR
    uuid = _required_str(data, "uuid", where)
    action = action or _instance_action(event_type, data)
    terminal = action in (DELETE, DELETE_NOT_SCHEDULED)
    keys = _INSTANCE_TIME_KEYS.get(action, _UPDATED)
    timed = _occurred_at(message, data, where, keys=keys, terminal=terminal)
    if timed is None:
        return _untimed(message, event_type)
    occurred_at, time_source = timed
    flavor = _nova_flavor(data.get("flavor"))
    return ResourceEvent(
        message_id=message_id_of(message),
        event_type=event_type,
        resource_type=INSTANCE,
        resource_id=uuid,
        project_id=_text(data, "tenant_id", where),
        occurred_at=occurred_at,
        action=action,
        state=ERROR if action == CREATE_ERROR else _text(data, "state", where),
        name=_text(data, "display_name", where),
        flavor_id=_text(flavor, "flavorid", in_flavor),
        flavor_name=_text(flavor, "name", in_flavor),
        vcpus=_count(flavor, "vcpus", in_flavor),
        memory_mb=_count(flavor, "memory_mb", in_flavor),
        root_gb=_count(flavor, "root_gb", in_flavor),
        launched_at=_payload_time(data, "launched_at", where),
        terminated_at=_payload_time(data, "terminated_at", where),
        time_source=time_source,
    )


def _nova_flavor(flavor: Any) -> Mapping[str, Any]:
    if isinstance(flavor, dict):
        data = flavor.get("nova_object.data")
        if isinstance(data, dict):
            return data
    return {}


def _nova_flavor_event(
    message: Message, event_type: str, payload: Mapping[str, Any]
) -> Translation:
    data = _nova_data(payload)
    where = "payload.nova_object.data"
    flavor_id = _required_str(data, "flavorid", where)
    action = _FLAVOR_ACTIONS[event_type]
    timed = _occurred_at(message, data, where, keys=(), terminal=action == DELETE)
    if timed is None:
        return _untimed(message, event_type)
    occurred_at, time_source = timed
    return ResourceEvent(
        message_id=message_id_of(message),
        event_type=event_type,
        resource_type=FLAVOR,
        resource_id=flavor_id,
        project_id=None,
        occurred_at=occurred_at,
        action=action,
        state="disabled" if data.get("disabled") else "active",
        name=_text(data, "name", where),
        flavor_id=flavor_id,
        flavor_name=_text(data, "name", where),
        vcpus=_count(data, "vcpus", where),
        memory_mb=_count(data, "memory_mb", where),
        root_gb=_count(data, "root_gb", where),
        time_source=time_source,
    )


# --- Neutron (legacy) ---------------------------------------------------------------------


def _floating_ip(message: Message, event_type: str, payload: Mapping[str, Any]) -> Translation:
    action = _FLOATING_IP_ACTIONS[event_type]
    fip = _floating_ip_dict(event_type, payload, action)
    where = "payload.floatingip"
    fip_id = _required_str(fip, "id", where)
    timed = _occurred_at(message, fip, where, keys=_NETWORK_TIME_KEYS[action],
                         terminal=action == DELETE)
    if timed is None:
        return _untimed(message, event_type)
    occurred_at, time_source = timed
    port_id = _text(fip, "port_id", where)
    if action == "update":
        action = "associate" if port_id else "disassociate"
    return ResourceEvent(
        message_id=message_id_of(message),
        event_type=event_type,
        resource_type=FLOATING_IP,
        resource_id=fip_id,
        project_id=_text(fip, "project_id", where) or _text(fip, "tenant_id", where),
        occurred_at=occurred_at,
        action=action,
        state=_text(fip, "status", where),
        name=_text(fip, "description", where) or None,
        address=_text(fip, "floating_ip_address", where),
        port_id=port_id,
        time_source=time_source,
    )


def _floating_ip_dict(
    event_type: str, payload: Mapping[str, Any], action: str
) -> Mapping[str, Any]:
    fip = payload.get("floatingip")
    if isinstance(fip, dict):
        return fip
    fip_id = payload.get("floatingip_id")
    if action == DELETE and isinstance(fip_id, str):
        return {"id": fip_id}
    raise MalformedNotification("missing payload.floatingip")


# --- Octavia ------------------------------------------------------------------------------


def _load_balancer(message: Message, event_type: str, payload: Mapping[str, Any]) -> Translation:
    where = "payload"
    lb_id = _required_str(payload, "id", where)
    action = _LOAD_BALANCER_ACTIONS[event_type]
    timed = _occurred_at(message, payload, where, keys=_NETWORK_TIME_KEYS[action],
                         terminal=action == DELETE)
    if timed is None:
        return _untimed(message, event_type)
    occurred_at, time_source = timed
    vip = payload.get("vip")
    vip = vip if isinstance(vip, dict) else {}
    return ResourceEvent(
        message_id=message_id_of(message),
        event_type=event_type,
        resource_type=LOAD_BALANCER,
        resource_id=lb_id,
        project_id=_text(payload, "project_id", where),
        occurred_at=occurred_at,
        action=action,
        state=_text(payload, "provisioning_status", where),
        name=_text(payload, "name", where) or None,
        flavor_id=_text(payload, "flavor_id", where),
        address=_text(vip, "ip_address", f"{where}.vip") or _text(payload, "vip_address", where),
        port_id=_text(vip, "port_id", f"{where}.vip") or _text(payload, "vip_port_id", where),
        time_source=time_source,
    )


# --- Times --------------------------------------------------------------------------------

_UPDATED = ("updated_at",)
_TERMINATED = ("terminated_at", "deleted_at")
#: The payload field that says when each instance action happened (others: `_UPDATED`).
_INSTANCE_TIME_KEYS: dict[str, tuple[str, ...]] = {
    CREATE: ("launched_at",),
    DELETE: _TERMINATED,
    DELETE_NOT_SCHEDULED: _TERMINATED,
    "soft_delete": ("deleted_at", "updated_at"),
}
#: Floating IPs and load balancers: a delete's payload is the resource as it was, so its
#: `updated_at` is the last change before the delete, not the delete.
_NETWORK_TIME_KEYS: dict[str, tuple[str, ...]] = {
    CREATE: ("created_at",), "update": _UPDATED, DELETE: (),
}
_LAST_RESORT_KEYS = {True: ("terminated_at", "deleted_at", "updated_at", "created_at"),
                     False: ("updated_at", "created_at")}
NOTIFICATION = "notification"
_LAST_MICROSECOND = timedelta(microseconds=999_999)


def _occurred_at(
    message: Message, data: Mapping[str, Any], where: str, *, keys: tuple[str, ...],
    terminal: bool,
) -> tuple[datetime, str] | None:
    """When it happened and where that came from: the payload's `keys` (refined by the message
    timestamp), else the timestamp, else any time in the payload; None without any."""
    raw = message.get("timestamp")
    stamped = None if raw is None else _parse_time(raw, "timestamp")
    found = _first_payload_time(data, where, keys)
    if found is not None:
        return _refined(found[0], stamped), found[1]
    if stamped is not None:
        return stamped, NOTIFICATION
    return _first_payload_time(data, where, _LAST_RESORT_KEYS[terminal])


def _first_payload_time(
    data: Mapping[str, Any], where: str, keys: tuple[str, ...]
) -> tuple[datetime, str] | None:
    for key in keys:
        moment = _payload_time(data, key, where)
        if moment is not None:
            return moment, key
    return None


def _refined(moment: datetime, stamped: datetime | None) -> datetime:
    """A payload time written to the whole second, placed inside that second by the message
    timestamp: at the timestamp when it falls in the second, else at the second's end."""
    if stamped is None or moment.microsecond:
        return moment
    return min(max(stamped, moment), moment + _LAST_MICROSECOND)


def _payload_time(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    value = data.get(key)
    return None if value is None else _parse_time(value, f"{where}.{key}")


def _parse_time(value: Any, what: str) -> datetime:
    """ISO 8601 with or without a zone; a naive time is UTC, as OpenStack writes it."""
    try:
        moment = datetime.fromisoformat(value)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (TypeError, ValueError, OverflowError):
        raise MalformedNotification(f"bad {what} {value!r}: not an ISO 8601 time") from None
    if not _EARLIEST_YEAR <= moment.year <= _LATEST_YEAR:
        raise MalformedNotification(f"bad {what} {value!r}: year out of range")
    return moment


def _untimed(message: Message, event_type: str) -> Ignored:
    reason = "no timestamp in the message and no time in its payload: cannot be ordered"
    return Ignored(message_id_of(message), event_type, reason)


_Translator = Callable[[Message, str, Mapping[str, Any]], Translation]
_TRANSLATORS: dict[str, _Translator] = {
    **dict.fromkeys(_NOVA_INSTANCE_ACTIONS, _nova_instance),
    "instance.update": _nova_instance_update,
    **dict.fromkeys(_FLAVOR_ACTIONS, _nova_flavor_event),
    **dict.fromkeys(_FLOATING_IP_ACTIONS, _floating_ip),
    **dict.fromkeys(_LOAD_BALANCER_ACTIONS, _load_balancer),
}
_TRANSLATORS.update(translate_volumes.TRANSLATORS)  # Cinder: volumes and volume snapshots
