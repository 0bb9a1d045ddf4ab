"""Notifications captured from a real Cinder (tests/samples/cinder) become the expected events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

from sws.events.model import ResourceEvent
from sws.events.translate import Ignored, translate
from sws.events.translate_volumes import VOLUME, VOLUME_SNAPSHOT

LIFECYCLE = Path(__file__).resolve().parents[2] / "samples" / "cinder" / "captured-lifecycle.jsonl"
PROJECT = "c4c4b1fe1b464175a307d36ca766c3f7"
DATA = "f9dce990-f6aa-4f36-a545-6cf939e615b6"  # 1 GB local-ssd, extended to 2 GB, attached
RESTORED = "1ea9979e-238b-41e9-987c-6bc55ca1a6b4"  # 2 GB local-hdd, from the snapshot
SNAPSHOT = "52351b39-3d0a-45ae-81d3-0cc89dbb853a"
LOCAL_SSD_ID = "cb0e47fe-fc13-49f4-817b-4587d3eaef97"


def _messages() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LIFECYCLE.read_text().splitlines() if line.strip()]


def _events() -> list[ResourceEvent]:
    found = [translate(message) for message in _messages()]
    return [event for event in found if isinstance(event, ResourceEvent)]


def test_every_end_becomes_an_event_and_every_start_is_ignored() -> None:
    for message in _messages():
        event = translate(message)
        if message["event_type"].endswith(".start"):
            assert isinstance(event, Ignored), message["event_type"]
        else:
            assert isinstance(event, ResourceEvent), (message["event_type"], event)
            assert event.project_id == PROJECT


def test_the_lifecycle_reads_as_it_happened() -> None:
    seen = [(e.resource_type, e.resource_id, e.action, e.state, e.root_gb) for e in _events()]
    assert seen == [
        (VOLUME, DATA, "create", "available", 1),
        (VOLUME, DATA, "resize", "available", 2),
        (VOLUME_SNAPSHOT, SNAPSHOT, "create", "available", 2),
        (VOLUME, RESTORED, "create", "available", 2),
        (VOLUME, DATA, "attach", "in-use", 2),
        (VOLUME, DATA, "detach", "available", 2),
        (VOLUME, RESTORED, "delete", "deleted", 2),
        (VOLUME_SNAPSHOT, SNAPSHOT, "delete", "deleted", 2),
        (VOLUME, DATA, "delete", "deleted", 2),
    ]


def test_real_cinder_names_the_volume_type_by_id_not_by_name() -> None:
    created = _events()[0]
    assert (created.flavor_id, created.flavor_name) == (LOCAL_SSD_ID, None)
    assert created.name == "data"


def test_a_creation_is_dated_from_created_at_and_the_rest_from_the_message() -> None:
    events = _events()
    created, resized = events[0], events[1]
    assert created.time_source == "created_at"
    assert created.occurred_at.replace(microsecond=0) == datetime(2026, 12, 6, 20, 46, 41,
                                                                  tzinfo=UTC)
    assert resized.time_source == "notification"
    assert resized.occurred_at == datetime(2026, 12, 6, 20, 46, 43, 345854, tzinfo=UTC)
    assert all(a.occurred_at <= b.occurred_at for a, b in pairwise(events[1:]))


def test_each_message_keeps_its_own_id() -> None:
    ids = [e.message_id for e in _events()]
    assert len(set(ids)) == len(ids) == 9
