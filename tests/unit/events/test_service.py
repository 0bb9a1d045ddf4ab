"""Ingest worked examples: the captured lifecycle, floating IPs, dead letters and idempotency."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid, NotFound
from sws.events import service
from sws.events.bus import InProcessBus
from sws.events.tables import dead_letters, processed_messages, resource_events, resources

from .factories import T0, as_line, floating_ip_message, instance_message
from .samples import envelope, lifecycle_lines, load

SERVER = "f702eb52-1ad4-40e4-a0f7-71f345300e05"
REGION = "region-one"


def _rows(db: Database) -> dict[str, int]:
    tables = (processed_messages, dead_letters, resource_events, resources)
    with db.read() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables
        }


def _import(
    db: Database, clock: SimulatedClock, lines: list[str], batch_size: int = 1000
) -> service.IngestCounts:
    return service.import_jsonl(
        db=db, lines=lines, clock=clock, region=REGION, batch_size=batch_size
    )


def test_captured_lifecycle_ends_deleted_created_at_create_end_on_m1_small(
    database: Database, clock: SimulatedClock
) -> None:
    counts = _import(database, clock, lifecycle_lines(), batch_size=10)

    assert counts == service.IngestCounts(accepted=15, duplicate=0, dead_lettered=0, ignored=65)
    server = service.get_resource(db=database, resource_id=SERVER)
    assert server.state == "deleted"
    assert server.end_action == "delete"
    assert server.created_at is not None
    assert server.created_at.isoformat() == "2026-11-21T06:42:49.444861+00:00"
    assert server.deleted_at is not None
    assert server.deleted_at.isoformat() == "2026-11-21T06:42:59.951012+00:00"
    assert (server.flavor_name, server.vcpus, server.memory_mb) == ("m1.small", 2, 1024)
    assert (server.region, server.project_id) == (REGION, "34cda4d305544b41a32555cafe972e3f")


def test_captured_lifecycle_journal_is_in_time_order(
    database: Database, clock: SimulatedClock
) -> None:
    _import(database, clock, list(reversed(lifecycle_lines())))
    history = service.resource_history(db=database, resource_id=SERVER, resource_type="instance")
    assert [e.action for e in history] == [
        "create", "power_off", "power_on", "exists", "resize_finish", "resize_confirm",
        "exists", "shelve", "shelve_offload", "unshelve", "delete",
    ]  # fmt: skip


def test_floating_ip_create_then_delete(database: Database, clock: SimulatedClock) -> None:
    created = envelope(load("neutron/floatingip.create.end.captured.json"))
    deleted = envelope(load("neutron/floatingip.delete.end.captured.json"))
    first = service.ingest(db=database, envelopes=[created], clock=clock, region=REGION)
    fip_id = "c30bfbab-9c71-4673-b862-ffe397d6aca4"
    assert service.get_resource(db=database, resource_id=fip_id).state == "DOWN"

    second = service.ingest(db=database, envelopes=[deleted], clock=clock, region=REGION)

    assert first.accepted == second.accepted == 1
    fip = service.get_resource(db=database, resource_id=fip_id, resource_type="floating_ip")
    assert (fip.state, fip.address) == ("deleted", "203.0.113.61")
    assert fip.created_at is not None and fip.deleted_at is not None
    assert fip.deleted_at - fip.created_at == timedelta(microseconds=485588)


def test_malformed_inputs_are_dead_lettered_with_their_reason(
    database: Database, clock: SimulatedClock
) -> None:
    good = instance_message(message_id="ok", uuid="i-1", action="create.end", at=T0)
    no_uuid = instance_message(message_id="nu", uuid="i-2", action="create.end", at=T0)
    del no_uuid["payload"]["nova_object.data"]["uuid"]
    bad_time = instance_message(message_id="bt", uuid="i-3", action="create.end", at=T0)
    bad_time["timestamp"] = "late"
    lines = [
        "this is not json",
        as_line(good),
        json.dumps({"payload": {}}),
        "",
        as_line(no_uuid),
        as_line(bad_time),
    ]

    counts = _import(database, clock, lines)

    assert counts == service.IngestCounts(accepted=1, duplicate=0, dead_lettered=4, ignored=0)
    letters = service.list_dead_letters(db=database)
    assert sorted(letter.reason.split(":")[0] for letter in letters) == [
        "line 1", "line 3", "line 5", "line 6",
    ]  # fmt: skip
    reasons = {letter.source: letter.reason for letter in letters}
    assert reasons["import:1"].startswith("line 1: not JSON")
    assert reasons["import:3"] == "line 3: missing event_type"
    assert reasons["import:5"] == (
        "line 5: instance.create.end: missing payload.nova_object.data.uuid"
    )
    assert reasons["import:6"].startswith("line 6: instance.create.end: bad timestamp 'late'")
    assert {letter.raw for letter in letters} >= {"this is not json", as_line(bad_time)}
    assert letters[0].received_at == clock.now()
    assert _rows(database)["resources"] == 1


def test_same_file_twice_is_all_duplicates_the_second_time(
    database: Database, clock: SimulatedClock
) -> None:
    lines = lifecycle_lines()
    _import(database, clock, lines)
    before = _rows(database)
    clock.advance(timedelta(hours=1))

    again = _import(database, clock, lines, batch_size=7)

    assert again == service.IngestCounts(duplicate=len(lines))
    assert _rows(database) == before


def test_duplicates_within_one_batch_are_counted_once(
    database: Database, clock: SimulatedClock
) -> None:
    message = instance_message(message_id="dup", uuid="i-1", action="create.end", at=T0)
    batch: list[service.Raw] = [message, envelope(message), json.dumps(message)]
    counts = service.ingest(db=database, envelopes=batch, clock=clock, region=REGION)
    assert counts == service.IngestCounts(accepted=1, duplicate=2)
    assert _rows(database)["resource_events"] == 1


def test_delete_before_create_gives_the_ordered_result(
    database: Database, clock: SimulatedClock
) -> None:
    create = instance_message(message_id="c", uuid="i-1", action="create.end", at=T0)
    later = T0 + timedelta(hours=2)
    delete = instance_message(message_id="d", uuid="i-1", action="delete.end", at=later)
    service.ingest(db=database, envelopes=[delete], clock=clock, region=REGION)
    service.ingest(db=database, envelopes=[create], clock=clock, region=REGION)
    state = service.get_resource(db=database, resource_id="i-1")
    assert (state.state, state.created_at, state.deleted_at) == ("deleted", T0, later)


def test_bus_batches_are_ingested(database: Database, clock: SimulatedClock) -> None:
    bus = InProcessBus(batch_size=4)
    results: list[service.IngestCounts] = []
    consume = service.bus_consumer(db=database, clock=clock, region=REGION)
    bus.subscribe(lambda batch: results.append(consume(batch)))
    for line in lifecycle_lines():
        bus.publish(envelope(json.loads(line)))
    assert bus.flush() == 80
    assert sum(results, service.IngestCounts()).accepted == 15


def test_listing_resources_is_scoped_and_paged(database: Database, clock: SimulatedClock) -> None:
    _import(database, clock, lifecycle_lines())
    project = "34cda4d305544b41a32555cafe972e3f"
    mine = service.list_resources(db=database, project_id=project)
    assert {(r.resource_type, r.state) for r in mine} == {
        ("instance", "deleted"),
        ("floating_ip", "deleted"),
    }
    assert service.list_resources(db=database, project_id=project, include_deleted=False) == []
    assert service.list_resources(db=database, project_id="someone-else") == []
    flavors = service.list_resources(db=database, project_id=None, resource_type="flavor")
    assert sorted(f.name or "" for f in flavors) == ["m1.small", "m1.tiny"]
    page = service.list_resources(db=database, project_id=None, limit=1, offset=1)
    assert len(page) == 1


def test_unknown_resource_is_not_found(database: Database) -> None:
    with pytest.raises(NotFound):
        service.get_resource(db=database, resource_id="nope")


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (1001, 0), (10, -1)])
def test_bad_pages_are_refused(database: Database, limit: int, offset: int) -> None:
    with pytest.raises(Invalid):
        service.list_dead_letters(db=database, limit=limit, offset=offset)


def test_dead_letters_are_listed_newest_first(database: Database, clock: SimulatedClock) -> None:
    _import(database, clock, ["one", "two", "three"])
    letters = service.list_dead_letters(db=database, limit=2)
    assert [letter.raw for letter in letters] == ["three", "two"]
    assert service.count_dead_letters(db=database) == 3


def test_synthetic_floating_ip_association(database: Database, clock: SimulatedClock) -> None:
    messages: list[dict[str, Any]] = [
        floating_ip_message(message_id="1", fip_id="f", action="create.end", at=T0),
        floating_ip_message(
            message_id="2", fip_id="f", action="update.end", at=T0 + timedelta(1), port_id="p"
        ),
    ]
    service.ingest(db=database, envelopes=messages, clock=clock, region=REGION)
    fip = service.get_resource(db=database, resource_id="f")
    assert (fip.last_action, fip.port_id, fip.state) == ("associate", "p", "ACTIVE")
