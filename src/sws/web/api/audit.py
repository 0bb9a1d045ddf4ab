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
from sws.paging import int_marker
from sws.web.deps import Admin, Page, Paged, Services

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


@router.get("/audit", response_model=Page[AuditEntryRead])
def list_audit(
    _admin: Admin,
    services: Services,
    page: Paged,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=64, description="the actor's name")] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[AuditEntryRead]:
    """Newest first; `marker` is the id of the last entry seen."""
    entries = audit.list_entries(
        db=services.db, limit=page.limit, before=int_marker(page.request), action=action,
        actor=actor, target_id=target_id,
    )
    return page.of([AuditEntryRead.model_validate(e, from_attributes=True) for e in entries])
