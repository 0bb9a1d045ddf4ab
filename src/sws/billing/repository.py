"""Persistence of billing in portable SQL Core (SQLite, PostgreSQL, MariaDB).

Writes are batched (one executemany per table per farmer batch). On PostgreSQL and MariaDB
the farmer claims subscriptions with `SELECT ... FOR UPDATE SKIP LOCKED`; on SQLite, one
writer at a time is the whole story.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    RowMapping,
    Select,
    String,
    Table,
    TypeDecorator,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError

from sws.billing.model import ChargeRow, Coupon, Product
from sws.billing.tables import (
    billing_accounts,
    billing_adjustments,
    billing_audit,
    billing_bill_lines,
    billing_bills,
    billing_charges,
    billing_coupons,
    billing_cursors,
    billing_ledger,
    billing_products,
    billing_settings,
    billing_subscriptions,
    billing_suspensions,
    billing_unrated,
)
from sws.db.bulk import among, array_type, base_type, insert_rows, write
from sws.errors import Conflict
from sws.events.model import ResourceEvent
from sws.events.tables import resource_events
from sws.identity.tables import tenants
from sws.money import Money

CHUNK = 500
KEY_LENGTH = 255
ResourceKey = tuple[str, str]
_EVENT_FIELDS = tuple(f.name for f in dataclasses.fields(ResourceEvent))


def _locking(query: Select[Any], conn: Connection, *, skip_locked: bool = False) -> Select[Any]:
    """FOR UPDATE (SKIP LOCKED) where the engine has row locks; SQLite has none."""
    if conn.dialect.name == "sqlite":
        return query
    return query.with_for_update(skip_locked=skip_locked)


def _insert_many(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """One statement on PostgreSQL (`sws.db.bulk`), one executemany elsewhere; compiling
    multi-row VALUES costs more than either."""
    insert_rows(conn, table, rows)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


# --- Catalog and settings -------------------------------------------------------------------


def product_from_row(row: RowMapping) -> Product:
    cap = row["monthly_cap"]
    return Product(
        region=row["region"],
        item=row["item"],
        item_type=row["item_type"],
        payment_type=row["payment_type"],
        price=Money(row["price"], row["currency"]),
        valid_from=row["valid_from"],
        valid_until=row["valid_until"],
        monthly_cap=None if cap is None else Money(cap, row["currency"]),
    )


def all_products(conn: Connection) -> list[Product]:
    query = select(billing_products).order_by(
        billing_products.c.item, billing_products.c.item_type, billing_products.c.valid_from
    )
    return [product_from_row(row) for row in conn.execute(query).mappings()]


def insert_product(conn: Connection, product: Product, *, now: datetime) -> None:
    conn.execute(
        insert(billing_products).values(
            id=product.id,
            region=product.region,
            item=product.item,
            item_type=product.item_type,
            payment_type=product.payment_type,
            currency=product.price.currency,
            price=product.price.amount,
            valid_from=product.valid_from,
            valid_until=None,
            monthly_cap=product.monthly_cap.amount if product.monthly_cap else None,
            created_at=now,
        )
    )


def end_product(conn: Connection, product_id: str, until: datetime) -> None:
    conn.execute(
        update(billing_products)
        .where(billing_products.c.id == product_id)
        .values(valid_until=until)
    )


def settings(conn: Connection) -> dict[str, str]:
    return {row.name: row.value for row in conn.execute(select(billing_settings))}


def save_settings(conn: Connection, values: Mapping[str, str]) -> None:
    existing = settings(conn)
    for name, value in values.items():
        if name in existing:
            conn.execute(
                update(billing_settings).where(billing_settings.c.name == name).values(value=value)
            )
        else:
            conn.execute(insert(billing_settings).values(name=name, value=value))


# --- Accounts, coupons, ledger --------------------------------------------------------------


def tenant_profiles(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """(currency, billing time zone) of the tenants SWS knows among `ids`."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        query = select(tenants.c.id, tenants.c.currency, tenants.c.billing_timezone)
        for row in conn.execute(query.where(tenants.c.id.in_(chunk))):
            found[row.id] = (row.currency, row.billing_timezone)
    return found


def accounts(conn: Connection, ids: Sequence[str], *, lock: bool = False) -> dict[str, RowMapping]:
    """Account rows by id; `lock` takes their row locks in id order (no deadlock cycles)."""
    query = _accounts_by_id(conn.dialect.name, lock)
    wanted = sorted(set(ids))
    chunks = [wanted] if conn.dialect.name == "postgresql" else _chunks(wanted)
    found: dict[str, RowMapping] = {}
    for chunk in chunks:
        found.update({row["id"]: row for row in conn.execute(query, {"ids": chunk}).mappings()})
    return found


@cache
def _accounts_by_id(dialect: str, lock: bool) -> Select[Any]:
    query = select(billing_accounts).where(among(dialect, billing_accounts.c.id))
    query = query.order_by(billing_accounts.c.id)
    return query.with_for_update() if lock and dialect != "sqlite" else query


def all_account_ids(conn: Connection) -> list[str]:
    return list(
        conn.execute(select(billing_accounts.c.id).order_by(billing_accounts.c.id)).scalars()
    )


def close_states(conn: Connection) -> list[tuple[str, str, str | None]]:
    """(id, time zone, last closed month) of every account, by id: what the close needs."""
    a = billing_accounts
    query = select(a.c.id, a.c.timezone, a.c.last_closed_month).order_by(a.c.id)
    return [(row.id, row.timezone, row.last_closed_month) for row in conn.execute(query)]


def ever_charged(conn: Connection, ids: Sequence[str]) -> set[str]:
    """The accounts of `ids` with a charge, an adjustment or a closed bill."""
    a = billing_accounts
    tables = (billing_charges, billing_adjustments, billing_bills)
    charged = or_(*(exists().where(t.c.account_id == a.c.id) for t in tables))
    found: set[str] = set()
    for chunk in _chunks(ids):
        found |= set(conn.execute(select(a.c.id).where(a.c.id.in_(chunk), charged)).scalars())
    return found


def insert_accounts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, billing_accounts, rows)


def update_account(conn: Connection, account_id: str, **values: Any) -> None:
    conn.execute(
        update(billing_accounts).where(billing_accounts.c.id == account_id).values(**values)
    )


def add_to_balances(conn: Connection, deltas: Mapping[str, Decimal], *, now: datetime) -> None:
    """Add to the accounts' balances. Callers hold the accounts' row locks (`accounts(...,
    lock=True)`, taken in id order), so the order this statement updates them in is free."""
    changed = sorted((k, Decimal(v)) for k, v in deltas.items() if v)
    if changed and conn.dialect.name == "postgresql":
        ids, amounts = zip(*changed, strict=True)
        write(conn, billing_accounts, _ADD_TO_BALANCES, (now, list(ids), list(amounts)))
        return
    rows = [{"b_id": k, "b_delta": v, "b_now": now} for k, v in changed]
    if rows:
        conn.execute(
            update(billing_accounts)
            .where(billing_accounts.c.id == bindparam("b_id"))
            .values(
                balance=billing_accounts.c.balance + bindparam("b_delta"),
                updated_at=bindparam("b_now"),
            ),
            rows,
        )


_ADD_TO_BALANCES = (
    "UPDATE billing_accounts AS a SET balance = a.balance + v.delta, updated_at = %b "
    "FROM unnest(%b::text[], %b::numeric[]) AS v(id, delta) WHERE a.id = v.id"
)


def coupon_from_row(row: RowMapping) -> Coupon:
    items = frozenset(i for i in row["items"].split(",") if i)
    return Coupon(
        id=row["id"],
        account_id=row["account_id"],
        amount=Money(row["amount"], row["currency"]),
        remaining=Money(row["remaining"], row["currency"]),
        expires_at=row["expires_at"],
        items=items,
    )


def coupons_of(conn: Connection, account_ids: Sequence[str]) -> list[Coupon]:
    found: list[Coupon] = []
    for chunk in _chunks(sorted(set(account_ids))):
        query = select(billing_coupons).where(billing_coupons.c.account_id.in_(chunk))
        found += [
            coupon_from_row(r)
            for r in conn.execute(query.order_by(billing_coupons.c.id)).mappings()
        ]
    return found


def insert_coupon(conn: Connection, coupon: Coupon, *, now: datetime) -> None:
    conn.execute(
        insert(billing_coupons).values(
            id=coupon.id,
            account_id=coupon.account_id,
            currency=coupon.amount.currency,
            amount=coupon.amount.amount,
            remaining=coupon.remaining.amount,
            items=",".join(sorted(coupon.items)),
            expires_at=coupon.expires_at,
            created_at=now,
        )
    )


def set_coupon_remaining(conn: Connection, remaining: Mapping[str, Decimal]) -> None:
    rows = [{"c_id": k, "c_left": v} for k, v in sorted(remaining.items())]
    if rows:
        conn.execute(
            update(billing_coupons)
            .where(billing_coupons.c.id == bindparam("c_id"))
            .values(remaining=bindparam("c_left")),
            rows,
        )


def insert_entries(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, billing_ledger, rows)


def claim_entries(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert entries whose idempotency keys a caller chose: a key another request wrote first
    (it passed the same look-up before either committed) is a Conflict naming the key, not a
    database error. The savepoint keeps the transaction usable on PostgreSQL."""
    try:
        with conn.begin_nested():
            _insert_many(conn, billing_ledger, rows)
    except IntegrityError:
        keys = ", ".join(repr(row["idempotency_key"]) for row in rows)
        raise Conflict(
            f"idempotency key {keys} was taken by a request that ran at the same time; "
            "retry to see what it did",
            field="idempotency_key",
        ) from None


def entry_exists(conn: Connection, key: str) -> bool:
    query = select(billing_ledger.c.id).where(billing_ledger.c.idempotency_key == key)
    return conn.execute(query).first() is not None


def entry_by_key(conn: Connection, key: str) -> RowMapping | None:
    """The journal entry written under idempotency `key`, if any."""
    query = select(billing_ledger).where(billing_ledger.c.idempotency_key == key)
    return conn.execute(query).mappings().first()


def coupon_by_id(conn: Connection, coupon_id: str) -> Coupon | None:
    query = select(billing_coupons).where(billing_coupons.c.id == coupon_id)
    row = conn.execute(query).mappings().first()
    return None if row is None else coupon_from_row(row)


def journal_sums(conn: Connection) -> dict[tuple[str, str | None], Decimal]:
    """Sum of the journal per (account, pocket): pocket None is cash, else a coupon id."""
    query = select(
        billing_ledger.c.account_id, billing_ledger.c.coupon_id, func.sum(billing_ledger.c.amount)
    ).group_by(billing_ledger.c.account_id, billing_ledger.c.coupon_id)
    return {(a, c): Decimal(s) for a, c, s in conn.execute(query)}


def stored_pockets(conn: Connection) -> dict[tuple[str, str | None], Decimal]:
    """The cached balances: each account's cash and each coupon's remaining value."""
    cash = {(r.id, None): r.balance for r in conn.execute(select(billing_accounts))}
    coupons = {(r.account_id, r.id): r.remaining for r in conn.execute(select(billing_coupons))}
    return {**cash, **coupons}


def count_entries(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(billing_ledger)).scalar_one())


def recent_entries(conn: Connection, account_id: str, limit: int) -> list[RowMapping]:
    query = (
        select(billing_ledger)
        .where(billing_ledger.c.account_id == account_id)
        .order_by(billing_ledger.c.id.desc())
        .limit(limit)
    )
    return list(conn.execute(query).mappings())


# --- Events and subscriptions ---------------------------------------------------------------


def changed_resources(
    conn: Connection, *, after_id: int, types: Sequence[str], limit: int
) -> tuple[list[ResourceKey], int]:
    """Resources with journal rows after `after_id` (oldest first), and the last id read."""
    query = (
        select(resource_events.c.id, resource_events.c.resource_type, resource_events.c.resource_id)
        .where(resource_events.c.id > after_id, resource_events.c.resource_type.in_(types))
        .order_by(resource_events.c.id)
        .limit(limit)
    )
    rows = conn.execute(query).all()
    keys = list(dict.fromkeys((r.resource_type, r.resource_id) for r in rows))
    return keys, (rows[-1].id if rows else after_id)


def last_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.coalesce(func.max(resource_events.c.id), 0))).scalar_one())


def event_counts(conn: Connection, keys: Sequence[ResourceKey]) -> dict[ResourceKey, int]:
    counts: dict[ResourceKey, int] = {}
    key = tuple_(resource_events.c.resource_type, resource_events.c.resource_id)
    for chunk in _chunks(keys):
        query = (
            select(resource_events.c.resource_type, resource_events.c.resource_id, func.count())
            .where(key.in_(list(chunk)))
            .group_by(resource_events.c.resource_type, resource_events.c.resource_id)
        )
        counts.update({(t, i): int(n) for t, i, n in conn.execute(query)})
    return counts


def histories(
    conn: Connection, keys: Sequence[ResourceKey]
) -> tuple[dict[ResourceKey, list[ResourceEvent]], dict[ResourceKey, str]]:
    """Every journal row of each resource, and the region it was journalled in."""
    found: dict[ResourceKey, list[ResourceEvent]] = {k: [] for k in keys}
    regions: dict[ResourceKey, str] = {}
    key = tuple_(resource_events.c.resource_type, resource_events.c.resource_id)
    for chunk in _chunks(keys):
        for row in conn.execute(select(resource_events).where(key.in_(list(chunk)))).mappings():
            k = (row["resource_type"], row["resource_id"])
            found[k].append(ResourceEvent(**{name: row[name] for name in _EVENT_FIELDS}))
            regions[k] = row["region"] or regions.get(k, "")
    return found, regions


def subscriptions_by_key(
    conn: Connection, keys: Sequence[ResourceKey], *, lock: bool = False
) -> dict[ResourceKey, RowMapping]:
    found: dict[ResourceKey, RowMapping] = {}
    key = tuple_(billing_subscriptions.c.resource_type, billing_subscriptions.c.resource_id)
    for chunk in _chunks(sorted(keys)):
        query = select(billing_subscriptions).where(key.in_(list(chunk))).order_by(*key.clauses)
        rows = conn.execute(_locking(query, conn) if lock else query).mappings()
        found.update({(r["resource_type"], r["resource_id"]): r for r in rows})
    return found


def rename_resource(conn: Connection, key: ResourceKey, name: str) -> int:
    """Give the resource's subscription, and its charges, adjustments and unrated usage in
    months whose bill is not closed yet, the name `name`; how many subscriptions changed
    (0 when billing has not seen the resource yet). Closed bills keep their frozen lines."""
    subs = billing_subscriptions.c
    found = conn.execute(
        select(subs.id, subs.account_id).where(subs.resource_type == key[0],
                                                subs.resource_id == key[1])
    ).first()
    if found is None:
        return 0
    conn.execute(update(billing_subscriptions).where(subs.id == found.id)
                 .values(resource_name=name))
    closed = select(billing_bills.c.month).where(billing_bills.c.account_id == found.account_id)
    for table in (billing_charges, billing_adjustments):
        conn.execute(update(table).where(table.c.subscription_id == found.id,
                                         table.c.bill_month.not_in(closed))
                     .values(resource_name=name))
    conn.execute(update(billing_unrated).where(billing_unrated.c.subscription_id == found.id,
                                               billing_unrated.c.status == OPEN)
                 .values(resource_name=name))
    return 1


def insert_subscriptions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, billing_subscriptions, rows)


def update_subscriptions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Each row: `s_id` and the columns to set (every row must set the same columns).

    On PostgreSQL one `UPDATE ... FROM unnest(...)` for the whole batch (the rows are already
    locked, so the order it updates them in is free); elsewhere one executemany."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != "s_id")
    if conn.dialect.name == "postgresql":
        statement, processors = _unnest_update(columns, conn.dialect)
        arrays = [[r["s_id"] for r in rows]] + [
            _bind_array([r[c] for r in rows], billing_subscriptions.c[c], process)
            for c, process in zip(columns, processors, strict=True)
        ]
        write(conn, billing_subscriptions, statement, arrays)
        return
    update_subscriptions_each(conn, rows)


def update_subscriptions_each(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """One UPDATE per row (an executemany): the portable path, and the slow path the tests
    keep as the oracle of the set-based one."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != "s_id"]
    values: dict[str, Any] = {c: bindparam(f"v_{c}") for c in columns}
    params = [{"s_id": r["s_id"], **{f"v_{c}": r[c] for c in columns}} for r in rows]
    conn.execute(
        update(billing_subscriptions)
        .where(billing_subscriptions.c.id == bindparam("s_id"))
        .values(**values),
        params,
    )


@cache
def _unnest_update(
    columns: tuple[str, ...], dialect: Dialect
) -> tuple[str, tuple[Callable[[Any], Any] | None, ...]]:
    quote = dialect.identifier_preparer.quote
    table = billing_subscriptions
    sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    arrays = ", ".join(["%b::text[]"] + [f"%b::{array_type(table.c[c])}" for c in columns])
    names = ", ".join(["s_id"] + [quote(c) for c in columns])
    statement = (
        f"UPDATE {table.name} AS s SET {sets} FROM unnest({arrays}) AS v({names}) "
        "WHERE s.id = v.s_id"
    )
    processors = tuple(
        kind.bind_processor(dialect) if isinstance(kind, TypeDecorator) else None
        for kind in (table.c[c].type for c in columns)
    )
    return statement, processors


def _bind_array(
    values: list[Any], column: Column[Any], process: Callable[[Any], Any] | None
) -> list[Any]:
    """One column's values as the driver dumps them: of one Python type (it types an array
    by its first value), after the column type's own conversion."""
    if process is not None:
        values = [process(v) for v in values]
    if base_type(column) == "numeric":
        return [None if v is None else Decimal(v) for v in values]
    return values


def claim_due(
    conn: Connection, *, now: datetime, limit: int, after: str = ""
) -> tuple[list[RowMapping], str | None]:
    """Due subscriptions of up to `limit` accounts whose ids sort after `after`, locked for
    this transaction; and the last account id claimed (None: no account claimed).

    The account is the unit of work: accounts are claimed with SKIP LOCKED (another farmer's
    accounts are skipped), then their due subscriptions in (due_at, id) order, so one farmer
    makes all of an account's charges of a pass in a fixed order, however many farmers run.
    An account is claimed by an index probe (`EXISTS`), not by aggregating every row still
    due, and a pass goes on `after` the last account it claimed: a claim costs the same at
    the end of a pass as at its start.
    """
    ids = claim_accounts(conn, now=now, limit=limit, after=after)
    if not ids:
        return [], None
    return due_of(conn, ids, now=now), ids[-1]


def claim_accounts(conn: Connection, *, now: datetime, limit: int, after: str = "") -> list[str]:
    """Up to `limit` accounts with a subscription due by `now`, ids after `after`, locked
    (SKIP LOCKED): the first half of `claim_due`."""
    query = _claim_accounts(conn.dialect.name)
    return list(conn.execute(query, {"now": now, "after": after, "limit": limit}).scalars())


def due_of(conn: Connection, ids: Sequence[str], *, now: datetime) -> list[RowMapping]:
    """The due subscriptions of the accounts `ids`, locked, in (account, due_at, id) order."""
    query = _due_of(conn.dialect.name)
    return list(conn.execute(query, {"ids": list(ids), "now": now}).mappings())


@cache
def _claim_accounts(dialect: str) -> Select[Any]:
    subs, accounts_ = billing_subscriptions.c, billing_accounts.c
    due = exists().where(subs.account_id == accounts_.id, subs.due_at <= bindparam("now"))
    claim = (
        select(accounts_.id)
        .where(accounts_.id > bindparam("after"), due)
        .order_by(accounts_.id)
        .limit(bindparam("limit"))
    )
    return claim if dialect == "sqlite" else claim.with_for_update(skip_locked=True)


@cache
def _due_of(dialect: str) -> Select[Any]:
    subs = billing_subscriptions.c
    query = (
        select(billing_subscriptions)
        .where(among(dialect, subs.account_id), subs.due_at <= bindparam("now"))
        .order_by(subs.account_id, subs.due_at, subs.id)
    )
    return query if dialect == "sqlite" else query.with_for_update(skip_locked=True)


# --- The ordinary hour, set-based (PostgreSQL) ------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class OrdinaryPrice:
    """The price `Catalog.find` gives a key at every moment from `since` to now. A region with
    prices of its own has a row even when none is in effect (product None): that row shadows
    the `*` row, as `find` would; a None product sends the subscription to the per-row path."""

    region: str
    item: str
    item_type: str
    currency: str
    since: datetime
    product: Product | None


@dataclasses.dataclass(frozen=True, slots=True)
class ZoneMonths:
    """A billing time zone whose clock hours start on UTC hours throughout the window charged,
    and the month of a period starting in it: `before` until `month_start`, then `after`."""

    name: str
    month_start: datetime
    before: str
    after: str


def account_timezones(conn: Connection) -> list[str]:
    query = select(billing_accounts.c.timezone).distinct().order_by(billing_accounts.c.timezone)
    return list(conn.execute(query).scalars())


def charge_ordinary_hours(
    conn: Connection,
    ids: Sequence[str],
    *,
    now: datetime,
    prices: Sequence[OrdinaryPrice],
    zones: Sequence[ZoneMonths],
) -> tuple[int, set[str]]:
    """Charge, in one statement, the due subscriptions of the (locked) accounts `ids` whose
    charge is one ordinary clock hour: what `farmer._charge_one` would write for them, the
    charge, its journal entry, the balance and the cursor, computed in SQL. Returns how many
    were charged and their accounts; every other due subscription is left as it was, due.

    Ordinary means: not dirty; exactly one hour due (`cursor + 1h <= now < cursor + 2h`), the
    cursor on a clock hour of a zone in `zones`; the last span began by the cursor and goes on
    past the hour; its item type has a per-started-hour or per-second price in `prices` since
    both the cursor and the point from which unpriced time is looked for (`unrated_until`, or
    the only span's start); no open unrated usage; no coupon the charge could spend; the
    period's month not closed. A monthly cap is applied as `rating._rate` applies it.
    """
    usable = [p for p in prices if p.product is not None]
    if not ids or not usable or not zones:
        return 0, set()
    params = {
        "ids": list(ids),
        "now": now,
        "p_region": [p.region for p in prices],
        "p_item": [p.item for p in prices],
        "p_type": [p.item_type for p in prices],
        "p_currency": [p.currency for p in prices],
        "p_since": [p.since for p in prices],
        "p_id": [p.product.id if p.product else None for p in prices],
        "p_price": [str(p.product.price.amount) if p.product else None for p in prices],
        "p_cap": [_cap_text(p.product) for p in prices],
        "p_unit": [p.product.unit if p.product else None for p in prices],
        "z_name": [z.name for z in zones],
        "z_start": [z.month_start for z in zones],
        "z_before": [z.before for z in zones],
        "z_after": [z.after for z in zones],
    }
    count, accounts_ = conn.exec_driver_sql(_ORDINARY_HOURS, params).one()
    return int(count), set(accounts_)


def _cap_text(product: Product | None) -> str | None:
    cap = product.monthly_cap if product is not None else None
    return None if cap is None else str(cap.amount)


_ORDINARY_HOURS = """
WITH price AS MATERIALIZED (
    SELECT * FROM unnest(%(p_region)s::text[], %(p_item)s::text[], %(p_type)s::text[],
        %(p_currency)s::text[], %(p_since)s::timestamptz[], %(p_id)s::text[],
        %(p_price)s::text[]::numeric[], %(p_cap)s::text[]::numeric[], %(p_unit)s::text[])
        AS p(region, item, item_type, currency, since, product_id, price, cap, unit)
), zone AS MATERIALIZED (
    SELECT * FROM unnest(%(z_name)s::text[], %(z_start)s::timestamptz[], %(z_before)s::text[],
        %(z_after)s::text[]) AS z(name, month_start, before, after)
), due AS (
    SELECT s.* FROM billing_subscriptions AS s
    WHERE s.account_id = ANY(%(ids)s::text[]) AND s.due_at <= %(now)s
    ORDER BY s.account_id, s.due_at, s.id
    FOR UPDATE SKIP LOCKED
), hourly AS MATERIALIZED (
    SELECT d.id, d.account_id, d.item, d.resource_id, d.resource_name, d.region, d.cursor,
        d.cap_key, d.cap_spent, d.unrated_until, d.spans::jsonb AS spans
    FROM due AS d
    WHERE NOT d.dirty
        AND d.cursor + interval '1 hour' <= %(now)s AND %(now)s < d.cursor + interval '2 hours'
        AND date_trunc('hour', d.cursor AT TIME ZONE 'UTC') = d.cursor AT TIME ZONE 'UTC'
), shaped AS MATERIALIZED (
    SELECT h.id, h.account_id, h.item, h.resource_id, h.resource_name, h.region, h.cursor,
        h.cap_key, h.cap_spent, h.unrated_until,
        (h.spans -> -1 ->> 0)::timestamptz AS span_start,
        (h.spans -> -1 ->> 1)::timestamptz AS span_end,
        h.spans -> -1 ->> 2 AS item_type, jsonb_array_length(h.spans) AS spans
    FROM hourly AS h
), found AS (
    SELECT DISTINCT ON (sh.id) sh.*, a.currency, a.last_closed_month,
        CASE WHEN sh.cursor >= z.month_start THEN z.after ELSE z.before END AS month,
        pr.product_id, pr.unit, pr.price, pr.cap, pr.since
    FROM shaped AS sh
    JOIN billing_accounts AS a ON a.id = sh.account_id
    JOIN zone AS z ON z.name = a.timezone
    JOIN price AS pr ON pr.item = sh.item AND pr.item_type = sh.item_type
        AND pr.currency = a.currency AND pr.region IN (sh.region, '*')
    ORDER BY sh.id, pr.region = '*'
), priced AS (
    SELECT f.*,
        CASE WHEN f.cap_key = f.product_id || ':' || f.month THEN f.cap_spent ELSE 0 END
            AS spent
    FROM found AS f
    WHERE f.product_id IS NOT NULL
        AND f.span_start <= f.cursor
        AND (f.span_end IS NULL OR f.span_end > f.cursor + interval '1 hour')
        AND (f.unrated_until >= f.span_start OR (f.unrated_until IS NULL AND f.spans = 1))
        AND f.cursor >= f.since AND coalesce(f.unrated_until, f.span_start) >= f.since
        AND (f.last_closed_month IS NULL OR f.last_closed_month < f.month)
        AND NOT EXISTS (
            SELECT 1 FROM billing_unrated AS u
            WHERE u.subscription_id = f.id AND u.status = 'open'
        )
        AND NOT EXISTS (
            SELECT 1 FROM billing_coupons AS c
            WHERE c.account_id = f.account_id AND c.remaining > 0 AND c.expires_at > %(now)s
                AND (f.item = ANY(string_to_array(c.items, ','))
                    OR trim(both ',' from c.items) = '')
        )
), fast AS MATERIALIZED (
    SELECT priced.*,
        CASE WHEN cap IS NULL THEN price ELSE least(price, greatest(cap - spent, 0)) END
            AS amount
    FROM priced
), charged AS (
    INSERT INTO billing_charges (subscription_id, period_start, period_end, account_id,
        product_id, item, item_type, resource_id, resource_name, unit, unit_price, quantity,
        amount, bill_month, created_at)
    SELECT id, cursor, cursor + interval '1 hour', account_id, product_id, item, item_type,
        resource_id, resource_name, unit, price, 1, amount, month, cursor + interval '1 hour'
    FROM fast
), journal AS (
    INSERT INTO billing_ledger (account_id, idempotency_key, kind, coupon_id, amount, currency,
        created_at, memo)
    SELECT account_id,
        'charge:' || id || ':'
            || to_char(cursor AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '+00:00',
        'charge', NULL, -amount, currency, cursor + interval '1 hour',
        left(item || ' ' || resource_name, 255)
    FROM fast WHERE amount > 0
), moved AS (
    UPDATE billing_subscriptions AS s
    SET cursor = f.cursor + interval '1 hour', due_at = f.cursor + interval '2 hours',
        dirty = false,
        cap_key = CASE WHEN f.cap IS NULL THEN f.cap_key ELSE f.product_id || ':' || f.month END,
        cap_spent = CASE WHEN f.cap IS NULL THEN f.cap_spent ELSE f.spent + f.amount END,
        updated_at = %(now)s, unrated_until = %(now)s
    FROM fast AS f WHERE s.id = f.id
), paid AS (
    UPDATE billing_accounts AS a SET balance = a.balance - t.total, updated_at = %(now)s
    FROM (SELECT account_id, sum(amount) AS total FROM fast GROUP BY account_id) AS t
    WHERE a.id = t.account_id AND t.total <> 0
)
SELECT count(*), coalesce(array_agg(DISTINCT account_id), '{}') FROM fast
"""


def lock_cursor(conn: Connection, name: str) -> int | None:
    """The position of a feed, locked; None when another worker holds it right now."""
    query = select(billing_cursors).where(billing_cursors.c.name == name)
    row = conn.execute(_locking(query, conn, skip_locked=True)).first()
    if row is not None:
        return int(row.position)
    if conn.execute(select(billing_cursors.c.name).where(billing_cursors.c.name == name)).first():
        return None
    try:
        with conn.begin_nested():  # two first workers race to create it: one wins
            conn.execute(insert(billing_cursors).values(name=name, position=0, at=None))
    except IntegrityError:
        return None
    return 0


def save_cursor(conn: Connection, name: str, position: int, at: datetime | None = None) -> None:
    conn.execute(
        update(billing_cursors)
        .where(billing_cursors.c.name == name)
        .values(position=position, at=at)
    )


def cursor_at(conn: Connection, name: str) -> datetime | None:
    row = conn.execute(select(billing_cursors.c.at).where(billing_cursors.c.name == name)).first()
    return None if row is None else row.at


# --- Charges, adjustments, bills ------------------------------------------------------------


def insert_charges(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, billing_charges, rows)


def insert_adjustments(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, billing_adjustments, rows)


def charged_periods(
    conn: Connection, subscription_id: str
) -> dict[datetime, tuple[Decimal, int, RowMapping]]:
    """Per charged period of a subscription: net amount, adjustments so far, a row to copy."""
    net: dict[datetime, tuple[Decimal, int, RowMapping]] = {}
    for table in (billing_charges, billing_adjustments):
        query = select(table).where(table.c.subscription_id == subscription_id)
        for row in conn.execute(query).mappings():
            total, seen, first = net.get(row["period_start"], (Decimal(0), 0, row))
            extra = 1 if table is billing_adjustments else 0
            net[row["period_start"]] = (total + row["amount"], seen + extra, first)
    return net


def charge_rows(conn: Connection, account_id: str, month: str) -> list[ChargeRow]:
    rows: list[ChargeRow] = []
    for table, kind in ((billing_charges, "charge"), (billing_adjustments, "adjustment")):
        query = select(table).where(
            and_(table.c.account_id == account_id, table.c.bill_month == month)
        )
        rows += [_charge_row(r, kind) for r in conn.execute(query).mappings()]
    return rows


def _charge_row(row: RowMapping, kind: str) -> ChargeRow:
    return ChargeRow(
        item=row["item"],
        item_type=row["item_type"],
        resource_id=row["resource_id"],
        resource_name=row["resource_name"],
        unit=row["unit"],
        unit_price=row["unit_price"],
        quantity=row["quantity"],
        amount=row["amount"],
        period_start=row["period_start"],
        period_end=row["period_end"],
        kind=kind,
    )


def charged_months(conn: Connection, account_id: str) -> list[str]:
    months: set[str] = set()
    for table in (billing_charges, billing_adjustments):
        query = select(table.c.bill_month).where(table.c.account_id == account_id).distinct()
        months |= set(conn.execute(query).scalars())
    closed = select(billing_bills.c.month).where(billing_bills.c.account_id == account_id)
    return sorted(months | set(conn.execute(closed).scalars()))


def closed_bill(
    conn: Connection, account_id: str, month: str
) -> tuple[RowMapping, list[RowMapping]] | None:
    query = select(billing_bills).where(
        billing_bills.c.account_id == account_id, billing_bills.c.month == month
    )
    bill = conn.execute(query).mappings().first()
    if bill is None:
        return None
    lines = select(billing_bill_lines).where(
        billing_bill_lines.c.account_id == account_id, billing_bill_lines.c.month == month
    )
    return bill, list(conn.execute(lines.order_by(billing_bill_lines.c.position)).mappings())


def insert_bill(
    conn: Connection, bill: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]
) -> None:
    conn.execute(insert(billing_bills).values(**bill))
    _insert_many(conn, billing_bill_lines, lines)


def amount_total(conn: Connection, account_id: str, month: str) -> Decimal:
    total = Decimal(0)
    for table in (billing_charges, billing_adjustments):
        query = select(func.coalesce(func.sum(table.c.amount), 0)).where(
            table.c.account_id == account_id, table.c.bill_month == month
        )
        total += Decimal(conn.execute(query).scalar_one())
    return total


def duplicate_charges(conn: Connection) -> int:
    """(subscription, period) pairs charged more than once: the database makes this 0."""
    query = (
        select(billing_charges.c.subscription_id)
        .group_by(billing_charges.c.subscription_id, billing_charges.c.period_start)
        .having(func.count() > 1)
    )
    return len(conn.execute(query).all())


# --- Unrated usage ---------------------------------------------------------------------------

OPEN, RATED, WAIVED = "open", "rated", "waived"


def product_count(conn: Connection) -> int:
    """Products are only ever added, so their count says whether the catalog changed."""
    return int(conn.execute(select(func.count()).select_from(billing_products)).scalar_one())


def insert_unrated(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """New unrated pieces; a piece already kept (any status) is not kept twice."""
    if not rows:
        return
    subs = sorted({r["subscription_id"] for r in rows})
    query = select(billing_unrated.c.subscription_id, billing_unrated.c.period_start)
    known: set[tuple[str, datetime]] = set()
    for chunk in _chunks(subs):
        known |= {
            tuple(r)
            for r in conn.execute(query.where(billing_unrated.c.subscription_id.in_(chunk)))
        }
    fresh = {(r["subscription_id"], r["period_start"]): r for r in rows}
    _insert_many(conn, billing_unrated, [r for k, r in fresh.items() if k not in known])


def open_unrated(conn: Connection, subscription_ids: Sequence[str]) -> list[RowMapping]:
    wanted = sorted(set(subscription_ids))
    chunks = [wanted] if conn.dialect.name == "postgresql" else _chunks(wanted)
    query = _open_unrated_of(conn.dialect.name)
    found: list[RowMapping] = []
    for chunk in chunks:
        found += conn.execute(query, {"ids": chunk}).mappings()
    return found


@cache
def _open_unrated_of(dialect: str) -> Select[Any]:
    unrated = billing_unrated.c
    query = select(billing_unrated).where(
        among(dialect, unrated.subscription_id), unrated.status == OPEN
    )
    return query.order_by(unrated.period_start)


def resolve_unrated(
    conn: Connection, ids: Sequence[int], *, status: str, now: datetime, note: str
) -> None:
    for chunk in _chunks(sorted(ids)):
        conn.execute(
            update(billing_unrated)
            .where(billing_unrated.c.id.in_(chunk), billing_unrated.c.status == OPEN)
            .values(status=status, resolved_at=now, note=note[:KEY_LENGTH])
        )


def forget_open_unrated(conn: Connection, subscription_ids: Sequence[str]) -> None:
    """Open pieces of subscriptions whose spans changed: they are looked for again."""
    for chunk in _chunks(sorted(set(subscription_ids))):
        conn.execute(
            delete(billing_unrated).where(
                billing_unrated.c.subscription_id.in_(chunk), billing_unrated.c.status == OPEN
            )
        )


def nudge_unrated(conn: Connection, *, now: datetime) -> int:
    """Make every subscription with open unrated usage due now: the catalog has changed.

    The rows are locked in key order first, the order sync takes them in, so the two never
    wait on each other in a cycle.
    """
    holding = select(billing_unrated.c.subscription_id).where(billing_unrated.c.status == OPEN)
    subs = billing_subscriptions.c
    query = (
        select(subs.id)
        .where(subs.id.in_(holding.distinct()), or_(subs.due_at.is_(None), subs.due_at > now))
        .order_by(subs.resource_type, subs.resource_id)
    )
    ids = list(conn.execute(_locking(query, conn)).scalars())
    for chunk in _chunks(ids):
        conn.execute(update(billing_subscriptions).where(subs.id.in_(chunk)).values(due_at=now))
    return len(ids)


def _unrated_filter(account_id: str | None, item: str | None) -> list[Any]:
    where = [billing_unrated.c.status == OPEN]
    if account_id is not None:
        where.append(billing_unrated.c.account_id == account_id)
    if item is not None:
        where.append(billing_unrated.c.item == item)
    return where


def waived_starts(conn: Connection, subscription_id: str) -> list[datetime]:
    query = select(billing_unrated.c.period_start).where(
        billing_unrated.c.subscription_id == subscription_id, billing_unrated.c.status == WAIVED
    )
    return list(conn.execute(query).scalars())


def unrated_groups(
    conn: Connection, *, account_id: str | None = None, item: str | None = None
) -> list[RowMapping]:
    """Open unrated usage summed per account, item, item type, region and unit."""
    u = billing_unrated.c
    keys = (u.account_id, u.item, u.item_type, u.region, u.unit)
    query = (
        select(
            *keys,
            func.sum(u.quantity).label("quantity"),
            func.count(u.resource_id.distinct()).label("resources"),
            func.min(u.period_start).label("start"),
            func.max(u.period_end).label("end"),
        )
        .where(*_unrated_filter(account_id, item))
        .group_by(*keys)
        .order_by(*keys)
    )
    return list(conn.execute(query).mappings())


def waive_unrated(
    conn: Connection, *, account_id: str | None, item: str | None, now: datetime, note: str
) -> None:
    conn.execute(
        update(billing_unrated)
        .where(*_unrated_filter(account_id, item))
        .values(status=WAIVED, resolved_at=now, note=note[:KEY_LENGTH])
    )


def count_unrated(conn: Connection, *, status: str = OPEN) -> int:
    query = select(func.count()).select_from(billing_unrated)
    return int(conn.execute(query.where(billing_unrated.c.status == status)).scalar_one())


def overdue_candidates(conn: Connection) -> list[RowMapping]:
    """Accounts in grace or overdue: the next to be suspended, soonest first."""
    query = select(billing_accounts).where(billing_accounts.c.status.in_(("grace", "overdue")))
    return list(conn.execute(query.order_by(billing_accounts.c.grace_until)).mappings())


def set_enforcement(
    conn: Connection, account_ids: Sequence[str] | None, value: str, *, now: datetime
) -> list[str]:
    """Set enforcement on these accounts (None: every account); returns those that changed."""
    accounts_c = billing_accounts.c
    query = select(accounts_c.id).where(accounts_c.enforcement != value)
    if account_ids is not None:
        query = query.where(accounts_c.id.in_(list(account_ids)))
    changed = list(conn.execute(query.order_by(accounts_c.id)).scalars())
    for chunk in _chunks(changed):
        conn.execute(
            update(billing_accounts)
            .where(accounts_c.id.in_(chunk))
            .values(enforcement=value, updated_at=now)
        )
    return changed


# --- Audit and suspensions ------------------------------------------------------------------


def audit(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, billing_audit, [{**r, "detail": str(r["detail"])[:255]} for r in rows])


def audit_of(conn: Connection, account_id: str) -> list[RowMapping]:
    query = select(billing_audit).where(billing_audit.c.account_id == account_id)
    return list(conn.execute(query.order_by(billing_audit.c.id)).mappings())


def accounts_to_review(conn: Connection, *, now: datetime) -> list[str]:
    """Accounts whose grace period is over, that are suspended (a top-up may resume them), or
    overdue while enforced (enforcement was turned on after their grace ended)."""
    accounts_c = billing_accounts.c
    query = select(accounts_c.id).where(
        or_(
            and_(accounts_c.status == "grace", accounts_c.grace_until <= now),
            accounts_c.status == "suspended",
            and_(accounts_c.status == "overdue", accounts_c.enforcement == "enforce"),
        )
    )
    return list(conn.execute(query).scalars())


def insert_suspensions(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    _insert_many(conn, billing_suspensions, rows)


def open_suspensions(conn: Connection, account_id: str) -> list[RowMapping]:
    query = select(billing_suspensions).where(
        billing_suspensions.c.account_id == account_id, billing_suspensions.c.resumed_at.is_(None)
    )
    return list(conn.execute(query.order_by(billing_suspensions.c.id)).mappings())


def resume_suspensions(conn: Connection, ids: Sequence[int], *, now: datetime) -> None:
    if ids:
        conn.execute(
            update(billing_suspensions)
            .where(billing_suspensions.c.id.in_(list(ids)))
            .values(resumed_at=now)
        )


# --- The month-to-date estimate (billing.estimate) ----------------------------------------


def month_line_sums(
    conn: Connection, account_id: str, month: str, *, resource_id: str | None = None
) -> list[RowMapping]:
    """The open month's charges and adjustments summed per bill line (kind, item, item type,
    resource, price, unit: `model.bill_lines`'s key), unrounded; one query."""
    parts = []
    for table, kind in ((billing_charges, "charge"), (billing_adjustments, "adjustment")):
        key = (table.c.item, table.c.item_type, table.c.resource_id, table.c.unit_price,
               table.c.unit)
        label = literal_column(f"'{kind}'", String).label("kind")  # a constant, not a parameter
        query = select(label, *key, func.sum(table.c.amount).label("amount"))
        query = query.where(table.c.account_id == account_id, table.c.bill_month == month)
        if resource_id is not None:
            query = query.where(table.c.resource_id == resource_id)
        parts.append(query.group_by(*key))
    return list(conn.execute(union_all(*parts)).mappings())


def month_hour_sums(conn: Connection, account_id: str, month: str) -> list[RowMapping]:
    """The open month's charges and adjustments summed per item and period start (the
    estimate's days are cut from these in the tenant's zone); one query."""
    parts = [
        select(t.c.item, t.c.period_start, func.sum(t.c.amount).label("amount"))
        .where(t.c.account_id == account_id, t.c.bill_month == month)
        .group_by(t.c.item, t.c.period_start)
        for t in (billing_charges, billing_adjustments)
    ]
    return list(conn.execute(union_all(*parts)).mappings())


def owing_subscriptions(
    conn: Connection, account_id: str, *, items: Sequence[str], resource_id: str | None = None
) -> list[RowMapping]:
    """An account's subscriptions of `items` that may still owe something (due at some time),
    with what rating needs: spans, cursor and monthly cap state."""
    s = billing_subscriptions
    query = select(s.c.id, s.c.item, s.c.region, s.c.resource_id, s.c.spans, s.c.cursor,
                   s.c.cap_key, s.c.cap_spent).where(
        s.c.account_id == account_id, s.c.item.in_(list(items)), s.c.due_at.is_not(None))
    if resource_id is not None:
        query = query.where(s.c.resource_type == items[0], s.c.resource_id == resource_id)
    return list(conn.execute(query).mappings())
