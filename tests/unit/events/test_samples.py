"""Every shared notification sample translates to a ResourceEvent or an Ignored, never an error."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from sws.events.model import ResourceEvent
from sws.events.translate import Ignored, translate

from .samples import (
    MISSING,
    SAMPLES,
    envelope,
    lifecycle_line_numbers,
    lifecycle_lines,
    load,
    raw_nova_files,
    require_samples,
    translatable_files,
)


def _assert_translated(result: ResourceEvent | Ignored) -> None:
    if isinstance(result, Ignored):
        assert result.reason.strip(), "an Ignored must say why"
        assert result.message_id
        return
    assert result.occurred_at.tzinfo is UTC
    assert result.resource_id and result.message_id and result.action


@pytest.mark.parametrize("relative", translatable_files())
def test_sample_file_translates(relative: str) -> None:
    if relative == MISSING:
        require_samples()
    message = load(relative)
    result = translate(message)
    _assert_translated(result)
    assert translate(envelope(message)) == result, "envelope and inner message agree"
    assert translate(json.dumps(message)) == result, "text and dict agree"


@pytest.mark.parametrize("number", lifecycle_line_numbers())
def test_lifecycle_line_translates(number: int) -> None:
    lines = lifecycle_lines()
    _assert_translated(translate(lines[number - 1]))


@pytest.mark.parametrize("name", raw_nova_files())
def test_raw_nova_sample_has_resolved_twin(name: str) -> None:
    if name == MISSING:
        require_samples()
    raw = load(f"nova/raw/{name}")
    twin = load(f"nova/resolved/{name}")
    assert twin["event_type"] == raw["event_type"]
    assert "$ref" not in json.dumps(twin)


@pytest.mark.parametrize(
    ("relative", "action", "state"),
    [
        ("nova/resolved/instance-create-end.json", "create", "active"),
        ("nova/resolved/instance-create-error.json", "create_error", "error"),
        ("nova/resolved/instance-delete-end.json", "delete", "deleted"),
        ("nova/resolved/instance-delete-end_compute_down.json", "delete", "deleted"),
        ("nova/resolved/instance-delete-end_not_scheduled.json", "delete_not_scheduled", "deleted"),
        ("nova/resolved/instance-soft_delete-end.json", "soft_delete", "soft-delete"),
        ("nova/resolved/instance-resize_finish-end.json", "resize_finish", "resized"),
        ("nova/resolved/instance-shelve_offload-end.json", "shelve_offload", "shelved_offloaded"),
        ("nova/resolved/instance-exists.json", "exists", "active"),
        ("nova/resolved/instance-snapshot-end.json", "snapshot", "active"),
        ("nova/captured-lifecycle/30-instance.power_off.end.json", "power_off", "stopped"),
        ("nova/captured-lifecycle/00-flavor.create.json", "create", "active"),
        ("neutron/floatingip.create.end.captured.json", "create", "DOWN"),
        ("neutron/floatingip.delete.end.captured.json", "delete", "DOWN"),
        ("octavia/octavia.loadbalancer.create.end.json", "create", "PENDING_CREATE"),
    ],
)
def test_billing_relevant_samples_become_events(relative: str, action: str, state: str) -> None:
    result = translate(load(relative))
    assert isinstance(result, ResourceEvent)
    assert (result.action, result.state) == (action, state)


@pytest.mark.parametrize(
    "relative",
    [
        "nova/resolved/instance-update.json",
        "nova/resolved/instance-create-start.json",
        "nova/captured-lifecycle/17-scheduler.select_destinations.end.json",
        "nova/captured-lifecycle/02-image.create.json",
        "nova/captured-lifecycle/45-instance.resize.end.json",
        "neutron/network.create.end.captured.json",
        # Nova's documentation samples of flavor.* carry no time at all.
        "nova/resolved/flavor-create.json",
    ],
)
def test_untracked_samples_are_ignored(relative: str) -> None:
    assert isinstance(translate(load(relative)), Ignored)


def test_an_instance_update_that_renames_is_a_rename_event() -> None:
    """Nova sets `old_display_name` only when the name changed: that update is a rename."""
    message = load("nova/resolved/instance-update.json")
    data = message["payload"]["nova_object.data"]
    renamed = {**data, "old_display_name": "some-server", "display_name": "db-1",
               "updated_at": "2012-10-29T13:50:00Z"}
    event = translate({**message, "payload": {**message["payload"], "nova_object.data": renamed}})
    assert isinstance(event, ResourceEvent)
    assert (event.action, event.name, event.resource_id) == ("rename", "db-1", data["uuid"])
    assert event.occurred_at.isoformat() == "2012-10-29T13:50:00+00:00"
    same = {**data, "old_display_name": "some-server", "display_name": "some-server"}
    unchanged = {**message, "payload": {**message["payload"], "nova_object.data": same}}
    assert isinstance(translate(unchanged), Ignored)


def test_captured_instance_event_carries_billing_attributes() -> None:
    event = translate(load("nova/captured-lifecycle/26-instance.create.end.json"))
    assert isinstance(event, ResourceEvent)
    assert event.resource_type == "instance"
    assert event.resource_id == "f702eb52-1ad4-40e4-a0f7-71f345300e05"
    assert event.project_id == "34cda4d305544b41a32555cafe972e3f"
    assert (event.flavor_name, event.vcpus, event.memory_mb, event.root_gb) == (
        "m1.tiny",
        1,
        512,
        1,
    )
    assert event.name == "web-1"
    assert event.occurred_at.isoformat() == "2026-11-21T06:42:49.444861+00:00"
    assert (
        event.launched_at is not None
        and event.launched_at.isoformat() == "2026-11-21T06:42:49+00:00"
    )


def test_doc_sample_without_message_id_gets_a_stable_content_key() -> None:
    message = load("nova/resolved/instance-create-end.json")
    first, second = translate(message), translate(json.loads(json.dumps(message)))
    assert first.message_id == second.message_id
    assert first.message_id.startswith("sha256:") and len(first.message_id) == 7 + 64


def test_samples_directory_is_where_the_tests_expect() -> None:
    require_samples()
    assert (SAMPLES / "README.md").is_file()
