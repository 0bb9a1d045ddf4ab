"""Translators of Cinder's legacy notifications (volumes and volume snapshots) to resource events.

Registered in `sws.events.translate`, which imports this module; the shared helpers (times,
message ids, text limits) are taken from it at call time, so neither import waits on the other.

Tracked: `volume.create|attach|detach|resize|delete.end` (resource type `volume`, actions
create, attach, detach, resize, delete) and `snapshot.create|delete.end` (`volume_snapshot`).
An event's `state` is Cinder's status, `flavor_name` the volume type, `root_gb` the size in GB
(the event model's one GB field). Real Cinder's payload names the type by its **id** (captured in
tests/samples/cinder): an id goes to `flavor_id` and leaves `flavor_name` empty; a name (the
simulated region's payloads) goes to `flavor_name`.
Times: create from `created_at`; every other action from the message timestamp (Cinder's
payloads keep no time of an attach, a resize or a delete).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from sws.events.model import CREATE, DELETE, ResourceEvent

if TYPE_CHECKING:
    from sws.events.translate import Ignored

Translation: TypeAlias = "ResourceEvent | Ignored"

VOLUME = "volume"
VOLUME_SNAPSHOT = "volume_snapshot"
VOLUME_ACTIONS = {
    "volume.create.end": CREATE,
    "volume.attach.end": "attach",
    "volume.detach.end": "detach",
    "volume.resize.end": "resize",
    "volume.delete.end": DELETE,
}
SNAPSHOT_ACTIONS = {"snapshot.create.end": CREATE, "snapshot.delete.end": DELETE}

Message = Mapping[str, Any]
Payload = Mapping[str, Any]


def _volume(message: Message, event_type: str, payload: Payload) -> Translation:
    from sws.events import translate as base

    where = "payload"
    action = VOLUME_ACTIONS[event_type]
    timed = base._occurred_at(message, payload, where, terminal=action == DELETE,
                              keys=("created_at",) if action == CREATE else ())
    if timed is None:
        return base._untimed(message, event_type)
    type_id, type_name = _volume_type(base._text(payload, "volume_type", where))
    return ResourceEvent(
        message_id=base.message_id_of(message), event_type=event_type, resource_type=VOLUME,
        resource_id=base._required_str(payload, "volume_id", where),
        project_id=base._text(payload, "tenant_id", where), occurred_at=timed[0],
        action=action, state=base._text(payload, "status", where),
        name=base._text(payload, "display_name", where) or None,
        flavor_id=type_id, flavor_name=type_name,
        root_gb=base._count(payload, "size", where), time_source=timed[1],
    )


def _volume_type(value: str | None) -> tuple[str | None, str | None]:
    """(type id, type name): Cinder's payload names the type by id, the simulated one by name."""
    try:
        uuid.UUID(value or "")
    except ValueError:
        return None, value
    return value, None


def _snapshot(message: Message, event_type: str, payload: Payload) -> Translation:
    from sws.events import translate as base

    where = "payload"
    action = SNAPSHOT_ACTIONS[event_type]
    timed = base._occurred_at(message, payload, where, terminal=action == DELETE,
                              keys=("created_at",) if action == CREATE else ())
    if timed is None:
        return base._untimed(message, event_type)
    return ResourceEvent(
        message_id=base.message_id_of(message), event_type=event_type,
        resource_type=VOLUME_SNAPSHOT,
        resource_id=base._required_str(payload, "snapshot_id", where),
        project_id=base._text(payload, "tenant_id", where), occurred_at=timed[0],
        action=action, state=base._text(payload, "status", where),
        name=base._text(payload, "display_name", where) or None,
        root_gb=base._count(payload, "volume_size", where), time_source=timed[1],
    )


TRANSLATORS: dict[str, Callable[[Message, str, Payload], Translation]] = {
    **dict.fromkeys(VOLUME_ACTIONS, _volume),
    **dict.fromkeys(SNAPSHOT_ACTIONS, _snapshot),
}
