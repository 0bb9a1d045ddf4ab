"""`occurred_at` comes from the payload's own times, on the real captures (issue 22, defect 4).

The captured lifecycle is a real Nova's: its payload times are whole seconds and each message
is stamped 0.1 to 1.2 s after the change it reports.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sws.events.model import ResourceEvent
from sws.events.translate import translate

from .factories import T0, floating_ip_message, instance_message
from .samples import lifecycle_lines, load, require_samples


def _event(raw: Any) -> ResourceEvent:
    result = translate(raw)
    assert isinstance(result, ResourceEvent), result
    return result


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=UTC)


def _captured() -> list[tuple[dict[str, Any], ResourceEvent]]:
    """The tracked instance events of the captured lifecycle, with their messages."""
    found = []
    for line in lifecycle_lines():
        message = json.loads(line)
        result = translate(message)
        if isinstance(result, ResourceEvent) and result.resource_type == "instance":
            found.append((message, result))
    return found


EXPECTED_SOURCES = {
    "create": "launched_at", "power_off": "updated_at", "power_on": "updated_at",
    "exists": "updated_at", "resize_finish": "updated_at", "resize_confirm": "updated_at",
    "shelve": "updated_at", "shelve_offload": "updated_at", "unshelve": "updated_at",
    "delete": "terminated_at",
}


def test_captured_lifecycle_takes_each_action_time_from_its_payload_field() -> None:
    captured = _captured()
    assert {e.action: e.time_source for _, e in captured} == EXPECTED_SOURCES
    for message, event in captured:
        field = message["payload"]["nova_object.data"][event.time_source or ""]
        second = _utc(field)
        stamped = _utc(message["timestamp"])
        # inside the second the payload names, and never after the notification was stamped
        assert second <= event.occurred_at < second + timedelta(seconds=1), event
        assert event.occurred_at <= stamped


def test_captured_delete_stamped_inside_its_second_closes_at_the_stamp() -> None:
    message, delete = next((m, e) for m, e in _captured() if e.action == "delete")
    assert message["payload"]["nova_object.data"]["terminated_at"] == "2026-11-21T06:42:59Z"
    assert message["timestamp"] == "2026-11-21 06:42:59.951012"
    assert delete.occurred_at == datetime(2026, 11, 21, 6, 42, 59, 951012, tzinfo=UTC)


def test_captured_power_on_is_placed_at_its_update_not_its_stamp() -> None:
    # power_on saved at 06:42:51, notified at 06:42:52.248: the end of 06:42:51 it is
    _, power_on = next((m, e) for m, e in _captured() if e.action == "power_on")
    assert power_on.occurred_at == datetime(2026, 11, 21, 6, 42, 51, 999999, tzinfo=UTC)


def test_captured_actions_in_one_payload_second_keep_the_order_they_were_notified() -> None:
    # shelve and shelve_offload both carry updated_at 06:42:57; their stamps tell them apart
    order = [e for _, e in sorted(_captured(), key=lambda pair: pair[1].key)]
    actions = [e.action for e in order]
    assert actions.index("shelve") < actions.index("shelve_offload") < actions.index("unshelve")
    assert actions == [e.action for _, e in _captured()]  # the capture's own order


def test_deleted_at_105959_8_notified_at_110000_4_stays_in_the_hour_it_happened() -> None:
    message = instance_message(message_id="d", uuid="i-1", action="delete.end",
                               at=datetime(2026, 3, 2, 10, 59, 59, 800000, tzinfo=UTC))
    message["timestamp"] = "2026-03-02 11:00:00.400000"
    delete = _event(message)
    assert delete.time_source == "terminated_at"
    assert delete.occurred_at == datetime(2026, 3, 2, 10, 59, 59, 999999, tzinfo=UTC)


def test_a_payload_time_with_a_fraction_is_taken_as_it_is() -> None:
    message = instance_message(message_id="d", uuid="i-1", action="delete.end", at=T0)
    message["payload"]["nova_object.data"]["terminated_at"] = "2026-11-21T05:59:59.250000Z"
    message["timestamp"] = "2026-11-21 06:00:00.400000"
    assert _event(message).occurred_at == datetime(2026, 11, 21, 5, 59, 59, 250000, tzinfo=UTC)


def test_an_instance_without_launched_at_opens_at_the_notification_stamp() -> None:
    message = instance_message(message_id="c", uuid="i-1", action="create.end", at=T0)
    message["payload"]["nova_object.data"]["launched_at"] = None
    created = _event(message)
    assert (created.occurred_at, created.time_source) == (T0, "notification")


def test_neutron_captures_open_at_created_at_and_close_at_the_stamp() -> None:
    require_samples()
    created = _event(load("neutron/floatingip.create.end.captured.json"))
    deleted = _event(load("neutron/floatingip.delete.end.captured.json"))
    assert created.time_source == "created_at"
    assert created.occurred_at.replace(microsecond=0) == datetime(2026, 11, 21, 6, 12, 20,
                                                                   tzinfo=UTC)
    # a deleted floating IP's payload is the IP as it was: its updated_at is not the delete
    assert deleted.time_source == "notification"


@pytest.mark.parametrize(
    ("message", "stamp", "placed"),
    [
        pytest.param(
            instance_message(message_id="r", uuid="i-1", action="resize_finish.end",
                             at=T0 + timedelta(minutes=10), flavor="m1.medium"),
            "2026-11-21 06:10:01.300000", datetime(2026, 11, 21, 6, 10, 0, 999999, tzinfo=UTC),
            id="a-resize-switches-at-it",
        ),
        pytest.param(
            floating_ip_message(message_id="a", fip_id="f", action="update.end",
                                at=T0 + timedelta(hours=2), port_id="p"),
            "2026-11-21 08:00:03.000000", datetime(2026, 11, 21, 8, 0, 0, 999999, tzinfo=UTC),
            id="a-floating-ip-association-is-placed-at-it",
        ),
    ],
)
def test_an_update_is_placed_at_its_payload_update(
    message: dict[str, Any], stamp: str, placed: datetime
) -> None:
    message["timestamp"] = stamp
    event = _event(message)
    assert (event.time_source, event.occurred_at) == ("updated_at", placed)


def test_octavia_sample_opens_at_created_at() -> None:
    require_samples()
    created = _event(load("octavia/octavia.loadbalancer.create.end.json"))
    # created_at "2022-04-22T23:02:14.000000", stamped 23:02:15.717375
    assert created.time_source == "created_at"
    assert created.occurred_at == datetime(2022, 4, 22, 23, 2, 14, 999999, tzinfo=UTC)


def test_flavors_have_no_payload_time_and_use_the_stamp() -> None:
    flavor = json.loads(next(line for line in lifecycle_lines() if "flavor.create" in line))
    event = _event(flavor)
    assert event.time_source == "notification"
    assert event.occurred_at == _utc(flavor["timestamp"])
