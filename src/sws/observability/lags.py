"""Read-only SQL for how far behind SWS's background work is, straight from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Table, and_, func, select

from sws.billing.farmer import EVENTS_CURSOR
from sws.billing.payments.tables import billing_payment_dead_letters
from sws.billing.tables import billing_cursors, billing_subscriptions
from sws.deadletters.model import NOTIFICATION, PAYMENT
from sws.events.tables import dead_letters, resource_events
from sws.metering.tables import alarms
from sws.netfilter.tables import agent_reports


@dataclass(frozen=True, slots=True)
class Lags:
    """Seconds behind (0 when nothing waits) and backlogs, as of `now`."""

    journal_backlog: int
    journal_lag: float
    farmer_due: int
    farmer_lag: float
    alarm_lag: float
    dead_letters: dict[str, int]
    netfilter_apply: dict[str, float]


def measure(conn: Connection, now: datetime) -> Lags:
    backlog, oldest_event = _journal(conn)
    due, oldest_due = _farmer(conn, now)
    return Lags(
        journal_backlog=backlog, journal_lag=_age(now, oldest_event),
        farmer_due=due, farmer_lag=_age(now, oldest_due),
        alarm_lag=_age(now, _oldest_alarm(conn)),
        dead_letters=_dead_letters(conn), netfilter_apply=_netfilter_apply(conn),
    )


def _age(now: datetime, since: datetime | None) -> float:
    return max(0.0, (now - since).total_seconds()) if since is not None else 0.0


def _journal(conn: Connection) -> tuple[int, datetime | None]:
    """Journal rows past the farmer's events cursor, and when the oldest of them arrived."""
    cursor = select(billing_cursors.c.position).where(billing_cursors.c.name == EVENTS_CURSOR)
    position = conn.execute(cursor).scalar() or 0
    events = resource_events.c
    row = conn.execute(
        select(func.count(), func.min(events.received_at)).where(events.id > position)
    ).one()
    return int(row[0]), row[1]


def _farmer(conn: Connection, now: datetime) -> tuple[int, datetime | None]:
    """Subscriptions with a charge due, and the oldest due time among them."""
    subs = billing_subscriptions.c
    row = conn.execute(select(func.count(), func.min(subs.due_at)).where(subs.due_at <= now)).one()
    return int(row[0]), row[1]


def _oldest_alarm(conn: Connection) -> datetime | None:
    """The least recently evaluated enabled alarm (never evaluated: since its creation)."""
    seen = func.coalesce(alarms.c.evaluated_at, alarms.c.created_at)
    return conn.execute(select(func.min(seen)).where(and_(alarms.c.enabled.is_(True)))).scalar()


def _dead_letters(conn: Connection) -> dict[str, int]:
    def count(table: Table) -> int:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    return {NOTIFICATION: count(dead_letters), PAYMENT: count(billing_payment_dead_letters)}


def _netfilter_apply(conn: Connection) -> dict[str, float]:
    """Each host's last netfilter apply time as its agent reported it."""
    rows = conn.execute(select(agent_reports.c.host, agent_reports.c.apply_seconds)).all()
    return {host: float(seconds) for host, seconds in rows if seconds is not None}
