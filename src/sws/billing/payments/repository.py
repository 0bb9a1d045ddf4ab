"""SQL for payments: checkouts, applied provider events, dead letters, refunds, bank references."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    RowMapping,
    Select,
    Update,
    bindparam,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from sws.billing.payments.model import (
    PENDING,
    REFUND_PENDING,
    AutoRecharge,
    Checkout,
    PaymentEvent,
    Refund,
)
from sws.billing.payments.tables import (
    billing_auto_recharge,
    billing_bank_references,
    billing_payment_dead_letters,
    billing_payment_events,
    billing_payments,
    billing_refunds,
)
from sws.db.bulk import among, insert_rows, write
from sws.db.paging import keyset
from sws.errors import Conflict
from sws.money import Money
from sws.paging import PageRequest

P = billing_payments.c
BODY_KEPT = 4000  # characters of a rejected callback's body kept for the operator


def checkout_from_row(row: RowMapping) -> Checkout:
    return Checkout(
        id=row["id"], tenant_id=row["account_id"], provider=row["provider"],
        region=row["region"], amount=Money(row["amount"], row["currency"]),
        state=row["state"], idempotency_key=row["idempotency_key"],
        provider_ref=row["provider_ref"], redirect_url=row["redirect_url"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )


def insert_checkout(conn: Connection, checkout: Checkout) -> None:
    """Insert a new checkout; the same tenant's idempotency key twice is a Conflict."""
    row = {
        "id": checkout.id, "account_id": checkout.tenant_id, "provider": checkout.provider,
        "region": checkout.region, "currency": checkout.amount.currency,
        "amount": checkout.amount.amount, "state": checkout.state,
        "idempotency_key": checkout.idempotency_key, "provider_ref": checkout.provider_ref,
        "redirect_url": checkout.redirect_url, "created_at": checkout.created_at,
        "updated_at": checkout.updated_at,
    }
    try:
        with conn.begin_nested():
            conn.execute(insert(billing_payments), row)
    except IntegrityError:
        raise Conflict("this idempotency_key is already in use", field="idempotency_key") from None


def by_key(conn: Connection, tenant_id: str, key: str) -> Checkout | None:
    query = select(billing_payments).where(P.account_id == tenant_id, P.idempotency_key == key)
    row = conn.execute(query).mappings().first()
    return None if row is None else checkout_from_row(row)


def get(conn: Connection, payment_id: str, *, lock: bool = False) -> Checkout | None:
    """The checkout by id; `lock` takes its row lock (callbacks for it then run one by one)."""
    query = select(billing_payments).where(P.id == payment_id)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else checkout_from_row(row)


def set_started(conn: Connection, payment_id: str, ref: str, url: str, now: datetime) -> None:
    conn.execute(
        update(billing_payments).where(P.id == payment_id)
        .values(provider_ref=ref, redirect_url=url, updated_at=now)
    )


def set_state(conn: Connection, payment_id: str, state: str, now: datetime) -> None:
    conn.execute(
        update(billing_payments).where(P.id == payment_id).values(state=state, updated_at=now)
    )


def of_tenant(
    conn: Connection, tenant_id: str | None, page: PageRequest, *, state: str | None = None
) -> list[Checkout]:
    query = select(billing_payments)
    if tenant_id is not None:
        query = query.where(P.account_id == tenant_id)
    if state is not None:
        query = query.where(P.state == state)
    query = keyset(conn, query, order=(P.created_at, P.id), request=page, descending=True)
    return [checkout_from_row(r) for r in conn.execute(query).mappings()]


def stale_pending(conn: Connection, before: datetime, limit: int) -> list[Checkout]:
    """Pending checkouts opened before `before`, oldest first. Two janitors may pick the same
    one: their events share an id, so the second is a replay."""
    query = (
        select(billing_payments).where(P.state == PENDING, P.created_at < before)
        .order_by(P.created_at, P.id).limit(limit)
    )
    return [checkout_from_row(r) for r in conn.execute(query).mappings()]


def dead_letter(
    conn: Connection, provider: str, reason: str, body: bytes, payment_id: str | None,
    now: datetime,
) -> None:
    conn.execute(insert(billing_payment_dead_letters), {
        "provider": provider[:32], "payment_id": payment_id and payment_id[:64],
        "reason": reason[:255], "body": body.decode("utf-8", "replace")[:BODY_KEPT],
        "received_at": now,
    })


def dead_letters(conn: Connection, limit: int = 100) -> Sequence[RowMapping]:
    query = (
        select(billing_payment_dead_letters)
        .order_by(billing_payment_dead_letters.c.id.desc()).limit(limit)
    )
    return list(conn.execute(query).mappings())


def events_of(conn: Connection, payment_id: str) -> list[dict[str, Any]]:
    query = (
        select(billing_payment_events).where(billing_payment_events.c.payment_id == payment_id)
        .order_by(billing_payment_events.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# --- Refunds ----------------------------------------------------------------------------------

R = billing_refunds.c


def refund_from_row(row: RowMapping) -> Refund:
    return Refund(
        id=row["id"], payment_id=row["payment_id"], tenant_id=row["account_id"],
        amount=Money(row["amount"], row["currency"]), state=row["state"], reason=row["reason"],
        idempotency_key=row["idempotency_key"], provider_ref=row["provider_ref"],
        error=row["error"], actor=row["actor"], created_at=row["created_at"],
    )


def insert_refund(conn: Connection, refund: Refund) -> None:
    conn.execute(insert(billing_refunds), {
        "id": refund.id, "payment_id": refund.payment_id, "account_id": refund.tenant_id,
        "currency": refund.amount.currency, "amount": refund.amount.amount,
        "state": refund.state, "reason": refund.reason,
        "idempotency_key": refund.idempotency_key, "provider_ref": refund.provider_ref,
        "error": refund.error, "actor": refund.actor, "created_at": refund.created_at,
        "updated_at": refund.created_at,
    })


def refunds_of(conn: Connection, payment_id: str) -> list[Refund]:
    query = select(billing_refunds).where(R.payment_id == payment_id).order_by(R.created_at, R.id)
    return [refund_from_row(r) for r in conn.execute(query).mappings()]


def get_refund(conn: Connection, refund_id: str) -> Refund | None:
    row = conn.execute(select(billing_refunds).where(R.id == refund_id)).mappings().first()
    return None if row is None else refund_from_row(row)


def finish_refund(conn: Connection, refund_id: str, *, state: str, provider_ref: str | None,
                  error: str | None, now: datetime) -> bool:
    """Move a pending refund to `state`; False if it was not pending any more (a racer did)."""
    done = conn.execute(
        update(billing_refunds).where(R.id == refund_id, R.state == REFUND_PENDING)
        .values(state=state, provider_ref=provider_ref, error=error and error[:255],
                updated_at=now))
    return bool(done.rowcount)


def pending_refunds(conn: Connection, before: datetime, limit: int) -> list[Refund]:
    query = (select(billing_refunds).where(R.state == REFUND_PENDING, R.created_at < before)
             .order_by(R.created_at, R.id).limit(limit))
    return [refund_from_row(r) for r in conn.execute(query).mappings()]


# --- Bank transfer references -----------------------------------------------------------------


def bank_reference(conn: Connection, account_id: str) -> str | None:
    query = select(billing_bank_references.c.code).where(
        billing_bank_references.c.account_id == account_id)
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def account_of_reference(conn: Connection, code: str) -> str | None:
    query = select(billing_bank_references.c.account_id).where(
        billing_bank_references.c.code == code)
    found = conn.execute(query).scalar()
    return None if found is None else str(found)


def insert_bank_reference(conn: Connection, account_id: str, code: str, now: datetime) -> bool:
    """False if the account already has one or the code is taken (the caller reads again)."""
    try:
        with conn.begin_nested():
            conn.execute(insert(billing_bank_references),
                         {"account_id": account_id, "code": code, "created_at": now})
    except IntegrityError:
        return False
    return True


def by_provider_ref(conn: Connection, provider: str, ref: str) -> Checkout | None:
    query = select(billing_payments).where(P.provider == provider, P.provider_ref == ref)
    row = conn.execute(query).mappings().first()
    return None if row is None else checkout_from_row(row)


# --- Auto-recharge ----------------------------------------------------------------------------

A = billing_auto_recharge.c


def auto_from_row(row: RowMapping) -> AutoRecharge:
    currency = row["currency"]
    return AutoRecharge(
        tenant_id=row["account_id"], enabled=bool(row["enabled"]),
        threshold=Money(row["threshold"], currency), amount=Money(row["amount"], currency),
        monthly_cap=Money(row["monthly_cap"], currency), provider=row["provider"],
        method_ref=row["method_ref"], customer_ref=row["customer_ref"],
        armed=bool(row["armed"]), crossings=int(row["crossings"]),
    )


def auto_recharge(conn: Connection, tenant_id: str, *, lock: bool = False
                  ) -> AutoRecharge | None:
    query = select(billing_auto_recharge).where(A.account_id == tenant_id)
    if lock and conn.dialect.name != "sqlite":
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return None if row is None else auto_from_row(row)


def save_auto_recharge(conn: Connection, setting: AutoRecharge, now: datetime) -> None:
    values = {
        "enabled": setting.enabled, "currency": setting.amount.currency,
        "threshold": setting.threshold.amount, "amount": setting.amount.amount,
        "monthly_cap": setting.monthly_cap.amount, "provider": setting.provider,
        "method_ref": setting.method_ref, "customer_ref": setting.customer_ref,
        "armed": setting.armed, "crossings": setting.crossings, "updated_at": now,
    }
    done = conn.execute(update(billing_auto_recharge)
                        .where(A.account_id == setting.tenant_id).values(**values))
    if not done.rowcount:
        conn.execute(insert(billing_auto_recharge), {"account_id": setting.tenant_id, **values})


def enabled_auto_recharges(conn: Connection) -> list[str]:
    query = select(A.account_id).where(A.enabled.is_(True)).order_by(A.account_id)
    return [str(a) for a in conn.execute(query).scalars()]


def auto_spent(conn: Connection, tenant_id: str, since: datetime, currency: str) -> Money:
    """What auto-recharge charged (or is charging) the tenant since `since`."""
    query = select(func.coalesce(func.sum(P.amount), 0)).where(
        P.account_id == tenant_id, P.idempotency_key.like("auto:%"), P.created_at >= since,
        P.state.in_(("pending", "succeeded", "refunded")))
    return Money(Decimal(conn.execute(query).scalar_one()), currency)


# --- Batches of events ------------------------------------------------------------------------


def get_many(conn: Connection, ids: Sequence[str], *, lock: bool = False) -> dict[str, Checkout]:
    """Checkouts by id; `lock` takes their row locks in id order (no deadlock cycles)."""
    query = _checkouts_by_id(conn.dialect.name, lock)
    rows = conn.execute(query, {"ids": sorted(set(ids))}).mappings()
    return {r["id"]: checkout_from_row(r) for r in rows}


def recorded_events(conn: Connection, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (provider, event id) were applied before. Asked per provider as
    `provider = p AND event_id IN (...)`, which the unique key (provider, event_id) serves as
    one index range; a row-value IN list became an OR of pairs that PostgreSQL answered by
    reading every event of the provider."""
    by_provider: dict[str, list[str]] = {}
    for provider, event_id in keys:
        by_provider.setdefault(provider, []).append(event_id)
    query = _events_of_provider(conn.dialect.name)
    return {
        (p, i)
        for provider, event_ids in sorted(by_provider.items())
        for p, i in conn.execute(query, {"provider": provider, "ids": sorted(set(event_ids))})
    }


def insert_events(conn: Connection, events: Sequence[PaymentEvent], now: datetime) -> None:
    """Record events as applied (a racer's copy is an IntegrityError: the caller retries)."""
    insert_rows(conn, billing_payment_events, [
        {"provider": x.provider, "event_id": x.event_id, "payment_id": x.payment_id,
         "outcome": x.outcome, "received_at": now} for x in events])


def set_states(conn: Connection, states: Mapping[str, str], now: datetime) -> None:
    """Move checkouts to their new states: on PostgreSQL one UPDATE, elsewhere one per state.
    The checkouts' row locks are held (`get_many(..., lock=True)`)."""
    if states and conn.dialect.name == "postgresql":
        ids = sorted(states)
        write(conn, billing_payments, _MOVE_CHECKOUTS, (now, ids, [states[i] for i in ids]))
        return
    by_state: dict[str, list[str]] = {}
    for payment_id, state in states.items():
        by_state.setdefault(state, []).append(payment_id)
    query = _move_checkouts(conn.dialect.name)
    for state, ids in sorted(by_state.items()):
        conn.execute(query, {"ids": sorted(ids), "p_state": state, "p_now": now})


# The batch statements are built once per dialect: a callback batch runs each of them, and
# building a statement costs about as much Python as running it.


@cache
def _checkouts_by_id(dialect: str, lock: bool) -> Select[Any]:
    query = select(billing_payments).where(among(dialect, P.id)).order_by(P.id)
    return query.with_for_update() if lock and dialect != "sqlite" else query


@cache
def _events_of_provider(dialect: str) -> Select[Any]:
    e = billing_payment_events.c
    return select(e.provider, e.event_id).where(
        e.provider == bindparam("provider"), among(dialect, e.event_id))


_MOVE_CHECKOUTS = (
    "UPDATE billing_payments AS p SET state = v.state, updated_at = %b "
    "FROM unnest(%b::text[], %b::text[]) AS v(id, state) WHERE p.id = v.id"
)


@cache
def _move_checkouts(dialect: str) -> Update:
    return (update(billing_payments).where(among(dialect, P.id))
            .values(state=bindparam("p_state"), updated_at=bindparam("p_now")))
