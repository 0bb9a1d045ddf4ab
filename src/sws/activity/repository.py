"""SQL of the activity feed: each source's newest entries of one tenant, the unread count, marks.

Every read starts from an indexed tenant column: the events journal through `resources`
(project index) and its (type, id, time) index; alarm history through `alarms` (project
index) and its (alarm, time) index; billing's audit and payments by account. The journal has
no project or time index of its own on purpose (see sws.events.tables), so it is never scanned
by time alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import BindParameter

from sws.activity import model
from sws.activity.model import Entry
from sws.activity.tables import notice_marks
from sws.audit.tables import audit_log
from sws.billing.payments.tables import billing_payments
from sws.billing.tables import billing_audit
from sws.db.metadata import UTCDateTime
from sws.events.tables import resource_events, resources
from sws.metering.tables import alarm_history, alarms

_AMOUNT = re.compile(r"(-?\d+(?:\.\d+)?) ([A-Z]{3})\b")
_MONTH = re.compile(r"^(\d{4}-\d{2}):")
E, R = resource_events, resources
_JOURNAL = E.join(R, and_(R.c.resource_type == E.c.resource_type,
                          R.c.resource_id == E.c.resource_id))
_HISTORY = alarm_history.join(alarms, alarms.c.id == alarm_history.c.alarm_id)


# ---- keyset pages ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """Which entries a source gives: PAGE_SIZE + 1 past `cursor` (from the newest when None),
    newest first; or, `newer`, the PAGE_SIZE + 1 just newer than `cursor`, oldest first.

    The feed's order is (time, source, key); within one source that is (time, row key), so
    the condition on another source's cursor is on time alone: a source that sorts before
    the cursor's source keeps its entries of the cursor's very time, one after it does not.
    """

    cursor: model.Cursor | None = None
    newer: bool = False

    def apply(self, query: Select[Any], source: str, at: Any, key: Any) -> Select[Any]:
        limit = model.PAGE_SIZE + 1
        c = self.cursor
        if c is None:
            return query.order_by(at.desc(), key.desc()).limit(limit)
        mark = int(c.key) if source in model.NUMBERED and source == c.source else c.key
        if self.newer:
            if source == c.source:
                past = or_(at > c.at, and_(at == c.at, key > mark))
            else:
                past = at >= c.at if source > c.source else at > c.at
            return query.where(past).order_by(at.asc(), key.asc()).limit(limit)
        if source == c.source:
            past = or_(at < c.at, and_(at == c.at, key < mark))
        else:
            past = at <= c.at if source < c.source else at < c.at
        return query.where(past).order_by(at.desc(), key.desc()).limit(limit)


# ---- the events journal ---------------------------------------------------------------------


def _journal(tenant_id: Any, notices: bool) -> Select[Any]:
    query = select(E.c.id, E.c.resource_type, E.c.resource_id, E.c.region, E.c.occurred_at,
                   E.c.action, E.c.state, E.c.name, E.c.address, R.c.name.label("now_name"),
                   R.c.deleted_at)
    query = query.select_from(_JOURNAL).where(R.c.project_id == tenant_id)
    if notices:
        return query.where(or_(*(and_(R.c.resource_type == kind, E.c.action == action)
                                 for kind, action in model.RESOURCE_NOTICES)))
    return query.where(R.c.resource_type.in_(model.RESOURCE_TYPES),
                       E.c.action.not_in(model.QUIET_ACTIONS))


def resource_entries(conn: Connection, tenant_id: str, page: Page, notices: bool) -> list[Entry]:
    query = page.apply(_journal(tenant_id, notices), model.RESOURCE, E.c.occurred_at, E.c.id)
    return [_resource_entry(row) for row in conn.execute(query)]


def _resource_entry(row: Any) -> Entry:
    values = {"state": row.state or "", "address": row.address or ""}
    return Entry(
        at=row.occurred_at, source=model.RESOURCE, kind=f"{row.resource_type}.{row.action}",
        key=f"{row.id:012d}", resource_type=row.resource_type, resource_id=row.resource_id,
        name=row.name or row.now_name or "", region=row.region,
        notice=model.is_resource_notice(row.resource_type, row.action),
        live=row.deleted_at is None, values=values,
    )


# ---- alarm history --------------------------------------------------------------------------


def _history(tenant_id: Any, notices: bool) -> Select[Any]:
    query = select(alarm_history.c.id, alarm_history.c.alarm_id, alarm_history.c.at,
                   alarm_history.c.previous, alarm_history.c.state, alarms.c.name)
    query = query.select_from(_HISTORY).where(alarms.c.project_id == tenant_id)
    return query.where(alarm_history.c.state == model.ALARM_NOTICE_STATE) if notices else query


def alarm_entries(conn: Connection, tenant_id: str, page: Page, notices: bool) -> list[Entry]:
    query = page.apply(_history(tenant_id, notices), model.ALARM, alarm_history.c.at,
                       alarm_history.c.id)
    return [Entry(
        at=row.at, source=model.ALARM, kind=f"alarm.{row.state}", key=f"{row.id:012d}",
        resource_type="alarm", resource_id=row.alarm_id, name=row.name,
        notice=row.state == model.ALARM_NOTICE_STATE,
        values={"previous": row.previous, "state": row.state},
    ) for row in conn.execute(query)]


# ---- billing: the account's audit and failed payments ---------------------------------------


def _billing(tenant_id: Any, notices: bool) -> Select[Any]:
    actions = model.BILLING_NOTICES if notices else model.BILLING_ACTIONS
    return select(billing_audit).where(billing_audit.c.account_id == tenant_id,
                                       billing_audit.c.action.in_(actions))


def billing_entries(conn: Connection, tenant_id: str, page: Page, notices: bool) -> list[Entry]:
    query = page.apply(_billing(tenant_id, notices), model.BILLING, billing_audit.c.at,
                       billing_audit.c.id)
    return [_billing_entry(row) for row in conn.execute(query)]


def _billing_entry(row: Any) -> Entry:
    values = {"detail": row.detail}
    amount = _AMOUNT.search(row.detail)
    if amount:
        values.update(amount=amount.group(1), currency=amount.group(2))
    month = _MONTH.match(row.detail)
    if month:
        values["month"] = month.group(1)
    stopped = row.action in ("server_stopped", "server_started")
    return Entry(
        at=row.at, source=model.BILLING, kind=f"billing.{row.action}", key=f"{row.id:012d}",
        resource_type="instance" if stopped else None,
        resource_id=row.detail.split(":")[0] if stopped else None,
        notice=row.action in model.BILLING_NOTICES, values=values,
    )


def _failed(tenant_id: Any) -> Select[Any]:
    return select(billing_payments).where(billing_payments.c.account_id == tenant_id,
                                          billing_payments.c.state == model.PAYMENT_FAILED)


def payment_entries(conn: Connection, tenant_id: str, page: Page) -> list[Entry]:
    query = page.apply(_failed(tenant_id), model.PAYMENT, billing_payments.c.updated_at,
                       billing_payments.c.id)
    return [Entry(
        at=row.updated_at, source=model.PAYMENT, kind="payment.failed", key=row.id,
        resource_type="payment", resource_id=row.id, notice=True,
        values={"amount": str(row.amount), "currency": row.currency, "provider": row.provider},
    ) for row in conn.execute(query)]


# ---- the audit log: the tenant's suspensions and the user's own account changes -------------


def account_entries(conn: Connection, tenant_id: str, user_id: str, page: Page) -> list[Entry]:
    a = audit_log.c
    mine = or_(and_(a.target_type == "tenant", a.target_id == tenant_id),
               and_(a.target_type == "user", a.target_id == user_id))
    query = page.apply(select(audit_log).where(mine), model.ACCOUNT, a.occurred_at, a.id)
    return [Entry(
        at=row.occurred_at, source=model.ACCOUNT, kind=f"account.{row.action}",
        key=f"{row.id:012d}", values={"actor": row.actor_name, "outcome": row.outcome},
    ) for row in conn.execute(query)]


# ---- the bell -------------------------------------------------------------------------------


def _unread_statement() -> Select[Any]:
    """Notices of `:tenant_id` after `:since`: one statement of four indexed counts, built
    once (the bell runs it on every page, so neither building nor compiling is repeated)."""
    tenant: BindParameter[str] = bindparam("tenant_id")
    since = bindparam("since", type_=UTCDateTime())
    counts = (
        _count(_journal(tenant, True).where(E.c.occurred_at > since)),
        _count(_history(tenant, True).where(alarm_history.c.at > since)),
        _count(_billing(tenant, True).where(billing_audit.c.at > since)),
        _count(_failed(tenant).where(billing_payments.c.updated_at > since)),
    )
    return select(counts[0] + counts[1] + counts[2] + counts[3])


def _count(query: Select[Any]) -> Any:
    return select(func.count()).select_from(query.subquery()).scalar_subquery()


_UNREAD = _unread_statement()
_MARK = select(notice_marks.c.read_until).where(
    notice_marks.c.user_id == bindparam("user_id"),
    notice_marks.c.tenant_id == bindparam("tenant_id"))


def unread_count(conn: Connection, tenant_id: str, since: datetime) -> int:
    """How many notices of the tenant are newer than `since`."""
    found = conn.execute(_UNREAD, {"tenant_id": tenant_id, "since": since}).scalar_one()
    return int(found)


def read_until(conn: Connection, user_id: str, tenant_id: str) -> datetime | None:
    found = conn.execute(_MARK, {"user_id": user_id, "tenant_id": tenant_id}).scalar()
    return found if isinstance(found, datetime) else None


def mark_read(conn: Connection, user_id: str, tenant_id: str, until: datetime) -> None:
    """Move the user's mark forward to `until` (never back), creating it the first time."""
    m = notice_marks.c
    moved = conn.execute(update(notice_marks).where(
        m.user_id == user_id, m.tenant_id == tenant_id, m.read_until < until,
    ).values(read_until=until))
    if moved.rowcount or read_until(conn, user_id, tenant_id) is not None:
        return
    try:
        with conn.begin_nested():
            conn.execute(notice_marks.insert().values(
                user_id=user_id, tenant_id=tenant_id, read_until=until))
    except IntegrityError:
        pass  # another tab of the same user set it at the same moment
