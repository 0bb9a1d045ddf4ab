"""Audit values: an entry to record and an entry as stored; pure, no framework."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from sws.errors import Invalid

Outcome = Literal["ok", "refused"]
MAX_DETAIL = 1000
ACTION_PATTERN = r"^[a-z][a-z_]*\.[a-z][a-z_]*$"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An admin action about to be recorded; `detail` never holds a secret such as a password."""

    actor_user_id: str
    actor_name: str
    action: str  # "<target type>.<verb>", e.g. "user.reset_password"
    target_type: str
    target_id: str
    detail: str = ""
    outcome: Outcome = "ok"
    source: str = "console"
    remote_addr: str | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    occurred_at: datetime
    actor_user_id: str
    actor_name: str
    action: str
    target_type: str
    target_id: str
    detail: str
    outcome: str
    source: str
    remote_addr: str | None


def check_record(record: AuditRecord) -> AuditRecord:
    """Refuse malformed actions and cut an over-long detail rather than lose the entry."""
    if not re.match(ACTION_PATTERN, record.action):
        raise Invalid(f"audit action {record.action!r} is not like 'user.create'", field="action")
    if len(record.detail) > MAX_DETAIL:
        return replace(record, detail=record.detail[: MAX_DETAIL - 1] + "…")
    return record
