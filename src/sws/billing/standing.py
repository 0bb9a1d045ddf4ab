"""Low balance, enforced: notify at the threshold, grace at zero, then suspend; resume on funds.

Suspending stops the tenant's running instances through the cloud port (never deletes them)
and records each one; new servers and floating IPs are refused with 402 meanwhile. When funds
come back (a top-up, a coupon, a higher credit limit), exactly the instances billing stopped are
started again. Every step is written to `billing_audit`. Driver calls happen outside the
database transaction that decided them.

An account whose enforcement is `observe` goes through the same steps and notices, but where it
would be suspended it becomes `overdue` and nothing is stopped or refused. Before anything is
ever stopped, the low-balance and suspension notices are recorded (`notice` audit rows) and
mailed to the tenant through the outbox, as are the suspension and the resumption. The
suspension notice, mailed when grace starts, gives the stop time on the account's clock; an
observed account, where nothing stops, gets the low-balance notice then instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from sws.billing import repository as repo
from sws.billing import service
from sws.billing.model import ENFORCE, ENFORCEMENTS, Coupon, Transition, next_standing
from sws.billing.payments import notices
from sws.billing.service import audit_row
from sws.clock import Clock
from sws.db.engine import Database
from sws.drivers.base import CloudDriver, ServerFilter
from sws.errors import Invalid, NotFound, SWSError
from sws.money import Money

PAGE = 500
NOTICE = "notice"


def review_account(
    *, db: Database, clock: Clock, drivers: Mapping[str, CloudDriver], account_id: str
) -> dict[str, Transition]:
    """The review after money reaches one account (a top-up, a coupon, a new credit limit),
    with the catalog's grace."""
    policy, _ = service.load_policy(db=db)
    return review(db=db, clock=clock, drivers=drivers, account_ids=[account_id], grace=policy.grace)


def top_up(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    tenant_id: str,
    amount: Money,
    idempotency_key: str | None = None,
    memo: str = "",
) -> service.AccountView:
    """An admin's top-up, then the review; the account as it stands after both (a suspended
    tenant with funds again has its instances started)."""
    service.top_up(
        db=db,
        clock=clock,
        tenant_id=tenant_id,
        amount=amount,
        idempotency_key=idempotency_key,
        memo=memo,
    )
    review_account(db=db, clock=clock, drivers=drivers, account_id=tenant_id)
    return service.get_account(db=db, clock=clock, tenant_id=tenant_id)


def grant_coupon(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    tenant_id: str,
    amount: Money,
    expires_at: datetime,
    items: Sequence[str] = (),
    idempotency_key: str | None = None,
) -> Coupon:
    """An admin's coupon grant, then the review."""
    coupon = service.grant_coupon(
        db=db,
        clock=clock,
        tenant_id=tenant_id,
        amount=amount,
        expires_at=expires_at,
        items=items,
        idempotency_key=idempotency_key,
    )
    review_account(db=db, clock=clock, drivers=drivers, account_id=tenant_id)
    return coupon


def update_account(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    tenant_id: str,
    payment_mode: str | None = None,
    credit_limit: Decimal | None = None,
    low_balance_threshold: Decimal | None = None,
) -> service.AccountView:
    """An admin's change to how an account pays, then the review (a new credit limit may lift
    a suspension); the account as the change left it."""
    account = service.update_account(
        db=db,
        clock=clock,
        tenant_id=tenant_id,
        payment_mode=payment_mode,
        credit_limit=credit_limit,
        low_balance_threshold=low_balance_threshold,
    )
    review_account(db=db, clock=clock, drivers=drivers, account_id=tenant_id)
    return account


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
        repo.audit(conn, _notices(account_id, now, step, account.available))
        _mail_notices(conn, account, step, now)
        resumed = repo.open_suspensions(conn, account_id) if step.resume else []
        repo.resume_suspensions(conn, [r["id"] for r in resumed], now=now)
    if step.suspend:
        _suspend(db, clock, drivers, account_id)
    _resume(db, clock, drivers, account_id, [(r["region"], r["server_id"]) for r in resumed])
    return step


def _notices(
    account_id: str, now: datetime, step: Transition, available: Money
) -> list[dict[str, Any]]:
    """The notices a tenant gets before anything is stopped, recorded as audit rows."""
    notes = []
    if "notified" in step.steps:
        notes.append(f"low balance: {available} available")
    if "grace_started" in step.steps and step.grace_until is not None:
        notes.append(
            f"no funds left ({available}): servers are stopped at {step.grace_until.isoformat()} "
            "unless funds arrive (if enforcement is on for the account)"
        )
    return [audit_row(account_id, now, NOTICE, note) for note in notes]


def local_time(moment: datetime, zone: str) -> str:
    """`moment` as the account's clock reads it: `2026-03-05 09:00 (Asia/Shanghai)`."""
    return f"{moment.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M} ({zone})"


_MAILED = (("notified", "low_balance"), ("suspended", "suspended"), ("resumed", "resumed"))


def _mail_notices(
    conn: Connection, account: service.AccountView, step: Transition, now: datetime
) -> None:
    """The same steps as mail to the tenant, in this transaction (sent once, after commit)."""
    context = {
        "available": str(account.available.rounded()),
        "threshold": str(account.low_balance_threshold.rounded()),
    }
    for name, template in _MAILED:
        if name in step.steps:
            notices.notify(
                conn,
                tenant_id=account.id,
                template=template,
                context=context,
                key=f"{template}:{account.id}:{now.isoformat()}",
                now=now,
            )
    if "grace_started" in step.steps and step.grace_until is not None:
        _mail_grace(conn, account, step.grace_until, context, now)


def _mail_grace(
    conn: Connection,
    account: service.AccountView,
    until: datetime,
    context: dict[str, str],
    now: datetime,
) -> None:
    """Grace started: an enforced tenant learns when its servers stop unless funds arrive; an
    observed one, where nothing stops, that its balance ran out (the low-balance notice).
    Once per grace period."""
    key = f"grace_started:{account.id}:{until.isoformat()}"
    if account.enforcement == ENFORCE:
        context = {**context, "stop_at": local_time(until, account.timezone)}
        template = "grace_started"
    else:
        key, template = f"low_balance:{account.id}:{until.isoformat()}", "low_balance"
    notices.notify(conn, tenant_id=account.id, template=template, context=context, key=key, now=now)


# --- Enforcement and the dry run ---------------------------------------------------------------


def set_enforcement(
    *,
    db: Database,
    clock: Clock,
    drivers: Mapping[str, CloudDriver],
    tenant_id: str | None,
    enforcement: str,
    actor: str,
) -> list[str]:
    """Turn enforcement on (`enforce`) or off (`observe`) for one account, or for every account
    (`tenant_id` None); audited. Accounts already overdue are suspended at once when it goes
    on. Returns the accounts that changed."""
    if enforcement not in ENFORCEMENTS:
        raise Invalid(f"enforcement is one of {', '.join(ENFORCEMENTS)}", field="enforcement")
    now = clock.now()
    with db.begin() as conn:
        if tenant_id is not None and not repo.accounts(conn, [tenant_id]):
            raise NotFound(f"no billing account {tenant_id}", field="tenant")
        ids = None if tenant_id is None else [tenant_id]
        changed = repo.set_enforcement(conn, ids, enforcement, now=now)
        repo.audit(
            conn, [audit_row(a, now, f"enforcement_{enforcement}", f"by {actor}") for a in changed]
        )
    if enforcement == ENFORCE:
        policy, _ = service.load_policy(db=db)
        review(db=db, clock=clock, drivers=drivers, account_ids=changed, grace=policy.grace)
    return changed


@dataclass(frozen=True, slots=True)
class NextSuspension:
    """An account that would be suspended next: when, and whether enforcement would do it."""

    account_id: str
    status: str
    available: Money
    at: datetime | None  # the end of its grace period
    enforcement: str

    @property
    def stops_servers(self) -> bool:
        return self.enforcement == ENFORCE


def next_suspensions(*, db: Database, clock: Clock) -> list[NextSuspension]:
    """The dry run: accounts in grace or overdue, soonest first. Nothing is changed."""
    now = clock.now()
    with db.read() as conn:
        rows = repo.overdue_candidates(conn)
        views = [service.view(conn, row, now=now) for row in rows]
    return [
        NextSuspension(v.id, v.status, v.available, v.grace_until, v.enforcement) for v in views
    ]


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
