"""The lags `/metrics` reports, read from the tables the farmer, alarms and agents keep."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert

from sws.billing.farmer import EVENTS_CURSOR
from sws.billing.tables import billing_accounts, billing_cursors, billing_subscriptions
from sws.clock import SimulatedClock
from sws.db.engine import Database
from sws.events.tables import dead_letters, resource_events
from sws.metering.tables import alarms
from sws.netfilter.tables import agent_reports
from sws.observability import lags


def measure(database: Database, clock: SimulatedClock) -> lags.Lags:
    with database.read() as conn:
        return lags.measure(conn, clock.now())


def test_nothing_waits_in_an_empty_cloud(database: Database, clock: SimulatedClock) -> None:
    found = measure(database, clock)
    assert (found.journal_backlog, found.farmer_due) == (0, 0)
    assert (found.journal_lag, found.farmer_lag, found.alarm_lag) == (0.0, 0.0, 0.0)
    assert found.dead_letters == {"notification": 0, "payment": 0}


def test_the_journal_lag_is_the_age_of_the_oldest_row_past_the_farmers_cursor(
    database: Database, clock: SimulatedClock
) -> None:
    now = clock.now()
    with database.begin() as conn:
        for n, minutes_ago in enumerate((30, 20, 5), start=1):
            received = now - timedelta(minutes=minutes_ago)
            conn.execute(insert(resource_events).values(_event(n, received)))
        conn.execute(insert(billing_cursors).values(name=EVENTS_CURSOR, position=1, at=now))
    found = measure(database, clock)
    assert found.journal_backlog == 2  # row 1 is read, rows 2 and 3 wait
    assert found.journal_lag == 20 * 60


def test_the_farmer_lag_is_the_oldest_due_period_and_a_future_one_is_not_late(
    database: Database, clock: SimulatedClock
) -> None:
    now = clock.now()
    with database.begin() as conn:
        conn.execute(insert(billing_accounts).values(_account("acme", now)))
        for name, due in (("late", now - timedelta(hours=2)), ("later", now - timedelta(hours=1)),
                          ("next", now + timedelta(hours=1))):
            conn.execute(insert(billing_subscriptions).values(_subscription(name, due, now)))
    found = measure(database, clock)
    assert (found.farmer_due, found.farmer_lag) == (2, 2 * 3600)
    clock.advance(timedelta(hours=3))
    assert measure(database, clock).farmer_due == 3


def test_the_alarm_lag_counts_enabled_alarms_only_and_never_evaluated_ones_from_creation(
    database: Database, clock: SimulatedClock
) -> None:
    now = clock.now()
    with database.begin() as conn:
        conn.execute(insert(alarms).values(_alarm("fresh", now, evaluated=now)))
        conn.execute(insert(alarms).values(_alarm("never", now - timedelta(minutes=7))))
        conn.execute(insert(alarms).values(
            _alarm("off", now - timedelta(days=1), enabled=False)))
    assert measure(database, clock).alarm_lag == 7 * 60


def test_dead_letters_are_counted_and_agents_report_their_apply_time(
    database: Database, clock: SimulatedClock
) -> None:
    now = clock.now()
    with database.begin() as conn:
        conn.execute(insert(dead_letters).values(
            received_at=now, reason="not JSON", raw="{", source="nova"))
        conn.execute(insert(agent_reports).values(
            host="compute-1", target="bridge", digest="d", in_sync=True, elements=3, drift="[]",
            mode="nft", apply_seconds="0.0125", reported_at=now))
    found = measure(database, clock)
    assert found.dead_letters == {"notification": 1, "payment": 0}
    assert found.netfilter_apply == {"compute-1": 0.0125}


def _event(n: int, received: datetime) -> dict[str, Any]:
    return {
        "message_id": f"m-{n}", "event_type": "compute.instance.create.end",
        "resource_type": "server", "resource_id": f"vm-{n}", "occurred_at": received,
        "action": "create", "received_at": received,
    }


def _account(tenant: str, now: datetime) -> dict[str, Any]:
    zero = Decimal("0")
    return {
        "id": tenant, "currency": "USD", "timezone": "UTC", "payment_mode": "prepaid",
        "credit_limit": zero, "low_balance_threshold": zero, "balance": zero,
        "status": "active", "created_at": now, "updated_at": now,
    }


def _subscription(name: str, due: datetime, now: datetime) -> dict[str, Any]:
    return {
        "id": name, "account_id": "acme", "item": "compute", "resource_type": "server",
        "resource_id": name, "resource_name": name, "region": "RegionOne", "spans": "[]",
        "events_count": 1, "cursor": None, "due_at": due, "dirty": False,
        "cap_spent": Decimal("0"), "updated_at": now,
    }


def _alarm(name: str, created: datetime, *, evaluated: datetime | None = None,
           enabled: bool = True) -> dict[str, Any]:
    return {
        "id": name, "project_id": "acme", "name": name, "description": "", "rule": "{}",
        "actions": "{}", "repeat_actions": False, "enabled": enabled, "state": "ok",
        "state_reason": "", "state_changed_at": created, "evaluated_at": evaluated,
        "created_at": created,
    }
