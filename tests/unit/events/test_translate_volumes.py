"""Cinder's notifications, as the simulated region sends them, become volume resource events."""

from __future__ import annotations

from datetime import UTC, datetime

from sws.drivers.simulated.notifications import envelope
from sws.drivers.simulated.volumes import cinder_message
from sws.events.translate import Ignored, translate
from sws.events.translate_volumes import VOLUME, VOLUME_SNAPSHOT

AT = datetime(2026, 12, 6, 10, 30, 15, 250_000, tzinfo=UTC)


def _volume_payload(status: str, size: int = 10) -> dict[str, object]:
    return {"tenant_id": "acme", "user_id": "alice", "volume_id": "v-1", "display_name": "db",
            "size": size, "volume_type": "local-ssd", "status": status,
            "created_at": "2026-12-06T10:00:00Z", "host": "compute-01@island#local-ssd"}


def test_a_created_volume_is_dated_from_its_creation() -> None:
    message = cinder_message("volume.create.end", _volume_payload("available"), "acme", "alice",
                             "compute-01", AT)
    event = translate(envelope(message))
    assert not isinstance(event, Ignored)
    assert (event.resource_type, event.resource_id, event.project_id, event.action) == (
        VOLUME, "v-1", "acme", "create")
    assert (event.state, event.flavor_name, event.root_gb, event.name) == (
        "available", "local-ssd", 10, "db")
    assert event.occurred_at.replace(microsecond=0) == datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def test_a_resize_is_dated_by_the_notification_and_carries_the_new_size() -> None:
    message = cinder_message("volume.resize.end", _volume_payload("available", 20), "acme",
                             "alice", "compute-01", AT)
    event = translate(envelope(message))
    assert not isinstance(event, Ignored)
    assert (event.action, event.root_gb, event.occurred_at) == ("resize", 20, AT)


def test_snapshots_are_their_own_resources() -> None:
    payload = {"tenant_id": "acme", "user_id": "alice", "snapshot_id": "s-1", "volume_id": "v-1",
               "display_name": "nightly", "volume_size": 10, "status": "deleted",
               "created_at": "2026-12-06T09:00:00Z"}
    event = translate(envelope(cinder_message("snapshot.delete.end", payload, "acme", "alice",
                                              "compute-01", AT)))
    assert not isinstance(event, Ignored)
    assert (event.resource_type, event.resource_id, event.action, event.is_terminal) == (
        VOLUME_SNAPSHOT, "s-1", "delete", True)


def test_other_cinder_events_are_ignored() -> None:
    message = cinder_message("volume.create.start", _volume_payload("creating"), "acme", "alice",
                             "compute-01", AT)
    assert isinstance(translate(envelope(message)), Ignored)
