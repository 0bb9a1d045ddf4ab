"""The audit domain: entries are appended in order, filtered, and kept within bounds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sws.audit import service as audit
from sws.audit.model import MAX_DETAIL, AuditRecord
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.errors import Invalid


def _record(action: str, actor: str = "admin", detail: str = "") -> AuditRecord:
    return AuditRecord(actor_user_id="u1", actor_name=actor, action=action, target_type="user",
                       target_id="t1", detail=detail)


def test_entries_come_back_newest_first_and_filtered(
    database: Database, clock: SimulatedClock
) -> None:
    audit.record(db=database, clock=clock, entry=_record("user.create"))
    clock.advance(timedelta(minutes=1))
    audit.record(db=database, clock=clock, entry=_record("user.disable", actor="ops"))
    entries = audit.list_entries(db=database)
    assert [e.action for e in entries] == ["user.disable", "user.create"]
    assert entries[0].occurred_at == clock.now()
    assert [e.action for e in audit.list_entries(db=database, actor="ops")] == ["user.disable"]
    assert audit.count_entries(db=database, action="user.create") == 1


def test_a_malformed_action_is_refused_and_a_long_detail_is_cut(
    database: Database, clock: SimulatedClock
) -> None:
    with pytest.raises(Invalid):
        audit.record(db=database, clock=clock, entry=_record("Create User"))
    audit.record(db=database, clock=clock, entry=_record("user.create", detail="x" * 5000))
    (entry,) = audit.list_entries(db=database)
    assert len(entry.detail) == MAX_DETAIL and entry.detail.endswith("…")
    with pytest.raises(Invalid):
        audit.list_entries(db=database, limit=0)
