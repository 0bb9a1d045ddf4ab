"""Low balance, enforced: notify at the threshold, grace at zero, then suspend; resume on funds.

Suspending stops the tenant's running instances through the cloud port (never deletes them)
and records each one; new servers and floating IPs are refused with 402 meanwhile. When funds
come back (a top-up, a coupon, a higher credit limit), exactly the instances billing stopped are
started again. Every step is written to `billing_audit`. Driver calls happen outside the
database transaction that decided them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta

from sws.billing import repository as repo
from sws.billing import service
from sws.billing.model import Transition, next_standing
from sws.billing.service import audit_row
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, ServerFilter
from sws.errors import SWSError

PAGE = 500


def review_account(
    *, db: Database, clock: Clock, drivers: Mapping[str, CloudDriver], account_id: str
) -> dict[str, Transition]:
    """The review after money reaches one account (a top-up, a coupon, a new credit limit),
    with the catalog's grace."""
    policy, _ = service.load_policy(db=db)
    return review(db=db, clock=clock, drivers=drivers, account_ids=[account_id],
                  grace=policy.grace)


def review(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    account_ids: Iterable[str],
    grace: timedelta,
) -> dict[str, Transition]:
    """Apply the low-balance rules to `account_ids` and to every account waiting on them."""
    with db.read() as conn:
        waiting = repo.accounts_to_review(conn, now=clock.now())
    changed = {}
    for account_id in sorted(set(account_ids) | set(waiting)):
        transition = _review_one(db, clock, drivers, account_id, grace)
        if transition is not None:
            changed[account_id] = transition
    return changed


def _review_one(
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    account_id: str,
    grace: timedelta,
) -> Transition | None:
    now = clock.now()
    with db.begin() as conn:
        row = repo.accounts(conn, [account_id], lock=True).get(account_id)
        if row is None:
            return None
        account = service.view(conn, row, now=now)
        step = next_standing(account.standing(), now=now, grace=grace)
        if (step.status, step.grace_until, step.steps) == (row["status"], row["grace_until"], ()):
            return None
        repo.update_account(
            conn, account_id, status=step.status, grace_until=step.grace_until, updated_at=now
        )
        detail = f"available {account.available}"
        repo.audit(conn, [audit_row(account_id, now, name, detail) for name in step.steps])
        resumed = repo.open_suspensions(conn, account_id) if step.resume else []
        repo.resume_suspensions(conn, [r["id"] for r in resumed], now=now)
    if step.suspend:
        _suspend(db, clock, drivers, account_id)
    _resume(db, clock, drivers, account_id, [(r["region"], r["server_id"]) for r in resumed])
    return step


def _suspend(
    db: Database, clock: Clock, drivers: Mapping[str, CloudDriver], account_id: str
) -> None:
    """Stop every running instance of the tenant, in every region, and remember which."""
    stopped, notes = [], []
    for region, driver in drivers.items():
        for server_id in _running(driver, account_id):
            try:
                driver.server_action(account_id, server_id, "stop")
            except SWSError as exc:
                notes.append(
                    audit_row(account_id, clock.now(), "stop_failed", f"{server_id}: {exc.detail}")
                )
                continue
            stopped.append(
                {
                    "account_id": account_id,
                    "region": region,
                    "server_id": server_id,
                    "stopped_at": clock.now(),
                    "resumed_at": None,
                }
            )
            notes.append(audit_row(account_id, clock.now(), "server_stopped", server_id))
    with db.begin() as conn:
        repo.insert_suspensions(conn, stopped)
        repo.audit(conn, notes)


def _running(driver: CloudDriver, project_id: str) -> list[str]:
    found: list[str] = []
    marker: str | None = None
    while True:
        page = driver.list_servers(project_id, ServerFilter(status="ACTIVE"), PAGE, marker)
        found += [server.id for server in page]
        if len(page) < PAGE:
            return found
        marker = page[-1].id


def _resume(
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    account_id: str,
    servers: list[tuple[str, str]],
) -> None:
    notes = []
    for region, server_id in servers:
        try:
            drivers[region].server_action(account_id, server_id, "start")
            notes.append(audit_row(account_id, clock.now(), "server_started", server_id))
        except (SWSError, KeyError) as exc:
            notes.append(audit_row(account_id, clock.now(), "start_failed", f"{server_id}: {exc}"))
    if notes:
        with db.begin() as conn:
            repo.audit(conn, notes)
