"""Quota request persistence: rows in, QuotaRequest values out."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import Connection, RowMapping, Select, func, select, update

from sws.drivers.base import Quota
from sws.identity.tables import tenants
from sws.quotas.model import RESOURCES, QuotaRequest, State
from sws.quotas.tables import quota_requests as t


def _quota(row: RowMapping, prefix: str) -> Quota:
    return Quota(**{name: int(row[f"{prefix}_{name}"]) for name in RESOURCES})


def _request(row: RowMapping) -> QuotaRequest:
    return QuotaRequest(
        id=row["id"], tenant_id=row["tenant_id"], region=row["region"],
        requested_by=row["requested_by"], size=row["size"], current=_quota(row, "current"),
        wanted=_quota(row, "wanted"), reason=row["reason"], state=row["state"],
        created_at=row["created_at"], decided_at=row["decided_at"],
        decided_by=row["decided_by"], note=row["note"], language=row["language"],
    )


def insert(conn: Connection, request: QuotaRequest) -> None:
    values = {
        name: getattr(request, name)
        for name in QuotaRequest.__dataclass_fields__
        if name not in ("current", "wanted")
    }
    for prefix, quota in (("current", request.current), ("wanted", request.wanted)):
        values.update({f"{prefix}_{name}": value for name, value in asdict(quota).items()})
    conn.execute(t.insert().values(**values))


def get(conn: Connection, request_id: str, *, lock: bool = False) -> QuotaRequest | None:
    query = select(t).where(t.c.id == request_id)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    return _request(row) if row else None


def pending_for(conn: Connection, tenant_id: str, region: str) -> QuotaRequest | None:
    """The tenant's waiting request in `region`; the tenant's row is locked first, so two
    requests filed at once cannot both find none."""
    conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update())
    query = select(t).where(t.c.tenant_id == tenant_id, t.c.region == region,
                            t.c.state == "pending")
    row = conn.execute(query).mappings().first()
    return _request(row) if row else None


def last_approved_at(conn: Connection, tenant_id: str) -> datetime | None:
    query = select(func.max(t.c.decided_at)).where(
        t.c.tenant_id == tenant_id, t.c.state == "approved"
    )
    found: datetime | None = conn.execute(query).scalar()
    return found


def approved_tenants(region: str) -> Select[tuple[str]]:
    """The tenants with an approved request in `region`: their quota is the request's."""
    return select(t.c.tenant_id).where(t.c.region == region, t.c.state == "approved")


def latest_approved(conn: Connection, tenant_id: str, region: str) -> Quota | None:
    """The quota the tenant's last approved request in `region` set, if any."""
    query = (
        select(t)
        .where(t.c.tenant_id == tenant_id, t.c.region == region, t.c.state == "approved")
        .order_by(t.c.decided_at.desc(), t.c.id.desc())
        .limit(1)
    )
    row = conn.execute(query).mappings().first()
    return _quota(row, "wanted") if row else None


def list_requests(
    conn: Connection, *, tenant_id: str | None, state: State | None, limit: int,
    marker: str | None,
) -> list[QuotaRequest]:
    query = select(t).order_by(t.c.id).limit(limit)
    if tenant_id is not None:
        query = query.where(t.c.tenant_id == tenant_id)
    if state is not None:
        query = query.where(t.c.state == state)
    if marker is not None:
        query = query.where(t.c.id > marker)
    return [_request(row) for row in conn.execute(query).mappings()]


def record_decision(conn: Connection, request: QuotaRequest) -> None:
    conn.execute(
        update(t).where(t.c.id == request.id).values(
            state=request.state, decided_at=request.decided_at, decided_by=request.decided_by,
            note=request.note,
        )
    )
