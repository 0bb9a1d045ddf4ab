"""Recording admin API actions in the audit log, and reading the log back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from sws.audit import service as audit
from sws.audit.model import AuditRecord
from sws.bootstrap import Container
from sws.identity.model import Principal
from sws.web.api.params import Offset
from sws.web.deps import Admin, Services

router = APIRouter(prefix="/v1/admin", tags=["admin"])


def record(
    services: Container, admin: Principal, action: str, target_id: str, detail: str = ""
) -> None:
    """Write one successful admin action, e.g. `record(s, a, "user.disable", user_id)`."""
    entry = AuditRecord(
        actor_user_id=admin.user_id, actor_name=admin.user_name, action=action,
        target_type=action.split(".")[0], target_id=target_id, detail=detail, source="api",
    )
    audit.record(db=services.db, clock=services.clock, entry=entry)


class AuditEntryRead(BaseModel):
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


class AuditPage(BaseModel):
    total: int
    items: list[AuditEntryRead]


@router.get("/audit", response_model=AuditPage)
def list_audit(
    _admin: Admin,
    services: Services,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 100,
    offset: Offset = 0,
    action: Annotated[str | None, Query(max_length=64)] = None,
) -> AuditPage:
    entries = audit.list_entries(db=services.db, limit=limit, offset=offset, action=action)
    return AuditPage(
        total=audit.count_entries(db=services.db, action=action),
        items=[AuditEntryRead.model_validate(e, from_attributes=True) for e in entries],
    )
