"""Worked example through the whole billing path (notification -> ingest -> farmer -> ledger):
a subscription closes at Nova's `terminated_at`, not at the later notification stamp (issue 22,
defect 4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sws.events import service as events
from tests.unit.billing.conftest import Books
from tests.unit.billing.helpers import at
from tests.unit.events.factories import instance_message


def _nova(books: Books, action: str, *, payload: dict[str, Any], stamped: str) -> dict[str, Any]:
    """An `instance.<action>` for vm-1 of the tenant, with Nova's payload times and its stamp."""
    message = instance_message(message_id=f"vm-1-{action}", uuid="vm-1", action=action,
                               at=at("2026-03-02 00:00"))
    message["payload"]["nova_object.data"].update(tenant_id=books.tenant, **payload)
    message["timestamp"] = stamped
    return message


def test_deleted_at_105959_8_and_notified_at_110000_4_pays_eleven_started_hours(
    books: Books,
) -> None:
    # m1.small, 0.42 CNY per started hour. Launched at 00:00:00.3, deleted at 10:59:59.8.
    # Nova writes its payload times to the second; the notification of the delete is stamped
    # 0.6 s later, in the next hour.
    created = _nova(books, "create.end", payload={"launched_at": "2026-03-02T00:00:00Z"},
                    stamped="2026-03-02 00:00:00.900000")
    deleted = _nova(books, "delete.end", payload={"terminated_at": "2026-03-02T10:59:59Z",
                                                  "updated_at": "2026-03-02T10:59:59Z"},
                    stamped="2026-03-02 11:00:00.400000")
    counts = events.ingest(db=books.db, envelopes=[created, deleted], clock=books.clock,
                           region="RegionOne")
    assert counts.accepted == 2

    books.farm(at("2026-03-03 00:00"))

    hours = [start.hour for start, _ in books.charged()]
    assert hours == list(range(11))  # 00:00 to 10:00; the hour 11:00 never started
    assert books.journal_total() == Decimal("-4.62")  # 11 x 0.42, not 12 x 0.42 = 5.04
    journal = events.resource_history(db=books.db, resource_id="vm-1", resource_type="instance")
    assert [(e.action, e.time_source) for e in journal] == [
        ("create", "launched_at"), ("delete", "terminated_at")]
