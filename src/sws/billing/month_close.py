"""The month close: a month's bills frozen for many accounts per transaction, in set-based SQL.

Each transaction locks a batch of accounts, then writes in a few statements what the per-account
close wrote account by account: the bill lines (`INSERT ... SELECT`, grouped, rounded and
numbered in SQL), the bills (totals summed in SQL from those lines), the rounding entries
(charged amounts less the rounded bill, booked through `Books`), the audit rows, and the
accounts' `last_closed_month`. A crash leaves every account of a batch closed or untouched.
Month invoices are not issued here: `invoices.service.issue_month_invoices` numbers them later,
each in the transaction of its document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Insert,
    Integer,
    Select,
    String,
    Update,
    and_,
    bindparam,
    case,
    collate,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
    update,
)

from sws.billing import repository as repo
from sws.billing.ledger import Books, Posting
from sws.billing.model import CATEGORIES, BillLine
from sws.billing.periods import month_bounds, parse_month
from sws.billing.tables import (
    billing_accounts,
    billing_adjustments,
    billing_bill_lines,
    billing_bills,
    billing_charges,
)
from sws.clock import Clock
from sws.db.engine import Database
from sws.db.metadata import MONEY_PLACES, UTCDateTime, money_column_type
from sws.errors import Conflict, NotFound, SWSError
from sws.leases.service import Guard
from sws.money import MINOR_UNITS, Money

BATCH = 500  # accounts per transaction
ACCOUNTS = billing_accounts
IDS: BindParameter[Any] = bindparam("ids", expanding=True)
MONTH: BindParameter[str] = bindparam("month", type_=String())
NOW: BindParameter[datetime] = bindparam("now", type_=UTCDateTime())


def close_month(
    *,
    db: Database,
    clock: Clock,
    month: str,
    tenant_id: str | None = None,
    guard: Guard | None = None,
    batch: int = BATCH,
) -> list[str]:
    """Freeze `month` (and earlier open months) for every account, or one; returns who closed.

    With a `guard` (the month close's leader lease) each transaction first checks that this
    process still leads (`LeaseLost` otherwise, with nothing written in it).
    """
    parse_month(month)
    with db.read() as conn:
        ids = [tenant_id] if tenant_id else repo.all_account_ids(conn)
    return close_accounts(db=db, clock=clock, month=month, ids=ids, guard=guard, batch=batch)


def close_accounts(
    *,
    db: Database,
    clock: Clock,
    month: str,
    ids: Sequence[str],
    guard: Guard | None = None,
    batch: int = BATCH,
) -> list[str]:
    """Close `month` for `ids`, `batch` accounts per transaction, in order. An account that is
    missing, or whose month is not over, stops the close there (the ones before stay closed)."""
    closed: list[str] = []
    for start in range(0, len(ids), batch):
        outcome = _close_batch(db, clock, month, ids[start : start + batch], guard)
        closed += outcome.closed
        if outcome.refusal is not None:
            raise outcome.refusal
    return closed


@dataclass(frozen=True, slots=True)
class _Outcome:
    closed: list[str]
    refusal: SWSError | None


def _close_batch(
    db: Database, clock: Clock, month: str, ids: Sequence[str], guard: Guard | None
) -> _Outcome:
    now = clock.now()
    with db.begin() as conn:
        if guard is not None:
            guard.check(conn)
        rows = repo.accounts(conn, ids, lock=True)
        closing, refusal = _closing(rows, ids, month, now)
        if closing:
            _freeze(conn, month, closing, now)
    return _Outcome(closing, refusal)


def _closing(
    rows: dict[str, Any], ids: Sequence[str], month: str, now: datetime
) -> tuple[list[str], SWSError | None]:
    """The accounts of `ids` to close, in order, up to the first that cannot be (and why)."""
    closing: list[str] = []
    for account_id in ids:
        row = rows.get(account_id)
        if row is None:
            return closing, NotFound(f"no billing account {account_id}", field="tenant")
        if _month_end(month, row["timezone"]) > now:
            return closing, Conflict(f"{month} is not over yet for {account_id}", field="month")
        if row["last_closed_month"] is None or row["last_closed_month"] < month:
            closing.append(account_id)
    return closing, None


@cache
def _month_end(month: str, timezone: str) -> datetime:
    return month_bounds(month, ZoneInfo(timezone))[1]


def _freeze(conn: Connection, month: str, ids: list[str], now: datetime) -> None:
    """Every open month up to `month` of `ids` (all locked, all still open for `month`)."""
    statements = _statements(conn.dialect.name)
    params = {"ids": ids, "month": month, "now": now}
    conn.execute(statements.lines, params)
    conn.execute(statements.bills, params)
    conn.execute(statements.empty_bills, params)
    frozen = conn.execute(statements.frozen, params).mappings().all()
    order = {account_id: n for n, account_id in enumerate(ids)}
    frozen = sorted(frozen, key=lambda r: (order[r["account_id"]], r["month"]))
    _book_rounding(conn, frozen, now)
    repo.audit(conn, [_audit_row(row, now) for row in frozen])
    conn.execute(statements.mark_closed, params)


def _book_rounding(conn: Connection, frozen: Sequence[Any], now: datetime) -> None:
    """Book the difference between the charged amounts and each rounded bill, so they agree."""
    books = Books((), now=now)
    for row in frozen:
        difference = row["charged"] - row["total"]
        if difference:
            books.credit(
                row["account_id"],
                Money(difference, row["currency"]),
                Posting(
                    f"rounding:{row['account_id']}:{row['month']}",
                    "rounding",
                    f"bill {row['month']} rounding",
                ),
            )
    repo.insert_entries(conn, books.entries)
    repo.add_to_balances(conn, books.cash, now=now)


def _audit_row(row: Any, now: datetime) -> dict[str, Any]:
    total = _shown_total(row["total"], row["currency"], row["has_lines"])
    detail = f"{row['month']}: {total} {row['currency']}"
    return {"account_id": row["account_id"], "at": now, "action": "month_closed", "detail": detail}


def _shown_total(total: Decimal, currency: str, has_lines: bool) -> Decimal:
    """The total as the sum of its rounded lines reads: in minor units, or 0 with no lines."""
    if not has_lines:
        return Decimal(0)
    return total.quantize(Decimal(1).scaleb(-MINOR_UNITS[currency]))


# --- The statements, built once per dialect ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Statements:
    lines: Insert
    bills: Insert
    empty_bills: Insert
    frozen: Select[Any]
    mark_closed: Update


@cache
def _statements(dialect: str) -> _Statements:
    return _Statements(
        lines=_insert_lines(dialect),
        bills=_insert_bills(),
        empty_bills=_insert_empty_bills(),
        frozen=_frozen_bills(),
        mark_closed=_mark_closed(),
    )


def _still_open(month_column: ColumnElement[Any]) -> ColumnElement[bool]:
    """A month of a (joined) account of `ids` that the close freezes: after its last close, up
    to `month`. The accounts are named too, so the join reads them by key, not all of them."""
    last = ACCOUNTS.c.last_closed_month
    return and_(
        ACCOUNTS.c.id.in_(IDS), month_column <= MONTH, or_(last.is_(None), month_column > last)
    )


def _charged_rows() -> Any:
    """Charges and adjustments of the open months of `ids`, with their kind and currency."""
    parts = []
    for table, kind in ((billing_charges, "charge"), (billing_adjustments, "adjustment")):
        parts.append(
            select(
                table.c.account_id,
                table.c.bill_month.label("month"),
                literal(kind).label("kind"),
                table.c.item,
                table.c.item_type,
                table.c.resource_id,
                table.c.resource_name,
                table.c.unit_price,
                table.c.unit,
                table.c.period_start,
                table.c.period_end,
                table.c.quantity,
                table.c.amount,
                table.c.id,
                ACCOUNTS.c.currency,
            )
            .join(ACCOUNTS, ACCOUNTS.c.id == table.c.account_id)
            .where(table.c.account_id.in_(IDS), _still_open(table.c.bill_month))
        )
    return union_all(*parts).subquery("charged")


def _grouped_lines() -> Any:
    """One row per bill line: resource, product price and kind (as `model.bill_lines`)."""
    rows = _charged_rows()
    key = [
        rows.c[name]
        for name in (
            "account_id",
            "month",
            "kind",
            "item",
            "item_type",
            "resource_id",
            "unit_price",
            "unit",
            "currency",
        )
    ]
    newest = func.row_number().over(partition_by=key, order_by=rows.c.id.desc())
    ranked = select(rows, newest.label("newest")).subquery("ranked")
    grouped = [ranked.c[column.name] for column in key]
    return (
        select(
            *grouped,
            func.max(case((ranked.c.newest == 1, ranked.c.resource_name))).label("resource_name"),
            func.min(ranked.c.period_start).label("start"),
            func.max(ranked.c.period_end).label("end"),
            func.sum(ranked.c.quantity).label("quantity"),
            func.sum(ranked.c.amount).label("amount"),
            func.min(ranked.c.id).label("first_id"),
        )
        .group_by(*grouped)
        .subquery("grouped")
    )


def _insert_lines(dialect: str) -> Insert:
    """The lines of every open month, numbered as `model.bill_lines` sorts them: charges first,
    then by type, start and resource (in code point order), ties in order of first charge."""
    lines = _grouped_lines()
    position = func.row_number().over(
        partition_by=(lines.c.account_id, lines.c.month),
        order_by=(
            case((lines.c.kind == "charge", 0), else_=1),
            _binary(lines.c.item, dialect),
            lines.c.start,
            _binary(lines.c.resource_id, dialect),
            lines.c.first_id,
        ),
    )
    query = select(
        lines.c.account_id,
        lines.c.month,
        (position - 1).label("position"),
        lines.c.kind,
        lines.c.item,
        lines.c.item_type,
        lines.c.resource_id,
        lines.c.resource_name,
        lines.c.unit_price,
        lines.c.unit,
        lines.c.start,
        lines.c.end,
        lines.c.quantity,
        _rounded(lines.c.amount, lines.c.currency, dialect).label("total"),
    )
    columns = ["account_id", "month", "position", *(f.name for f in fields(BillLine))]
    return insert(billing_bill_lines).from_select(columns, query)


def _binary(column: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """`column` compared by code point, as Python compares strings."""
    if dialect == "postgresql":
        return collate(column, "C")
    if dialect in ("mysql", "mariadb"):
        return collate(column, "utf8mb4_bin")
    return column  # SQLite's default BINARY collation compares UTF-8 bytes


def _rounded(amount: ColumnElement[Any], currency: ColumnElement[Any], dialect: str) -> Any:
    """`amount` half-up (away from zero) to the currency's minor unit, as `round_line`."""
    if dialect != "sqlite":
        digits = case(MINOR_UNITS, value=currency, else_=2)
        return func.round(amount, digits)
    # SQLite keeps money as integer micro-units: round to a multiple of the minor unit's size
    steps = {code: 10 ** (MONEY_PLACES - places) for code, places in MINOR_UNITS.items()}
    step = type_coerce(case(steps, value=currency, else_=10_000), Integer)
    micros = type_coerce(amount, Integer)
    half_up = (micros + step // 2) // step * step
    half_down = -((-micros + step // 2) // step * step)
    return case((micros >= 0, half_up), else_=half_down)


def _category_totals(lines: Any) -> list[Any]:
    return [
        func.coalesce(func.sum(case((lines.c.type == item, lines.c.total), else_=0)), 0)
        for item in CATEGORIES
    ]


def _insert_bills() -> Insert:
    """A bill per open month with lines: its total the sum of its rounded lines."""
    lines = billing_bill_lines
    query = (
        select(
            lines.c.account_id,
            lines.c.month,
            ACCOUNTS.c.currency,
            func.sum(lines.c.total),
            *_category_totals(lines),
            NOW,
        )
        .join(ACCOUNTS, ACCOUNTS.c.id == lines.c.account_id)
        .where(lines.c.account_id.in_(IDS), _still_open(lines.c.month))
        .group_by(lines.c.account_id, lines.c.month, ACCOUNTS.c.currency)
    )
    return insert(billing_bills).from_select(_bill_columns(), query)


def _bill_columns() -> list[str]:
    return ["account_id", "month", "currency", "total", *CATEGORIES, "closed_at"]


def _insert_empty_bills() -> Insert:
    """The closed month itself, for the accounts without a line in it: a bill of 0."""
    bills = billing_bills
    billed = exists().where(bills.c.account_id == ACCOUNTS.c.id, bills.c.month == MONTH)
    zero = [literal(0, money_column_type()) for _ in range(1 + len(CATEGORIES))]
    query = select(ACCOUNTS.c.id, MONTH, ACCOUNTS.c.currency, *zero, NOW).where(
        ACCOUNTS.c.id.in_(IDS),
        or_(ACCOUNTS.c.last_closed_month.is_(None), ACCOUNTS.c.last_closed_month < MONTH),
        ~billed,
    )
    return insert(billing_bills).from_select(_bill_columns(), query)


def _charged_total(table: Any) -> Any:
    return (
        select(func.coalesce(func.sum(table.c.amount), 0))
        .where(
            table.c.account_id == billing_bills.c.account_id,
            table.c.bill_month == billing_bills.c.month,
        )
        .scalar_subquery()
    )


def _frozen_bills() -> Select[Any]:
    """The bills just written, with what was charged in each month and whether it has lines."""
    bills, lines = billing_bills, billing_bill_lines
    charged = _charged_total(billing_charges) + _charged_total(billing_adjustments)
    has_lines = exists().where(
        lines.c.account_id == bills.c.account_id, lines.c.month == bills.c.month
    )
    return (
        select(
            bills.c.account_id,
            bills.c.month,
            bills.c.currency,
            bills.c.total,
            type_coerce(charged, money_column_type()).label("charged"),
            has_lines.label("has_lines"),
        )
        .join(ACCOUNTS, ACCOUNTS.c.id == bills.c.account_id)
        .where(bills.c.account_id.in_(IDS), _still_open(bills.c.month))
    )


def _mark_closed() -> Update:
    last = ACCOUNTS.c.last_closed_month
    return (
        update(ACCOUNTS)
        .where(ACCOUNTS.c.id.in_(IDS), or_(last.is_(None), last < MONTH))
        .values(last_closed_month=MONTH, updated_at=NOW)
    )
