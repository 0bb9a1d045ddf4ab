"""The per-account month close SWS ran before issue 17, kept as the oracle of the batched one.

One transaction per account; the bill computed in Python by `model.bill_lines` from the charge
rows, exactly as `service.close_month` did. Tests compare its bills, lines and ledger with
`billing.month_close` on the same data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, RowMapping

from sws.billing import repository as repo
from sws.billing import service
from sws.billing.ledger import Books, Posting
from sws.billing.model import CATEGORIES, Bill, BillLine, bill_lines, quantize6
from sws.billing.periods import month_bounds, parse_month
from sws.clock import Clock
from sws.db.engine import Database
from sws.errors import Conflict, NotFound
from sws.money import Money


def close_month(
    *, db: Database, clock: Clock, month: str, tenant_id: str | None = None
) -> list[str]:
    parse_month(month)
    with db.read() as conn:
        ids = [tenant_id] if tenant_id else repo.all_account_ids(conn)
    return [account for account in ids if _close_account(db, clock, account, month)]


def _close_account(db: Database, clock: Clock, account_id: str, month: str) -> bool:
    now = clock.now()
    with db.begin() as conn:
        row = repo.accounts(conn, [account_id], lock=True).get(account_id)
        if row is None:
            raise NotFound(f"no billing account {account_id}", field="tenant")
        _, end = month_bounds(month, ZoneInfo(row["timezone"]))
        if end > now:
            raise Conflict(f"{month} is not over yet for {account_id}", field="month")
        if row["last_closed_month"] is not None and row["last_closed_month"] >= month:
            return False
        for each in _months_to_close(conn, row, month):
            _freeze(conn, row, each, now)
        repo.update_account(conn, account_id, last_closed_month=month, updated_at=now)
        return True


def _months_to_close(conn: Connection, row: RowMapping, month: str) -> list[str]:
    last = row["last_closed_month"]
    months = [
        m for m in repo.charged_months(conn, row["id"]) if m < month and (last is None or m > last)
    ]
    return [*months, month]


def _bill(conn: Connection, row: RowMapping, month: str) -> Bill:
    rows = repo.charge_rows(conn, row["id"], month)
    return Bill(row["id"], month, row["currency"], False, bill_lines(rows, row["currency"]))


def _freeze(conn: Connection, row: RowMapping, month: str, now: datetime) -> None:
    bill = _bill(conn, row, month)
    totals = {item: bill.category(item) for item in CATEGORIES}
    repo.insert_bill(
        conn,
        {
            "account_id": row["id"],
            "month": month,
            "currency": bill.currency,
            "total": bill.total,
            "closed_at": now,
            **totals,
        },
        [_line_row(row["id"], month, n, line) for n, line in enumerate(bill.lines)],
    )
    _post_rounding(conn, row, bill, now)
    detail = f"{month}: {bill.total} {bill.currency}"
    repo.audit(conn, [service.audit_row(row["id"], now, "month_closed", detail)])


def _line_row(account_id: str, month: str, position: int, line: BillLine) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "month": month,
        "position": position,
        "kind": line.kind,
        "type": line.type,
        "item_type": line.item_type,
        "resource_id": line.resource_id,
        "resource_name": line.resource_name,
        "unit_price": line.unit_price,
        "unit": line.unit,
        "start": line.start,
        "end": line.end,
        "quantity": quantize6(line.quantity),
        "total": line.total,
    }


def _post_rounding(conn: Connection, row: RowMapping, bill: Bill, now: datetime) -> None:
    difference = repo.amount_total(conn, row["id"], bill.month) - bill.total
    if difference:
        books = Books((), now=now)
        key = f"rounding:{row['id']}:{bill.month}"
        books.credit(
            row["id"],
            Money(difference, bill.currency),
            Posting(key, "rounding", f"bill {bill.month} rounding"),
        )
        service.write_books(conn, books)
