"""SQL for documents: the gapless counter, the document rows and the bills still without one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Connection, RowMapping, Select, insert, select, update
from sqlalchemy.exc import IntegrityError

from sws.billing.invoices.model import Document, Draft, Line, Party
from sws.billing.invoices.tables import billing_document_counters, billing_documents
from sws.billing.tables import billing_bills
from sws.db.bulk import among, insert_rows
from sws.db.paging import keyset
from sws.money import Money
from sws.paging import PageRequest

D = billing_documents.c
C = billing_document_counters.c


def next_numbers(conn: Connection, issuer: str, series: str, count: int = 1) -> range:
    """The issuer's next `count` numbers in `series`. The UPDATE takes the counter row's write
    lock until the caller's transaction ends (FOR UPDATE's effect on PostgreSQL and MariaDB, the
    database write lock on SQLite): another document waits, and a rolled-back one gives its
    numbers back, so numbers have no gaps."""
    where = (C.issuer == issuer) & (C.series == series)
    for _ in range(2):
        last = _bump(conn, where, issuer, series, count)
        if last is not None:
            return range(last - count + 1, last + 1)
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(billing_document_counters),
                    {"issuer": issuer, "series": series, "last_number": count},
                )
            return range(1, count + 1)
        except IntegrityError:
            continue  # another transaction made the row first: bump it instead
    raise AssertionError("the counter row exists after a failed insert")


def _bump(conn: Connection, where: Any, issuer: str, series: str, count: int) -> int | None:
    """The counter after adding `count`, None if its row does not exist yet: one statement
    where UPDATE ... RETURNING exists, an UPDATE and a SELECT on MariaDB. On PostgreSQL, which
    a payment callback batch bumps once per batch, the statement is plain text (building and
    keying SQLAlchemy's update cost several times what running it does)."""
    if conn.dialect.name == "postgresql":
        found = conn.exec_driver_sql(_BUMP, (count, issuer, series)).scalar()
        return None if found is None else int(found)
    bump = update(billing_document_counters).where(where).values(last_number=C.last_number + count)
    if conn.dialect.name == "sqlite":
        found = conn.execute(bump.returning(C.last_number)).scalar()
        return None if found is None else int(found)
    if not conn.execute(bump).rowcount:
        return None
    return int(conn.execute(select(C.last_number).where(where)).scalar_one())


_BUMP = (
    "UPDATE billing_document_counters SET last_number = last_number + %s "
    "WHERE issuer = %s AND series = %s RETURNING last_number"
)


def insert_documents(conn: Connection, documents: Sequence[Document]) -> None:
    insert_rows(conn, billing_documents, [_row(d) for d in documents])


def _row(document: Document) -> dict[str, Any]:
    draft = document.draft
    return {
        "id": document.id,
        "kind": draft.kind,
        "issuer": draft.issuer,
        "number": document.number,
        "account_id": draft.account_id,
        "source_key": draft.source_key,
        "currency": draft.currency,
        "total": draft.total.amount,
        "tax": draft.tax.amount,
        "tax_rate": draft.tax_rate,
        "body": orjson.dumps(_body(draft)).decode(),
        "issued_at": draft.issued_at,
    }


def _body(draft: Draft) -> dict[str, Any]:
    return {
        "seller": _party(draft.seller),
        "buyer": _party(draft.buyer),
        "lines": [[line.description, str(line.amount.amount)] for line in draft.lines],
        "reference": draft.reference,
    }


def _party(party: Party) -> dict[str, str]:
    return {"name": party.name, "address": party.address, "tax_id": party.tax_id}


def document_from_row(row: RowMapping) -> Document:
    body = json.loads(row["body"])
    currency = row["currency"]
    draft = Draft(
        kind=row["kind"],
        issuer=row["issuer"],
        account_id=row["account_id"],
        source_key=row["source_key"],
        seller=Party(**body["seller"]),
        buyer=Party(**body["buyer"]),
        lines=tuple(Line(d, Money(Decimal(a), currency)) for d, a in body["lines"]),
        currency=currency,
        tax_rate=Decimal(row["tax_rate"]).normalize(),
        issued_at=row["issued_at"],
        reference=body["reference"],
    )
    return Document(row["id"], row["number"], draft)


def by_sources(conn: Connection, source_keys: Sequence[str]) -> dict[str, Document]:
    """The documents issued before for these sources. On PostgreSQL the keys are asked first
    in plain text (a payment batch's receipts are new: nearly always none is found), and
    only the documents found are read whole."""
    keys = sorted(set(source_keys))
    if conn.dialect.name == "postgresql":
        keys = [str(k) for k in conn.exec_driver_sql(_SOURCES_FOUND, (keys,)).scalars()]
        if not keys:
            return {}
    rows = conn.execute(_of_sources(conn.dialect.name), {"ids": keys})
    found = (document_from_row(r) for r in rows.mappings())
    return {d.draft.source_key: d for d in found}


_SOURCES_FOUND = "SELECT source_key FROM billing_documents WHERE source_key = ANY(%s::text[])"


@cache
def _of_sources(dialect: str) -> Select[Any]:
    return select(billing_documents).where(among(dialect, D.source_key))


def get(conn: Connection, document_id: str) -> Document | None:
    row = conn.execute(select(billing_documents).where(D.id == document_id)).mappings().first()
    return None if row is None else document_from_row(row)


def of_account(
    conn: Connection, account_id: str | None, page: PageRequest, kind: str | None = None
) -> list[Document]:
    """Newest first; every account's when `account_id` is None (admins)."""
    query = select(billing_documents)
    if account_id is not None:
        query = query.where(D.account_id == account_id)
    if kind is not None:
        query = query.where(D.kind == kind)
    query = keyset(conn, query, order=(D.issued_at, D.id), request=page, descending=True)
    return [document_from_row(r) for r in conn.execute(query).mappings()]


def numbers(conn: Connection, issuer: str, kind: str) -> list[int]:
    query = select(D.number).where(D.issuer == issuer, D.kind == kind).order_by(D.number)
    return [int(n) for n in conn.execute(query).scalars()]


def bills_without_invoice(conn: Connection, limit: int) -> list[RowMapping]:
    """Closed bills with no invoice yet (`bill:<account>:<month>`), oldest first."""
    bills = billing_bills.c
    key = "bill:" + bills.account_id + ":" + bills.month
    query = (
        select(billing_bills)
        .outerjoin(billing_documents, D.source_key == key)
        .where(D.id.is_(None))
        .order_by(bills.closed_at, bills.account_id)
        .limit(limit)
    )
    return list(conn.execute(query).mappings())
