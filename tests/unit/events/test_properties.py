"""Property: shuffled, duplicated, batched notifications converge to the ordered result."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sws.clock import SimulatedClock
from sws.db.engine import Database, make_engine
from sws.db.metadata import metadata
from sws.db.migrate import load_all_tables
from sws.events import service
from sws.events.model import ResourceEvent, ResourceState, apply_event, fold
from sws.events.translate import translate
from tests.budget import examples

from .factories import T0, as_line, floating_ip_message, instance_message
from .samples import lifecycle_lines

_counter = itertools.count()


def _synthetic_lines() -> list[str]:
    """Several instances and a floating IP, with equal timestamps to exercise tie-breaks."""
    lines = []
    steps = ("create.end", "power_off.end", "power_on.end", "resize_finish.end", "delete.end")
    for n in range(3):
        for k, action in enumerate(steps):
            at = T0 + timedelta(minutes=k * (n + 1))  # k == 0: every create at the same time
            flavor = "m1.large" if action == "resize_finish.end" else "m1.small"
            message_id = f"syn-{n}-{k}"
            message = instance_message(
                message_id=message_id, uuid=f"i-{n}", action=action, at=at, flavor=flavor
            )
            lines.append(as_line(message))
    clash = instance_message(message_id="syn-0-x", uuid="i-0", action="power_off.end", at=T0)
    lines.append(as_line(clash))  # same time as i-0's create.end
    for k, (action, port) in enumerate(
        [("create.end", None), ("update.end", "port-1"), ("update.end", None), ("delete.end", None)]
    ):
        at = T0 + timedelta(seconds=k)
        fip = floating_ip_message(message_id=f"fip-{k}", fip_id="f-1", action=action, at=at)
        fip["payload"]["floatingip"]["port_id"] = port
        lines.append(as_line(fip))
    return lines


def _pool() -> list[str]:
    return lifecycle_lines() + _synthetic_lines()


@pytest.fixture(scope="module")
def pool() -> list[str]:
    return _pool()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("property-dbs")


def _fresh_db(directory: Path) -> Iterator[Database]:
    engine = make_engine(f"sqlite:///{directory / f'db-{next(_counter)}.sqlite'}")
    load_all_tables()
    metadata.create_all(engine)
    try:
        yield Database(engine)
    finally:
        engine.dispose()


def _final_states(directory: Path, batches: list[list[str]]) -> list[ResourceState]:
    clock = SimulatedClock(datetime(2027, 1, 1, tzinfo=UTC))
    for db in _fresh_db(directory):
        for batch in batches:
            service.ingest(db=db, envelopes=batch, clock=clock, region="r")
            clock.advance(timedelta(seconds=1))
        return service.list_resources(db=db, project_id=None, limit=1000)
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def ordered(pool: list[str], scratch: Path) -> list[ResourceState]:
    return _final_states(scratch, [pool])


def _split(lines: list[str], sizes: list[int]) -> list[list[str]]:
    batches: list[list[str]] = []
    start = 0
    for size in itertools.cycle(sizes or [len(lines)]):
        if start >= len(lines):
            return batches
        batches.append(lines[start : start + size])
        start += size
    raise AssertionError("unreachable")


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_shuffled_duplicated_batched_ingest_equals_ordered_ingest(
    data: st.DataObject, pool: list[str], scratch: Path, ordered: list[ResourceState]
) -> None:
    extra = data.draw(st.lists(st.sampled_from(pool), max_size=40), label="duplicates")
    arrival = data.draw(st.permutations(pool + extra), label="arrival order")
    sizes = data.draw(st.lists(st.integers(1, 60), min_size=1, max_size=8), label="batch sizes")

    assert _final_states(scratch, _split(arrival, sizes)) == ordered


@settings(max_examples=examples(200), deadline=None)
@given(data=st.data())
def test_pure_fold_is_order_independent(data: st.DataObject) -> None:
    events = [e for e in map(translate, _pool()) if isinstance(e, ResourceEvent)]
    by_resource = {e.resource_id for e in events}
    arrival = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events)))))
    for resource_id in by_resource:
        mine = [e for e in events if e.resource_id == resource_id]
        shuffled = [e for e in arrival if e.resource_id == resource_id]
        assert fold(shuffled) == fold(sorted(mine, key=lambda e: e.key))


@settings(max_examples=examples(200), deadline=None)
@given(data=st.data())
def test_one_pass_fold_equals_applying_one_event_at_a_time(data: st.DataObject) -> None:
    """`fold` builds one state per resource; `apply_event`, one event at a time, is the oracle,
    starting from nothing or from a state already stored (a split into two batches)."""
    events = [e for e in map(translate, _pool()) if isinstance(e, ResourceEvent)]
    arrival = data.draw(st.permutations(events + data.draw(st.lists(st.sampled_from(events)))))
    split = data.draw(st.integers(min_value=0, max_value=len(arrival)))
    for resource_id in {e.resource_id for e in events}:
        mine = [e for e in arrival if e.resource_id == resource_id]
        stored = fold(mine[:split])
        expected = stored
        for event in mine[split:]:
            expected = apply_event(expected, event)
        assert fold(mine[split:], state=stored) == expected


def test_ordered_reference_has_every_resource(ordered: list[ResourceState]) -> None:
    kinds = sorted((s.resource_type, s.resource_id, s.state) for s in ordered)
    instances = [k for k in kinds if k[0] == "instance"]
    assert len(instances) == 4 and all(state == "deleted" for _, _, state in instances)
    assert ("floating_ip", "f-1", "deleted") in kinds
