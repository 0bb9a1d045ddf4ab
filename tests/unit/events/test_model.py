"""The fold of events into a resource's state: worked examples of each rule."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from sws.events.model import ResourceEvent, apply_event, fold

from .factories import T0, event


def _all_orders(events: list[ResourceEvent]) -> set[object]:
    return {fold(list(order)) for order in itertools.permutations(events)}


def test_created_at_is_the_earliest_create_and_attributes_the_latest_event() -> None:
    state = fold([event("b", "power_off", 20, state="stopped"), event("a", "create", 10)])
    assert state is not None
    assert state.created_at == T0 + timedelta(seconds=10)
    assert state.state == "stopped"
    assert state.last_action == "power_off"


def test_delete_is_terminal_even_when_a_create_arrives_after_it() -> None:
    delete = event("d", "delete", 30, state="deleted")
    late_create = event("c", "create", 10)
    state = fold([delete, late_create])
    assert state is not None
    assert state.state == "deleted"
    assert state.deleted_at == T0 + timedelta(seconds=30)
    assert state.created_at == T0 + timedelta(seconds=10)


def test_an_event_stamped_after_the_delete_does_not_resurrect() -> None:
    state = fold([event("d", "delete", 30, state="deleted"), event("e", "power_on", 40)])
    assert state is not None
    assert (state.state, state.end_action) == ("deleted", "delete")


def test_an_older_event_never_overwrites_newer_attributes() -> None:
    newer = event("n", "resize_finish", 50, state="resized", flavor="m1.large")
    older = event("o", "power_on", 40, flavor="m1.small")
    state = apply_event(fold([newer]), older)
    assert (state.flavor_name, state.state) == ("m1.large", "resized")


def test_ties_on_time_are_broken_by_message_id() -> None:
    first = event("aaa", "power_off", 10, state="stopped")
    second = event("bbb", "power_on", 10, state="active")
    assert len(_all_orders([first, second])) == 1
    state = fold([second, first])
    assert state is not None and state.state == "active"


def test_every_order_and_duplicates_give_the_same_state() -> None:
    events = [
        event("1", "create", 0),
        event("2", "power_off", 5, state="stopped"),
        event("3", "resize_finish", 9, state="resized", flavor="m1.large"),
        event("4", "delete", 12, state="deleted", name=None, project_id=None),
    ]
    assert len(_all_orders(events)) == 1
    assert fold(events + events[:2]) == fold(events)


def test_project_missing_from_the_latest_event_is_kept_from_another() -> None:
    state = fold([event("1", "create", 0), event("2", "delete", 5, project_id=None)])
    assert state is not None and state.project_id == "p-1"


def test_create_error_and_not_scheduled_delete_are_told_apart() -> None:
    failed = fold([event("1", "create_error", 0, state="error")])
    never_ran = fold([event("2", "delete_not_scheduled", 1, state="deleted")])
    assert failed is not None and never_ran is not None
    assert (failed.state, failed.created_at, failed.deleted_at) == ("error", None, None)
    assert (never_ran.end_action, never_ran.created_at) == ("delete_not_scheduled", None)


def test_soft_delete_is_not_terminal() -> None:
    state = fold([event("1", "soft_delete", 1, state="soft-delete"), event("2", "restore", 2)])
    assert state is not None
    assert (state.state, state.deleted_at) == ("active", None)


def test_an_event_about_another_resource_is_refused() -> None:
    state = fold([event("1", "create", 0)])
    assert state is not None
    other = ResourceEvent(
        message_id="x",
        event_type="instance.create.end",
        resource_type="instance",
        resource_id="i-2",
        project_id="p-1",
        occurred_at=T0,
        action="create",
    )
    with pytest.raises(ValueError, match="another resource"):
        apply_event(state, other)


def test_fold_of_nothing_is_none() -> None:
    assert fold([]) is None
