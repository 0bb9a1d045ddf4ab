"""SQL for the dead letters of every source: one UNION ALL over the events domain's
`dead_letters` and the payments domain's refused callbacks, filtered, newest first."""

from __future__ import annotations

from sqlalchemy import String, Subquery, cast, func, literal, null, select
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from sws.billing.payments.tables import billing_payment_dead_letters as refused_callbacks
from sws.deadletters.model import (
    NOTIFICATION,
    PAYMENT,
    PAYMENT_SOURCE,
    DeadLetter,
    DeadLetterFilter,
)
from sws.events.tables import dead_letters as refused_notifications


def page(conn: Connection, wanted: DeadLetterFilter, limit: int, offset: int) -> list[DeadLetter]:
    """One page of the letters `wanted` lets through, newest first."""
    letters = _letters()
    query = (
        select(letters).where(*_conditions(letters, wanted))
        .order_by(letters.c.received_at.desc(), letters.c.kind, letters.c.id.desc())
        .limit(limit).offset(offset)
    )
    return [_letter(row) for row in conn.execute(query).mappings()]


def count(conn: Connection, wanted: DeadLetterFilter) -> int:
    letters = _letters()
    query = select(func.count()).select_from(letters).where(*_conditions(letters, wanted))
    return int(conn.execute(query).scalar_one())


def _letters() -> Subquery:
    notifications = refused_notifications.c
    payments = refused_callbacks.c
    return select(
        literal(NOTIFICATION).label("kind"), notifications.id, notifications.received_at,
        notifications.source, notifications.reason, notifications.raw.label("body"),
        cast(null(), String(64)).label("payment_id"),
    ).union_all(select(
        literal(PAYMENT).label("kind"), payments.id, payments.received_at,
        (literal(PAYMENT_SOURCE) + payments.provider).label("source"), payments.reason,
        payments.body, payments.payment_id,
    )).subquery("letters")


def _conditions(letters: Subquery, wanted: DeadLetterFilter) -> list[ColumnElement[bool]]:
    conditions = []
    if wanted.kind:
        conditions.append(letters.c.kind == wanted.kind)
    if wanted.source:
        conditions.append(letters.c.source.startswith(wanted.source, autoescape=True))
    if wanted.received_from:
        conditions.append(letters.c.received_at >= wanted.received_from)
    if wanted.received_before:
        conditions.append(letters.c.received_at < wanted.received_before)
    return conditions


def _letter(row: RowMapping) -> DeadLetter:
    return DeadLetter(
        kind=row["kind"], id=row["id"], received_at=row["received_at"], source=row["source"],
        reason=row["reason"], body=row["body"], payment_id=row["payment_id"],
    )
